#!/usr/bin/env bash
# The project's Python environment: .venv/ (git-ignored) with exactly requirements.txt.
# Made with Debian's python3 (not whichever python3 is first on PATH), so it is the same on
# every machine. Skipped when .venv already holds this requirements.txt; remade when it changed.
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ "$(cat .venv/.nslab-requirements 2>/dev/null)" = "$want" ]; then
  echo "setup: .venv is up to date with requirements.txt"
  exit 0
fi
echo "setup: making .venv from requirements.txt (the pinned Jupyter stack)"
rm -rf .venv
/usr/bin/python3 -m venv .venv
# --no-deps: requirements.txt already names every package at its version, so nothing else comes in.
.venv/bin/pip install -q --no-deps -r requirements.txt 2>&1 | sed '/^WARNING: Location .* is ignored/d'
.venv/bin/pip check
# The checkout's package.json says "type": "module"; JupyterLab runs small CommonJS scripts of its
# own with node from inside .venv (its build check), which would then fail with "require is not
# defined" in the server log. A package.json of .venv's own scopes them back to CommonJS.
echo '{"type": "commonjs"}' > .venv/package.json
echo "$want" > .venv/.nslab-requirements
