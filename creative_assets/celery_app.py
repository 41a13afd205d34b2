"""The Celery app every worker runs (``celery -A creative_assets.celery_app worker ...``).

    celery -A creative_assets.celery_app worker -Q image,dagster --concurrency 2 --hostname image@%h
    celery -A creative_assets.celery_app worker -Q provider --concurrency 8 --hostname provider@%h

It is dagster-celery's own app and ``execute_plan`` task (the ones ``dagster-celery worker start``
runs), configured from the same environment as the executor (``creative_assets/execution.py``): the
broker and backend URLs, and the redelivery settings (``task_acks_late`` ...). A worker needs what
a run needs: ``DAGSTER_HOME`` is not read (each task carries the run's instance reference), but the
storage, provider and credential variables are, because the worker loads the code location to run
its steps. The definitions are imported here, before the pool forks, so each pool process starts
with the code loaded instead of importing it on its first task.

This is the one module that uses dagster-celery's non-public helpers (``make_app``,
``create_task``, ``CeleryExecutor.for_cli``): dagster-celery documents the app only as a ``-A``
target, ``dagster_celery.app``, configured through a generated module; building it here keeps the
configuration in code and in one place.
"""

from __future__ import annotations

from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

import creative_assets.definitions  # noqa: F401  (preload the code location before forking)
from creative_assets import settings
from creative_assets.execution import BROKER_ENV, backend_env, celery_config


def _required(name: str) -> str:
    value = settings.get(name)
    if not value:
        raise RuntimeError(
            f"{name} is not set: the Celery worker needs the broker URL (e.g. redis://redis:6379/0)"
        )
    return value


app = make_app(
    CeleryExecutor.for_cli(
        broker=_required(BROKER_ENV), backend=_required(backend_env()), config_source=celery_config()
    ).app_args()
)
execute_plan = create_task(app)
