# nslab lab image: a Jupyter server with the nslab kernel as its default kernel, the tutorial
# notebooks in the working directory, and the tools the tutorial uses.
#
#   docker build -t nslab .
#   docker run --rm -it --init --privileged -p 127.0.0.1:8888:8888 nslab
# then open the http://127.0.0.1:8888/...?token=... URL that the container prints.
# On JupyterHub (npm run hub, deploy/) the same image runs jupyterhub-singleuser as the user
# "student" (uid 1000) with a rootless lab; see the README's "A class on JupyterHub".
# Where --privileged is refused (or to give less), the lab needs only:
#   --cap-add SYS_ADMIN --cap-add NET_ADMIN --security-opt seccomp=unconfined
#   --security-opt apparmor=unconfined --security-opt systempaths=unconfined
# (NET_ADMIN: the lab's network namespace gets its loopback up, and the network notebook its veths)
# Without either, the kernel still starts as a plain shell and its first output says why.
#
# Build arguments:
#   BASE            base image (default ubuntu:24.04, as in the article); a Debian or Ubuntu
#                   release whose nodejs is >= 18.19
# The Jupyter side comes from PyPI into a virtualenv at /opt/jupyter: docker/requirements-image.in
# (JupyterLab, Notebook, jupyter_server, nbconvert, jupyterhub-singleuser) at the versions pinned in
# requirements.txt, the same stack as the project's .venv. (There is no "distro" variant any more:
# Debian 12's and Ubuntu 24.04's Jupyter is the end-of-life classic Notebook 6, and JupyterLab is
# not packaged.)
# Optional: docker/extra-ca.crt in the build context (absent by default) is trusted by the build
# stage's npm and pip, for TLS-intercepting proxies; it never reaches the final image.
#
# Nothing architecture-specific is downloaded: the same file builds on amd64 and arm64.

ARG BASE=ubuntu:24.04

# ---------------------------------------------------------------------------------------------
# Build stage: compilers for node-gyp (node-pty), npm, TypeScript; optionally JupyterLab.
FROM ${BASE} AS build
LABEL nslab.image=build
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates g++ make nodejs npm python3 \
      python3-venv python3-dev \
 && rm -rf /var/lib/apt/lists/*

# The optional extra CA: the glob matches nothing when docker/extra-ca.crt is absent, and the
# script is always there, so this COPY works either way.
COPY docker/install-extra-ca.sh docker/extra-ca.cr[t] /tmp/nslab-ca/
RUN sh /tmp/nslab-ca/install-extra-ca.sh

# JupyterLab from PyPI into a virtualenv that the final stage copies: the packages of
# docker/requirements-image.in, every one (dependencies too) at its requirements.txt version.
COPY requirements.txt docker/requirements-image.in /tmp/nslab-py/
RUN . /tmp/nslab-ca/env \
 && python3 -m venv /opt/jupyter \
 && /opt/jupyter/bin/pip install --no-cache-dir --disable-pip-version-check \
      -c /tmp/nslab-py/requirements.txt -r /tmp/nslab-py/requirements-image.in \
 && /opt/jupyter/bin/pip check \
 && find /opt/jupyter -name __pycache__ -prune -exec rm -rf {} +

# nslab: dependencies first (cached while package*.json are unchanged), then the sources.
WORKDIR /opt/nslab
# The runtime dependencies at the lock file's versions, and only the compiler and Node's types
# for building src/ (tsconfig.build.json): the development tools (the linter with its TypeScript
# alias, mocha, the browser driver's tests) are not needed here, and Debian's npm 9 cannot read
# the lock file's TypeScript alias (`npm ci` there reports it out of sync; npm 10+ reads it).
COPY package.json package-lock.json ./
RUN . /tmp/nslab-ca/env \
 && node -e "const fs = require('fs'); const p = JSON.parse(fs.readFileSync('package.json')); const d = p.devDependencies; p.devDependencies = { typescript: d['@typescript/native'].replace(/^npm:typescript@/, ''), '@types/node': d['@types/node'] }; fs.writeFileSync('package.json', JSON.stringify(p, null, 2))" \
 && npm install --no-audit --no-fund --loglevel=warn
COPY . .
# Then drop what a Linux runtime never loads: dev dependencies, and the macOS/Windows binaries
# shipped inside node-pty and zeromq (~90 MB).
RUN npx tsc -p tsconfig.build.json \
 && rm -rf node_modules/typescript node_modules/@types node_modules/.bin/tsc node_modules/.bin/tsserver \
 && rm -rf docker notebooks /root/.npm \
      node_modules/node-pty/prebuilds/darwin-* node_modules/node-pty/prebuilds/win32-* \
      node_modules/zeromq/build/darwin node_modules/zeromq/build/win32

# ---------------------------------------------------------------------------------------------
# Final stage: runtime only (no compilers, no npm).
FROM ${BASE}
LABEL nslab.image=lab org.opencontainers.image.title=nslab \
      org.opencontainers.image.description="JupyterLab with the nslab kernel and the namespace tutorial notebooks"
ENV DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8 \
    PYDEVD_DISABLE_FILE_VALIDATION=1 \
    PATH=/opt/jupyter/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      bash bash-completion ca-certificates iproute2 iputils-ping mount nodejs procps psmisc \
      tini util-linux python3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 --shell /bin/bash student

COPY --from=build /opt/jupyter /opt/jupyter
COPY --from=build /opt/nslab /opt/nslab
COPY docker/jupyter_server_config.py /etc/jupyter/
# JupyterLab asks nobody about news or updates: a class's students see only the notebooks.
COPY docker/jupyterlab-overrides.json /opt/jupyter/share/jupyter/lab/settings/overrides.json
COPY docker/start-jupyter.sh /usr/local/bin/nslab-jupyter
COPY docker/install-kernelspec.sh /tmp/
RUN sh /tmp/install-kernelspec.sh && rm /tmp/install-kernelspec.sh

WORKDIR /lab
COPY notebooks/ /lab/
# The student's home on JupyterHub starts with the notebooks: a new Docker volume mounted on
# /home/student is filled from the image's copy on first start, and kept from then on.
COPY --chown=1000:1000 notebooks/ /home/student/
# Trusted, so that nstree's pictures show when a notebook is opened (as npm run lab does).
RUN jupyter trust /lab/*.ipynb >/dev/null \
 && su student -c 'jupyter trust /home/student/*.ipynb' >/dev/null

EXPOSE 8888
ENTRYPOINT ["/usr/bin/tini", "-s", "--"]
CMD ["nslab-jupyter"]
