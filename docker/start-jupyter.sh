#!/bin/sh
# The image's default command: JupyterLab on port 8888 of the container, with Jupyter's usual
# token authentication. The URL with the token is printed in the log (docker run -it shows it);
# set JUPYTER_TOKEN to choose the token yourself. Extra arguments are passed on to JupyterLab.
# (On JupyterHub the spawner runs jupyterhub-singleuser instead.)
set -eu
exec jupyter lab --ip=0.0.0.0 --port=8888 --no-browser --allow-root "$@"
