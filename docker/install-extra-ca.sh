#!/bin/sh
# Optional extra certificate authority for TLS-intercepting proxies (corporate networks, CI).
#
# The Dockerfile copies this script together with docker/extra-ca.crt *if that file exists in
# the build context* (it is absent by default and ignored by git). When present, the CA is added
# to this build stage's trust store and an environment file is written that points npm (Node)
# and pip at it. When absent, nothing is installed and the environment file is empty.
# Only build stages use it: the final image never receives the file.
set -eu
dir=$(dirname "$0")
: > "$dir/env"
if [ -s "$dir/extra-ca.crt" ]; then
    mkdir -p /usr/local/share/ca-certificates
    cp "$dir/extra-ca.crt" /usr/local/share/ca-certificates/nslab-extra-ca.crt
    update-ca-certificates >/dev/null 2>&1 || true
    {
        echo "export NODE_EXTRA_CA_CERTS=$dir/extra-ca.crt"
        echo "export PIP_CERT=/etc/ssl/certs/ca-certificates.crt"
    } > "$dir/env"
    echo "install-extra-ca: using docker/extra-ca.crt for this build stage"
else
    echo "install-extra-ca: no docker/extra-ca.crt given"
fi
