#!/usr/bin/env bash
# npm run test:hub: the class-on-JupyterHub tests (test/hub/*.test.ts) against the image that
# npm run test:docker built (NSLAB_HUB_IMAGE, default nslab-test). As root on Debian 12; starts
# dockerd when no engine answers (in a mount namespace of its own, as test:docker does) and stops
# exactly that daemon at the end. NSLAB_HUB_STUDENTS: the class size of the class test (10).
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
log() { printf '[test-hub] %s\n' "$*"; }
[ "$(id -u)" -eq 0 ] || { echo "test-hub: run as root (it starts dockerd and containers)" >&2; exit 2; }
export NSLAB_HUB_IMAGE=${NSLAB_HUB_IMAGE:-nslab-test} NSLAB_HUB_STUDENTS=${NSLAB_HUB_STUDENTS:-10} NSLAB_HUB_TESTS=1
TMP=$(mktemp -d /tmp/nslab-test-hub.XXXXXX)
DOCKERD_PID=
cleanup() {
    local rc=$?
    set +e
    if [ -n "$DOCKERD_PID" ]; then
        local child; child=$(pgrep -P "$DOCKERD_PID" -x dockerd)
        log "stopping the dockerd this script started (pid ${child:-?})"
        kill -TERM "$DOCKERD_PID"
        for _ in $(seq 1 60); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
        kill -0 "$DOCKERD_PID" 2>/dev/null && { [ -n "$child" ] && kill -KILL "$child"; kill -KILL "$DOCKERD_PID"; }
        wait "$DOCKERD_PID" 2>/dev/null
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v dockerd >/dev/null || { echo "test-hub: dockerd missing: run npm run test:docker first (it installs docker.io and builds the image)" >&2; exit 1; }
if ! docker info >/dev/null 2>&1; then
    log "starting dockerd"
    unshare --mount --propagation private -- timeout 3h dockerd >"$TMP/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    for _ in $(seq 1 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
    docker info >/dev/null 2>&1 || { tail -n 20 "$TMP/dockerd.log"; exit 1; }
fi
docker image inspect "$NSLAB_HUB_IMAGE" >/dev/null 2>&1 \
    || { echo "test-hub: no image $NSLAB_HUB_IMAGE: run npm run test:docker first (it builds it)" >&2; exit 1; }
npm run -s build
t0=$(date +%s)
npx mocha 'dist/test/hub/*.test.js'
log "tests took $(( $(date +%s) - t0 )) s with $NSLAB_HUB_STUDENTS students"
