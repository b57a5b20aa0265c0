# nslab lab image: a Jupyter server with the nslab kernel as its default kernel, the tutorial
# notebooks in the working directory, and the tools the tutorial uses.
#
#   docker build -t nslab .
#   docker run --rm -it --init --privileged -p 127.0.0.1:8888:8888 nslab
# then open the http://127.0.0.1:8888/...?token=... URL that the container prints.
# Where --privileged is refused (or to give less), the lab needs only:
#   --cap-add SYS_ADMIN --cap-add NET_ADMIN --security-opt seccomp=unconfined
#   --security-opt apparmor=unconfined --security-opt systempaths=unconfined
# (NET_ADMIN: the lab's network namespace gets its loopback up, and the network notebook its veths)
# Without either, the kernel still starts as a plain shell and its first output says why.
#
# Build arguments:
#   BASE            base image (default ubuntu:24.04, as in the article); a Debian or Ubuntu
#                   release whose nodejs is >= 18.19
#   JUPYTER_SOURCE  pypi (default): JupyterLab from PyPI, in a virtualenv at /opt/jupyter
#                   distro: the distribution's Jupyter packages (classic Notebook and nbconvert;
#                   JupyterLab is not packaged in Debian 12 or Ubuntu 24.04), for machines that
#                   reach only a distribution mirror
# Optional: docker/extra-ca.crt in the build context (absent by default) is trusted by the build
# stage's npm and pip, for TLS-intercepting proxies; it never reaches the final image.
#
# Nothing architecture-specific is downloaded: the same file builds on amd64 and arm64.

ARG BASE=ubuntu:24.04

# ---------------------------------------------------------------------------------------------
# Build stage: compilers for node-gyp (node-pty), npm, TypeScript; optionally JupyterLab.
FROM ${BASE} AS build
ARG JUPYTER_SOURCE=pypi
LABEL nslab.image=build
ENV DEBIAN_FRONTEND=noninteractive
RUN case "$JUPYTER_SOURCE" in pypi|distro) ;; \
      *) echo "JUPYTER_SOURCE must be pypi or distro, not '$JUPYTER_SOURCE'" >&2; exit 1 ;; esac \
 && apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates g++ make nodejs npm python3 \
      $(if [ "$JUPYTER_SOURCE" = pypi ]; then echo python3-venv python3-dev; fi) \
 && rm -rf /var/lib/apt/lists/*

# The optional extra CA: the glob matches nothing when docker/extra-ca.crt is absent, and the
# script is always there, so this COPY works either way.
COPY docker/install-extra-ca.sh docker/extra-ca.cr[t] /tmp/nslab-ca/
RUN sh /tmp/nslab-ca/install-extra-ca.sh

# JupyterLab from PyPI into a virtualenv that the final stage copies (empty in distro mode).
RUN mkdir -p /opt/jupyter \
 && if [ "$JUPYTER_SOURCE" = pypi ]; then \
      . /tmp/nslab-ca/env \
      && python3 -m venv /opt/jupyter \
      && /opt/jupyter/bin/pip install --no-cache-dir --disable-pip-version-check "jupyterlab>=4,<5" \
      && find /opt/jupyter -name __pycache__ -prune -exec rm -rf {} + ; \
    fi

# nslab: dependencies first (cached while package*.json are unchanged), then the sources.
WORKDIR /opt/nslab
COPY package.json package-lock.json ./
RUN . /tmp/nslab-ca/env && npm ci --no-audit --no-fund --loglevel=warn
COPY . .
# Then drop what a Linux runtime never loads: dev dependencies, and the macOS/Windows binaries
# shipped inside node-pty and zeromq (~90 MB).
RUN npx tsc -p . \
 && npm prune --omit=dev --no-audit --no-fund --loglevel=warn \
 && rm -rf docker notebooks /root/.npm \
      node_modules/node-pty/prebuilds/darwin-* node_modules/node-pty/prebuilds/win32-* \
      node_modules/zeromq/build/darwin node_modules/zeromq/build/win32

# ---------------------------------------------------------------------------------------------
# Final stage: runtime only (no compilers, no npm).
FROM ${BASE}
ARG JUPYTER_SOURCE=pypi
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
      $(if [ "$JUPYTER_SOURCE" = distro ]; then echo jupyter-notebook jupyter-nbconvert jupyter-client; fi) \
 && rm -rf /var/lib/apt/lists/*

COPY --from=build /opt/jupyter /opt/jupyter
COPY --from=build /opt/nslab /opt/nslab
COPY docker/jupyter_server_config.py docker/jupyter_notebook_config.py /etc/jupyter/
COPY docker/start-jupyter.sh /usr/local/bin/nslab-jupyter
COPY docker/install-kernelspec.sh /tmp/
RUN sh /tmp/install-kernelspec.sh && rm /tmp/install-kernelspec.sh

WORKDIR /lab
COPY notebooks/ /lab/

EXPOSE 8888
ENTRYPOINT ["/usr/bin/tini", "-s", "--"]
CMD ["nslab-jupyter"]
