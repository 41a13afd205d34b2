#!/usr/bin/env bash
# One command from a fresh clone to a full test run: installs into .venv (with test extras),
# then lint, format check, definitions check and the whole pytest suite.
set -euo pipefail
# The Postgres tests (creative_assets_tests/test_postgres.py) start a throwaway server from the
# system PostgreSQL binaries: bootstrap.sh installs the `postgresql` package when they are missing.
export CREATIVE_ASSETS_NEED_POSTGRES=1
# The Celery tests (creative_assets_tests/test_celery.py, marker `celery`) start a throwaway Redis
# broker from Debian's redis-server binary: bootstrap.sh installs `redis-server` when it is missing.
export CREATIVE_ASSETS_NEED_REDIS=1
# The review app's browser test (test_review_browser.py, marker `browser`) drives chromium through
# chromedriver: bootstrap.sh installs `chromium` and `chromium-driver` when they are missing.
export CREATIVE_ASSETS_NEED_BROWSER=1
source "$(dirname "$0")/bootstrap.sh" test
echo "• ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "• dg check defs"
# A throwaway instance: the top-level dagster.yaml is the production (Postgres) configuration.
DAGSTER_HOME="$(mktemp -d)" .venv/bin/dg check defs
echo "• pytest"
.venv/bin/python -m pytest "$@"
