# Sourced by the other scripts: make sure .venv exists and holds what pyproject.toml pins.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ ! -x .venv/bin/python ]; then
  python_bin="${PYTHON:-}"
  if [ -z "$python_bin" ]; then
    if command -v python3.11 >/dev/null 2>&1; then python_bin=python3.11; else python_bin=python3; fi
  fi
  "$python_bin" - <<'PY'
import sys
if sys.version_info[:2] != (3, 11):
    sys.exit(f"orderflow needs Python 3.11, found {sys.version.split()[0]}; set PYTHON=/path/to/python3.11")
PY
  "$python_bin" -m venv .venv
fi

# Everything comes from the lock files (exact versions, each file's hash checked; scripts/lock
# writes them from pyproject.toml), then orderflow itself, editable, with nothing else resolved.
stamp=".venv/.installed-$(cat pyproject.toml requirements/dev.txt requirements/build.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --require-hashes --no-deps -r requirements/build.txt -r requirements/dev.txt
  .venv/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
  rm -f .venv/.installed-*
  touch "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"

# The documented JavaScript clients that the contract tests run (tests/js) need their npm packages;
# installed from the lock file when node is present, again only when the lock file changes.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  js_stamp="tests/js/node_modules/.installed-$(sha256sum tests/js/package-lock.json | cut -c1-16)"
  if [ ! -f "$js_stamp" ]; then
    (cd tests/js && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    touch "$js_stamp"
  fi
fi
