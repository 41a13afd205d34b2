"""How steps execute: in the run's own process (the default) or on Celery workers.

``CREATIVE_ASSETS_EXECUTOR`` chooses, when the code location loads (README "Scaling out"):

- ``in_process`` (default): every step of a run in the run's process. No broker; the quick start.
- ``celery``: dagster-celery's ``celery_executor``. The run process only orchestrates; each step is
  a Celery task on a queue (``creative_assets/queues.py``) that a pool of workers on any number of
  machines executes against the same instance (Postgres) and storage (S3). The broker and result
  backend URLs are ``EnvVar``s (``CREATIVE_ASSETS_CELERY_BROKER_URL``, optional
  ``CREATIVE_ASSETS_CELERY_BACKEND_URL``; default: the broker), resolved when a run starts.

Redelivery (``celery_config``): tasks are acknowledged *after* they ran (``task_acks_late``), so a
worker that dies mid-step (OOM kill, node lost, SIGKILL) leaves its message unacknowledged and
another worker runs the step again: at once when only the pool process died
(``task_reject_on_worker_lost``), after ``CREATIVE_ASSETS_CELERY_VISIBILITY_TIMEOUT`` seconds
(default 7200) when the whole worker is gone. That timeout must exceed the longest step, or the
broker hands a still-running step to a second worker. Steps are idempotent (same inputs, same
bytes; every write atomic, the manifest last), so running one twice is safe.

Workers run the app in ``creative_assets/celery_app.py`` with the same environment.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Any

import dagster as dg

from creative_assets.settings import choice, int_setting, is_set

EXECUTOR_ENV = "CREATIVE_ASSETS_EXECUTOR"
BROKER_ENV = "CREATIVE_ASSETS_CELERY_BROKER_URL"
BACKEND_ENV = "CREATIVE_ASSETS_CELERY_BACKEND_URL"
VISIBILITY_ENV = "CREATIVE_ASSETS_CELERY_VISIBILITY_TIMEOUT"
EXECUTORS = ("in_process", "celery")


def executor_kind() -> str:
    return choice(EXECUTOR_ENV, "in_process", EXECUTORS)


def backend_env() -> str:
    """The variable holding the result backend URL: its own if set, else the broker's."""
    return BACKEND_ENV if is_set(BACKEND_ENV) else BROKER_ENV


def celery_config() -> dict[str, Any]:
    """Celery settings shared by the executor (producer) and the workers (consumer)."""
    visibility = int_setting(VISIBILITY_ENV, 7200, 10, 7 * 24 * 3600)
    return {
        # redelivery: acknowledge after the step ran; a lost pool process requeues its task
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # a worker that loses the broker stops its acks_late steps (they are redelivered) instead
        # of finishing them unacknowledged next to a second copy
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        # one task per pool process at a time: a long image step never holds a second one hostage
        "worker_prefetch_multiplier": 1,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            # dagster-celery's defaults for publishing retries, kept
            "max_retries": 3,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
            # Redis: an unacknowledged task goes back to its queue this long after delivery; the
            # sweep that restores it runs every quarter of that (at most every minute)
            "visibility_timeout": visibility,
            "unacked_restore_interval": max(1, min(60, visibility // 4)),
            "unacked_restore_throttle": 1,
            # one Redis list per queue, named exactly as the queue (no per-priority lists): queue
            # depth is LLEN <queue>, what KEDA's redis scaler reads (deploy/helm/celery-workers.yaml).
            # Step priorities (dagster-celery/priority tags) are not used by this project.
            "priority_steps": [0],
        },
        # the run collects a step's result (its serialized events) within seconds; an hour is plenty and
        # keeps Redis small (a 24-unit step returns its units' metadata, previews included)
        "result_expires": 3600,
    }


def build_executor() -> dg.ExecutorDefinition:
    """The executor of ``creative_pipeline``, chosen by ``CREATIVE_ASSETS_EXECUTOR``."""
    if executor_kind() == "in_process":
        return dg.in_process_executor
    from dagster_celery import celery_executor

    return celery_executor.configured(celery_executor_config(), name="celery")


def celery_executor_config() -> dict[str, Any]:
    """``celery_executor`` config: the URLs as ``{"env": ...}`` (read when a run starts, never baked
    into the code location), the rest from ``celery_config``."""
    return {
        "broker": {"env": BROKER_ENV},
        "backend": {"env": backend_env()},
        "config_source": celery_config(),
    }


def worker_metadata() -> dict[str, Any]:
    """Where this step ran: host, process and (on a Celery worker) the worker's node name. Goes to
    materialization metadata only, never into stored files, so outputs stay byte-identical."""
    meta: dict[str, Any] = {"executor_host": socket.gethostname(), "executor_pid": os.getpid()}
    if "celery" in sys.modules:  # only a worker process has imported Celery
        from celery import current_task

        if current_task and current_task.request and current_task.request.hostname:
            meta["celery_worker"] = current_task.request.hostname
    return meta


def creative_pipeline_job() -> dg.JobDefinition:
    """``creative_pipeline`` as a reconstructable target (``dg.reconstructable``): what the
    ``creative-assets run`` command hands to ``dg.execute_job`` so workers can load it too."""
    from creative_assets.definitions import defs

    return defs.resolve_job_def("creative_pipeline")


def execute_pipeline(job: dg.JobDefinition, instance: dg.DagsterInstance, **kwargs):
    """One ``creative_pipeline`` run from this process: in process, or orchestrated onto the
    Celery workers (which needs a reconstructable job, not the object in hand)."""
    if executor_kind() == "in_process":
        return job.execute_in_process(instance=instance, raise_on_error=False, **kwargs)
    return dg.execute_job(dg.reconstructable(creative_pipeline_job), instance=instance, **kwargs)
