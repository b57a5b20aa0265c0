#!/bin/sh
# Installs the nslab kernelspec system-wide with nslab's own CLI, into
# /usr/local/share/jupyter/kernels/nslab: both a PyPI Jupyter in /opt/jupyter and the
# distribution's Jupyter in /usr look for kernels there. The kernelspec starts
# /usr/bin/node /opt/nslab/dist/src/cli/main.js kernel {connection_file}.
set -eu
node /opt/nslab/dist/src/cli/main.js install --prefix /usr/local
test -f /usr/local/share/jupyter/kernels/nslab/kernel.json
