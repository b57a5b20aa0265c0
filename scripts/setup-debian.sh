#!/usr/bin/env bash
# Set up everything nslab needs on a fresh Debian 12 machine, then build it.
# Run as root (or with sudo): it installs Debian packages. Safe to run again.
#
#   tini, util-linux, procps …  the lab and the tutorial's tools
#   python3-venv                the project's Python environment, .venv/ (git-ignored), made from
#                               requirements.txt: the whole Jupyter stack from PyPI, pinned
#                               (JupyterLab 4, Notebook 7, nbclient, nbconvert 7, jupyter_client,
#                               jupyter-console, jupyter_kernel_test, papermill, nbgrader,
#                               JupyterHub …). Debian's own Jupyter packages are not used.
#   chromium, fonts-noto-cjk    browser tests, handouts and their PDFs (Japanese text)
#   poppler-utils               pdftoppm/pdftotext: the PDF handouts looked at and tested
#   faketime, locales           the date tests: reruns as if on other days, Japanese date forms
#   tmux                        the jupyter console test types into a console in tmux
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  tini util-linux procps psmisc iproute2 iputils-ping bash-completion man-db
  faketime locales
  python3 python3-venv
  chromium fonts-noto-cjk poppler-utils
  tmux
)
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)
command -v g++ >/dev/null 2>&1 || packages+=(g++ make)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "setup: installing Debian packages"
as_root apt-get update -q
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"

bash scripts/setup-python.sh

echo "setup: installing npm dependencies and building"
npm ci --no-audit --no-fund
npm run build
echo "setup: done (node $(node --version), $(.venv/bin/python --version), jupyterlab $(.venv/bin/python -c 'import jupyterlab; print(jupyterlab.__version__)'))"
