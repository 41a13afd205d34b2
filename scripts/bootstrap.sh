#!/usr/bin/env bash
# Shared by quickstart.sh and test.sh: create .venv and install the project (idempotent).
# Usage: source scripts/bootstrap.sh [extras]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
EXTRAS="${1:-}"

need_apt=()
# Pillow's wheels shape Arabic/Hebrew/Indic text through raqm, which loads the system FriBiDi.
if ! ldconfig -p 2>/dev/null | grep -q libfribidi; then need_apt+=(libfribidi0); fi
# The Postgres tests need the server binaries: Debian/Ubuntu put them in /usr/lib/postgresql/<ver>/bin
# (not on PATH); elsewhere initdb and pg_ctl are on PATH.
have_pg_server() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then return 0; fi
  done
  command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1
}
# PyICU (UTS #39 confusables skeleton for banned-term matching) builds from its sdist against the
# system ICU: it needs the ICU headers, pkg-config and a C++ compiler.
if ! pkg-config --exists icu-uc 2>/dev/null; then need_apt+=(libicu-dev pkg-config g++); fi
if [ "${CREATIVE_ASSETS_NEED_POSTGRES:-0}" = "1" ] && ! have_pg_server; then
  need_apt+=(postgresql)
fi
# The Celery tests (creative_assets_tests/test_celery.py) start a throwaway Redis from Debian's
# redis-server binary as the broker.
if [ "${CREATIVE_ASSETS_NEED_REDIS:-0}" = "1" ] && ! command -v redis-server >/dev/null 2>&1 \
   && [ ! -x /usr/bin/redis-server ]; then
  need_apt+=(redis-server)
fi
# The review app's browser test (creative_assets_tests/test_review_browser.py) drives Debian's chromium
# through chromedriver; Selenium is pointed at these two binaries and never downloads a browser itself.
if [ "${CREATIVE_ASSETS_NEED_BROWSER:-0}" = "1" ]; then
  if [ ! -x /usr/bin/chromium ]; then need_apt+=(chromium); fi
  if [ ! -x /usr/bin/chromedriver ]; then need_apt+=(chromium-driver); fi
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "• installing system packages: ${need_apt[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "! please install these system packages: ${need_apt[*]} (e.g. sudo apt-get install ${need_apt[*]})" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "• creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)${EXTRAS:+-$EXTRAS}"
if [ ! -f "$stamp" ]; then
  echo "• installing creative-assets${EXTRAS:+[$EXTRAS]} into .venv (first run takes a minute or two)"
  log=.venv/install.log
  if ! { .venv/bin/python -m pip install -q --upgrade pip && \
         .venv/bin/python -m pip install -q -e ".${EXTRAS:+[$EXTRAS]}"; } >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "! installation failed; full log in $log" >&2
    exit 1
  fi
  touch "$stamp"
fi
.venv/bin/python - <<'PY'
from PIL import features
if not features.check("raqm"):
    raise SystemExit("Pillow has no raqm text layout: Arabic and Hebrew would not shape. Install libfribidi0.")
PY
