#!/usr/bin/env bash
# The main job: the tutorial notebooks in a Jupyter frontend, with nslab as their kernel.
# Installs the kernelspec for the current user and starts Debian's Notebook server on
# 127.0.0.1:8888 (token authentication as usual; the URL with the token is printed).
# JupyterLab is not packaged in Debian 12: where it is installed, it is used instead.
set -euo pipefail
cd "$(dirname "$0")/.."
node dist/src/cli/main.js install --user
port="${NSLAB_PORT:-8888}"
if command -v jupyter-lab >/dev/null 2>&1; then
  exec jupyter-lab --ip=127.0.0.1 --port="$port" --no-browser --allow-root --notebook-dir=notebooks
fi
exec /usr/bin/jupyter-notebook --ip=127.0.0.1 --port="$port" --no-browser --allow-root --notebook-dir=notebooks
