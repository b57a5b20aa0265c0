#!/bin/sh
# The image's default command: a Jupyter server on port 8888 of the container, with Jupyter's
# usual token authentication. The URL with the token is printed in the log (docker run -it shows
# it); set JUPYTER_TOKEN to choose the token yourself. JupyterLab when it is installed (the
# default PyPI build), otherwise the distribution's classic Notebook (JUPYTER_SOURCE=distro).
# Extra arguments are passed on to Jupyter.
set -eu
if command -v jupyter-lab >/dev/null 2>&1; then
    app=lab
else
    app=notebook
fi
exec jupyter "$app" --ip=0.0.0.0 --port=8888 --no-browser --allow-root "$@"
