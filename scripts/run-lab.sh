#!/usr/bin/env bash
# The main job: the tutorial notebooks in JupyterLab 4, with nslab as their kernel.
# Installs the kernelspec for the current user, trusts the notebooks this project ships (so
# their nstree pictures show on open; see the README's "Trusted notebooks"), and starts the
# project's JupyterLab (.venv, pinned) on 127.0.0.1 (token authentication as usual; the URL with
# the token is printed). NSLAB_PORT picks the port (default 8888).
set -euo pipefail
cd "$(dirname "$0")/.."
node dist/src/cli/main.js install --user
.venv/bin/jupyter trust notebooks/*.ipynb
port="${NSLAB_PORT:-8888}"
exec .venv/bin/jupyter-lab --ServerApp.ip=127.0.0.1 --ServerApp.port="$port" --no-browser --allow-root \
  --ServerApp.root_dir=notebooks
