#!/usr/bin/env bash
# npm run hub: JupyterHub for a class on this machine (README: "A class on JupyterHub").
#
#   1. checks everything before starting anything: root, the project's .venv with JupyterHub,
#      configurable-http-proxy in node_modules, dockerd installed, the image, free ports;
#   2. starts dockerd when no engine answers, in a mount namespace of its own (as
#      npm run test:docker does), and stops exactly that daemon at the end;
#   3. makes the students' network (internal: no route out; no traffic between containers) and
#      the seccomp profile of their containers (scripts/hub/seccomp-profile.py);
#   4. starts configurable-http-proxy (127.0.0.1) and JupyterHub (.venv, jupyterhub_config.py).
# Ctrl-C (or SIGTERM) stops the hub, the proxy, every student's container (their volumes stay:
# their homes), the network, and dockerd if this script started it. SIGHUP restarts only the hub:
# students' servers and labs keep running through it.
#
# Environment: NSLAB_HUB_PORT (8000, the URL students open), NSLAB_HUB_PROXY_API_PORT (8001),
# NSLAB_HUB_HUB_PORT (8081), NSLAB_HUB_IMAGE (nslab), NSLAB_HUB_DIR (state: database, secrets;
# default ~/.local/state/nslab-hub), NSLAB_HUB_NETWORK (nslab-hub), NSLAB_HUB_PASSWORD (default:
# made once and kept in NSLAB_HUB_DIR), NSLAB_HUB_MEM (768M), NSLAB_HUB_CPUS (1), NSLAB_HUB_PIDS
# (256), NSLAB_HUB_CULL_IDLE (3600 s), NSLAB_HUB_ADMIN_TOKEN (an API token with the admin role,
# for scripts and tests).
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
log() { printf '[hub] %s\n' "$*"; }
die() { printf '[hub] error: %s\n' "$*" >&2; exit 1; }

export NSLAB_HUB_PORT=${NSLAB_HUB_PORT:-8000}
export NSLAB_HUB_PROXY_API_PORT=${NSLAB_HUB_PROXY_API_PORT:-8001}
export NSLAB_HUB_HUB_PORT=${NSLAB_HUB_HUB_PORT:-8081}
export NSLAB_HUB_IMAGE=${NSLAB_HUB_IMAGE:-nslab}
export NSLAB_HUB_NETWORK=${NSLAB_HUB_NETWORK:-nslab-hub}
export NSLAB_HUB_DIR=${NSLAB_HUB_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/nslab-hub}
PY=$ROOT/.venv/bin/python
CHP=$ROOT/node_modules/.bin/configurable-http-proxy

# ---- 1. checks: nothing is started before all of them pass ------------------------------------
[ "$(id -u)" -eq 0 ] || die "run as root: the hub starts dockerd and student containers"
[ -x "$ROOT/.venv/bin/jupyterhub" ] || die "no JupyterHub in .venv: run bash scripts/setup-debian.sh first"
[ -x "$CHP" ] || die "no configurable-http-proxy in node_modules: run npm ci first"
for p in "$NSLAB_HUB_PORT" "$NSLAB_HUB_PROXY_API_PORT" "$NSLAB_HUB_HUB_PORT"; do
    [[ $p =~ ^[0-9]+$ ]] && [ "$p" -ge 1 ] && [ "$p" -le 65535 ] || die "port '$p' is not a port number"
done
port_busy() { "$PY" -c 'import socket, sys
s = socket.socket()
try: s.bind((sys.argv[1], int(sys.argv[2])))
except OSError: sys.exit(0)
sys.exit(1)' "$1" "$2"; }
for p in "$NSLAB_HUB_PORT" "$NSLAB_HUB_PROXY_API_PORT"; do
    port_busy 127.0.0.1 "$p" && die "port $p on 127.0.0.1 is in use (set NSLAB_HUB_PORT / NSLAB_HUB_PROXY_API_PORT to free ones)"
done
ENGINE_UP=
if docker info >/dev/null 2>&1; then ENGINE_UP=1
elif ! command -v dockerd >/dev/null; then
    die "dockerd is not installed (Debian: apt-get install docker.io); nothing was started"
fi

STATE=$NSLAB_HUB_DIR/run.$$
DOCKERD_PID= PROXY_PID= HUB_PID= CULLER_PID= NETWORK_MADE= STOPPING=
stop_pid() {                               # stop_pid PID NAME [S]: TERM, wait up to S (20) s, then KILL
    local pid=$1 name=$2 s=${3:-20}
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 $((s * 4))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && { log "$name did not stop in $s s: SIGKILL"; kill -KILL "$pid"; }
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local rc=$?
    set +e
    STOPPING=1
    [ -n "$HUB_PID$PROXY_PID$DOCKERD_PID$NETWORK_MADE" ] && log "stopping"
    stop_pid "$CULLER_PID" jupyterhub-idle-culler
    stop_hub
    stop_pid "$PROXY_PID" configurable-http-proxy
    if docker info >/dev/null 2>&1; then
        local ids; ids=$(docker ps -aq --filter "label=nslab.hub.network=$NSLAB_HUB_NETWORK")
        [ -n "$ids" ] && { log "stopping $(wc -w <<<"$ids") student container(s) (their volumes stay)"; docker rm -f $ids >/dev/null; }
        [ -n "$NETWORK_MADE" ] && docker network rm "$NSLAB_HUB_NETWORK" >/dev/null
    fi
    if [ -n "$DOCKERD_PID" ]; then
        local child; child=$(pgrep -P "$DOCKERD_PID" -x dockerd)
        log "stopping the dockerd this script started (pid ${child:-?})"
        stop_pid "$DOCKERD_PID" dockerd
        [ -n "$child" ] && kill -0 "$child" 2>/dev/null && kill -KILL "$child"
    fi
    rm -rf "$STATE"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 0' TERM       # the normal way to stop it (Ctrl-C too): everything is stopped, status 0
trap 'exit 0' INT

mkdir -p "$NSLAB_HUB_DIR" "$STATE"
chmod 700 "$NSLAB_HUB_DIR"

# ---- 2. the engine -------------------------------------------------------------------------
if [ -z "$ENGINE_UP" ]; then
    log "starting dockerd (log: $NSLAB_HUB_DIR/dockerd.log)"
    # Own mount namespace: the daemon's overlay and netns mounts stay out of this machine's.
    unshare --mount --propagation private -- timeout 24h dockerd >"$NSLAB_HUB_DIR/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    for _ in $(seq 1 120); do
        docker info >/dev/null 2>&1 && break
        kill -0 "$DOCKERD_PID" 2>/dev/null || { tail -n 20 "$NSLAB_HUB_DIR/dockerd.log" >&2; DOCKERD_PID=; die "dockerd exited"; }
        sleep 0.5
    done
    docker info >/dev/null 2>&1 || die "dockerd did not answer within 60 s"
fi
docker image inspect "$NSLAB_HUB_IMAGE" >/dev/null 2>&1 \
    || die "no image '$NSLAB_HUB_IMAGE': build it first (docker build -t $NSLAB_HUB_IMAGE . ; see the README's Docker section) or set NSLAB_HUB_IMAGE"

# ---- 3. the students' network and seccomp profile ------------------------------------------
if docker network inspect "$NSLAB_HUB_NETWORK" >/dev/null 2>&1; then
    log "network $NSLAB_HUB_NETWORK exists (left by a killed run?): using it"
else
    docker network create --internal --label nslab.hub=1 \
        -o com.docker.network.bridge.enable_icc=false "$NSLAB_HUB_NETWORK" >/dev/null
    NETWORK_MADE=1
fi
export NSLAB_HUB_GATEWAY
NSLAB_HUB_GATEWAY=$(docker network inspect -f '{{range .IPAM.Config}}{{.Gateway}}{{end}}' "$NSLAB_HUB_NETWORK")
[ -n "$NSLAB_HUB_GATEWAY" ] || die "network $NSLAB_HUB_NETWORK has no gateway address"
port_busy "$NSLAB_HUB_GATEWAY" "$NSLAB_HUB_HUB_PORT" && die "port $NSLAB_HUB_HUB_PORT on $NSLAB_HUB_GATEWAY is in use (set NSLAB_HUB_HUB_PORT)"
export NSLAB_HUB_SECCOMP=$STATE/seccomp.json
"$PY" scripts/hub/seccomp-profile.py "$NSLAB_HUB_IMAGE" "$NSLAB_HUB_SECCOMP" | sed 's/^/[hub] /'

# ---- 4. proxy and hub -------------------------------------------------------------------------
if [ -z "${NSLAB_HUB_PASSWORD:-}" ]; then
    [ -s "$NSLAB_HUB_DIR/password" ] || "$PY" -c 'import secrets; print(secrets.token_urlsafe(9))' >"$NSLAB_HUB_DIR/password"
    NSLAB_HUB_PASSWORD=$(cat "$NSLAB_HUB_DIR/password")
fi
export NSLAB_HUB_PASSWORD
export CONFIGPROXY_AUTH_TOKEN NSLAB_HUB_CULLER_TOKEN
CONFIGPROXY_AUTH_TOKEN=$("$PY" -c 'import secrets; print(secrets.token_hex(32))')
NSLAB_HUB_CULLER_TOKEN=$("$PY" -c 'import secrets; print(secrets.token_hex(32))')
"$CHP" --ip 127.0.0.1 --port "$NSLAB_HUB_PORT" --api-ip 127.0.0.1 --api-port "$NSLAB_HUB_PROXY_API_PORT" \
    --default-target "http://$NSLAB_HUB_GATEWAY:$NSLAB_HUB_HUB_PORT" --error-target "http://$NSLAB_HUB_GATEWAY:$NSLAB_HUB_HUB_PORT/hub/error" \
    --log-level warn &
PROXY_PID=$!

start_hub() {
    (cd "$NSLAB_HUB_DIR" && exec "$ROOT/.venv/bin/jupyterhub" -f "$ROOT/scripts/hub/jupyterhub_config.py") &
    HUB_PID=$!
}
stop_hub() {
    [ -n "$HUB_PID" ] || return 0
    stop_pid "$HUB_PID" jupyterhub
    HUB_PID=
}
restart_hub() {
    log "SIGHUP: restarting the hub (students' servers keep running)"
    stop_hub
    start_hub
}
trap restart_hub HUP
start_hub
for _ in $(seq 1 120); do
    curl -sf "http://$NSLAB_HUB_GATEWAY:$NSLAB_HUB_HUB_PORT/hub/api/" >/dev/null 2>&1 && break
    kill -0 "$HUB_PID" 2>/dev/null || die "jupyterhub exited while starting"
    kill -0 "$PROXY_PID" 2>/dev/null || die "configurable-http-proxy exited while starting"
    sleep 0.5
done
curl -sf "http://127.0.0.1:$NSLAB_HUB_PORT/hub/api/" >/dev/null || die "the hub did not answer within 60 s"
# The idle culler stops servers idle for NSLAB_HUB_CULL_IDLE seconds (it keeps running, and
# retrying, through a restart of the hub).
JUPYTERHUB_API_TOKEN=$NSLAB_HUB_CULLER_TOKEN "$PY" -m jupyterhub_idle_culler \
    --url="http://$NSLAB_HUB_GATEWAY:$NSLAB_HUB_HUB_PORT/hub/api" \
    --timeout="${NSLAB_HUB_CULL_IDLE:-3600}" --cull-every="${NSLAB_HUB_CULL_EVERY:-300}" \
    >>"$NSLAB_HUB_DIR/idle-culler.log" 2>&1 &
CULLER_PID=$!
log "ready: http://127.0.0.1:$NSLAB_HUB_PORT/  (any user name, password: $NSLAB_HUB_PASSWORD; admin: ${NSLAB_HUB_ADMIN:-teacher})"
log "students' servers: image $NSLAB_HUB_IMAGE, network $NSLAB_HUB_NETWORK ($NSLAB_HUB_GATEWAY), state in $NSLAB_HUB_DIR; Ctrl-C stops everything"
# Wait for the hub or the proxy to end; a SIGHUP interrupts the wait and restarts the hub.
while :; do
    wait -n "$HUB_PID" "$PROXY_PID" "$CULLER_PID" 2>/dev/null || true
    kill -0 "$PROXY_PID" 2>/dev/null || die "configurable-http-proxy exited"
    kill -0 "$CULLER_PID" 2>/dev/null || die "jupyterhub-idle-culler exited (log: $NSLAB_HUB_DIR/idle-culler.log)"
    kill -0 "$HUB_PID" 2>/dev/null || die "jupyterhub exited"
done
