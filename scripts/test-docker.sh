#!/usr/bin/env bash
# Builds the lab image for real and checks it (npm run test:docker; .ci/run calls it too).
#
# For a Debian 12 machine without a registry, run as root:
#   1. installs docker.io and debootstrap when missing;
#   2. starts dockerd when no engine answers (in a mount namespace of its own, so that its mounts
#      never reach this machine's) and stops exactly that daemon at the end, also on failure;
#   3. makes the base image local/debian:<codename> with debootstrap from this machine's mirror;
#   4. builds the Dockerfile as it is by default (JupyterLab and the rest of the Jupyter side from
#      PyPI at requirements.txt's pins) on BASE=local/debian:<codename> (the Dockerfile's default
#      base, ubuntu:24.04, cannot be pulled here: no registry), with this machine's CA bundle as
#      docker/extra-ca.crt for the build only (npm and pip go through a TLS proxy);
#   5. runs the container: the image's Python packages against requirements.txt, the namespace
#      smoke test, the tutorial notebooks executed to HTML with the image's nbconvert, and the
#      default command (JupyterLab) with token auth and a cell through its kernel websocket.
# Idempotent: a second run reuses the packages, the base image and the build cache.
# Exit status non-zero on any failure. Environment: NSLAB_TEST_IMAGE (default nslab-test).
set -Eeuo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
IMAGE=${NSLAB_TEST_IMAGE:-nslab-test}
PREFIX=nslab-test-$$                       # container names of this run
CODENAME=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
BASE_IMAGE=local/debian:$CODENAME
# What the tutorial needs from Docker on a machine where --privileged cannot be used (see README):
RUN_FLAGS=(--init --cap-add SYS_ADMIN --cap-add NET_ADMIN --security-opt seccomp=unconfined
           --security-opt apparmor=unconfined --security-opt systempaths=unconfined)
export DOCKER_BUILDKIT=0                   # no buildx here: the legacy builder, explicitly
export DEBIAN_FRONTEND=noninteractive

TMP=$(mktemp -d /tmp/nslab-docker.XXXXXX)
DOCKERD_PID=                               # set only when this script started the daemon
CA_CREATED=
TIMINGS=()
T_ALL=$(date +%s.%N)

log()  { printf '[test-docker] %s\n' "$*"; }
ok()   { echo "$*" >>"$TMP/passed"; log "ok: $*"; }
fail() { echo "$*" >>"$TMP/failed"; log "FAIL: $*"; exit 1; }
count() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
timing() { TIMINGS+=("$(printf '%-36s %7s s' "$1" "$2")"); }
CHILD=
bg() {                                     # bg CMD...: run in the background and wait, so that
    local rc=0                             # a TERM/INT reaches the trap at once, not after CMD
    "$@" & CHILD=$!
    wait "$CHILD" || rc=$?
    CHILD=
    return "$rc"
}
step() {                                   # step NAME FUNCTION: a step the rest depends on
    local t0; t0=$(date +%s.%N)
    log "== $1"
    "$2"
    timing "$1" "$(elapsed "$t0")"
    log "== $1: done in $(elapsed "$t0") s"
}
check() {                                  # check NAME FUNCTION: a failure is counted, the run goes on
    local t0 rc=0 n0; t0=$(date +%s.%N); n0=$(count "$TMP/failed")
    log "== $1"
    ( set -e; "$2" ) & CHILD=$!            # a subshell: fail() ends the check, not the run
    wait "$CHILD" || rc=$?
    CHILD=
    timing "$1" "$(elapsed "$t0")"
    if [ "$rc" -eq 0 ]; then log "== $1: done in $(elapsed "$t0") s"; return; fi
    log "== $1: FAILED after $(elapsed "$t0") s"
    [ "$(count "$TMP/failed")" -gt "$n0" ] || echo "$1 (exit status $rc)" >>"$TMP/failed"
}

exec 3>&1 4>&2                             # the trap may fire inside a redirected command
cleanup() {
    local rc=$?
    set +e
    exec 1>&3 2>&4
    [ -n "$CHILD" ] && kill -TERM "$CHILD" 2>/dev/null && wait "$CHILD" 2>/dev/null
    if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
        docker ps -aq --filter "name=^$PREFIX-" | xargs -r docker rm -f >/dev/null
    fi
    [ -n "$CA_CREATED" ] && rm -f "$ROOT/docker/extra-ca.crt"
    if [ -n "$DOCKERD_PID" ]; then
        local child; child=$(pgrep -P "$DOCKERD_PID" -x dockerd)
        log "stopping the dockerd this script started (pid ${child:-?}, under $DOCKERD_PID)"
        kill -TERM "$DOCKERD_PID" 2>/dev/null
        for _ in $(seq 1 60); do
            kill -0 "$DOCKERD_PID" 2>/dev/null || { [ -n "$child" ] && kill -0 "$child" 2>/dev/null; } || break
            sleep 0.5
        done
        if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
            log "dockerd did not stop in 30 s: SIGKILL $child"; kill -KILL "$child"
        fi
        kill -0 "$DOCKERD_PID" 2>/dev/null && kill -KILL "$DOCKERD_PID"
        wait "$DOCKERD_PID" 2>/dev/null
    fi
    local passed failed; passed=$(count "$TMP/passed"); failed=$(count "$TMP/failed")
    if [ "$failed" -gt 0 ]; then log "failures:"; sed 's/^/[test-docker]   /' "$TMP/failed"; fi
    rm -rf "$TMP"
    if [ ${#TIMINGS[@]} -gt 0 ]; then
        log "timings:"
        printf '[test-docker]   %s\n' "${TIMINGS[@]}"
    fi
    log "total $(elapsed "$T_ALL") s"
    [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
    echo "docker: $passed passed, $failed failed"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || { echo "test-docker: run as root (it installs packages and starts dockerd)" >&2; exit 2; }

# ---------------------------------------------------------------------------------------------
install_packages() {
    local need=()
    command -v dockerd >/dev/null || need+=(docker.io)
    command -v debootstrap >/dev/null || need+=(debootstrap)
    command -v curl >/dev/null || need+=(curl)
    command -v python3 >/dev/null || need+=(python3)
    if [ ${#need[@]} -eq 0 ]; then log "docker.io, debootstrap, curl, python3 already installed"; return; fi
    log "installing ${need[*]}"
    apt-get update -q >"$TMP/apt.log" 2>&1 || { tail -n 20 "$TMP/apt.log"; fail "apt-get update"; }
    bg timeout 600 apt-get install -y -q --no-install-recommends "${need[@]}" >"$TMP/apt.log" 2>&1 \
        || { tail -n 30 "$TMP/apt.log"; fail "apt-get install ${need[*]}"; }
    command -v docker >/dev/null || fail "no docker client after installing docker.io"
    ok "installed ${need[*]}"
}

start_engine() {
    if docker info >/dev/null 2>&1; then log "a Docker engine already answers: using it, not stopping it"; return; fi
    log "starting dockerd (log: $TMP/dockerd.log)"
    # Own mount namespace: the daemon's overlay and netns mounts stay out of this machine's.
    # timeout: a safety net if this script is killed without running its trap.
    unshare --mount --propagation private -- timeout 3h dockerd >"$TMP/dockerd.log" 2>&1 3>&- 4>&- &
    DOCKERD_PID=$!
    for _ in $(seq 1 120); do
        docker info >/dev/null 2>&1 && break
        kill -0 "$DOCKERD_PID" 2>/dev/null || { cat "$TMP/dockerd.log"; DOCKERD_PID=; fail "dockerd exited"; }
        sleep 0.5
    done
    docker info >/dev/null 2>&1 || fail "dockerd did not answer within 60 s"
    ok "engine up: server $(docker version --format '{{.Server.Version}}'), client $(docker version --format '{{.Client.Version}}')"
}

debian_mirror() {
    local m=
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        m=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
        m=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
    fi
    echo "${m:-http://deb.debian.org/debian}"
}

make_base() {
    if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then log "$BASE_IMAGE exists"; return; fi
    local mirror rootfs t0; mirror=$(debian_mirror); rootfs=$TMP/rootfs
    log "debootstrap --variant=minbase $CODENAME from $mirror"
    t0=$(date +%s.%N)
    # debootstrap mounts /proc and /sys in the target: keep those mounts in a private namespace.
    bg timeout 900 unshare --mount --propagation private -- \
        debootstrap --variant=minbase "$CODENAME" "$rootfs" "$mirror" >"$TMP/debootstrap.log" 2>&1 \
        || { tail -n 30 "$TMP/debootstrap.log"; fail "debootstrap"; }
    timing "  debootstrap" "$(elapsed "$t0")"
    t0=$(date +%s.%N)
    tar -C "$rootfs" -c . | docker import - "$BASE_IMAGE" >/dev/null || fail "docker import"
    timing "  docker import" "$(elapsed "$t0")"
    rm -rf "$rootfs"
    ok "base image $BASE_IMAGE ($(docker image inspect -f '{{.Size}}' "$BASE_IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
}

build_image() {
    if [ ! -e docker/extra-ca.crt ]; then
        cp /etc/ssl/certs/ca-certificates.crt docker/extra-ca.crt
        CA_CREATED=1
    fi
    bg timeout 1800 docker build --force-rm --build-arg BASE="$BASE_IMAGE" \
        -t "$IMAGE" . >"$TMP/build.log" 2>&1 || { tail -n 40 "$TMP/build.log"; fail "docker build"; }
    grep -E '^Step [0-9]+/' "$TMP/build.log" | sed 's/^/[test-docker]   /'
    # Tag the build stage too (all cached: a second), so that pruning this image's superseded
    # builds (dangling, label nslab.image) keeps the build cache of the next run.
    bg timeout 600 docker build --force-rm --target build --build-arg BASE="$BASE_IMAGE" \
        -t "$IMAGE-build" . >>"$TMP/build.log" 2>&1 \
        || { tail -n 20 "$TMP/build.log"; fail "docker build --target build"; }
    docker image prune -f --filter label=nslab.image | tail -n 1 | sed 's/^/[test-docker]   pruned superseded builds: /'
    rm -f docker/extra-ca.crt; CA_CREATED=
    # The CA given for the build must not be in the final image.
    docker run --rm --entrypoint sh "$IMAGE" -c \
        'test ! -e /usr/local/share/ca-certificates/nslab-extra-ca.crt && test ! -e /tmp/nslab-ca && test ! -e /opt/nslab/docker' \
        || fail "the build's extra CA leaked into the final image"
    # No compilers or npm in the final image.
    docker run --rm --entrypoint sh "$IMAGE" -c '! command -v g++ && ! command -v make && ! command -v npm' >/dev/null \
        || fail "build tools left in the final image"
    ok "image $IMAGE built ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }')), no extra CA and no build tools in it"
}

run_versions() {
    # Every Python package in the image at the version requirements.txt pins (same stack as .venv).
    local out
    out=$(timeout 120 docker run --rm --entrypoint sh "$IMAGE" -c \
        'pip freeze --disable-pip-version-check --all --exclude pip --exclude setuptools; echo "lab=$(jupyter lab --version)"') \
        || fail "pip freeze in the image"
    printf '%s\n' "$out" | python3 -c '
import re, sys
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
pins = {}
for line in open("requirements.txt"):
    m = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line)
    if m: pins[norm(m.group(1))] = m.group(2)
bad, n = [], 0
for line in sys.stdin:
    line = line.strip()
    if line.startswith("lab="): print("  jupyter lab --version:", line[4:]); continue
    m = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)$", line)
    if not m: bad.append("unexpected line: " + line); continue
    n += 1
    want = pins.get(norm(m.group(1)))
    if want != m.group(2): bad.append(f"{m.group(1)}=={m.group(2)} (requirements.txt: {want})")
for b in bad: print("  " + b)
print(f"  {n} packages in /opt/jupyter, {n - len(bad)} at the pinned version")
sys.exit(1 if bad or n < 20 else 0)' | sed 's/^/[test-docker] /' || fail "the image's Python packages differ from requirements.txt"
    ok "every Python package in the image is pinned in requirements.txt at the same version"
}

run_smoke() {
    local out
    out=$(timeout 120 docker run --rm "${RUN_FLAGS[@]}" "$IMAGE" \
        bash -c 'echo "container shell pid: $$"; unshare --pid --fork --mount-proc ps -ef') \
        || fail "unshare --pid --fork --mount-proc ps -ef in the container"
    printf '%s\n' "$out" | sed 's/^/[test-docker]   /'
    printf '%s\n' "$out" | grep -Eq '^root +1 +0 .* ps -ef$' || fail "ps -ef in a new PID namespace is not PID 1"
    ok "a new PID namespace in the container: ps -ef runs as PID 1"
    # Without the flags, namespaces are refused: what a learner sees without --privileged.
    if out=$(timeout 60 docker run --rm "$IMAGE" unshare --pid --fork true 2>&1); then
        fail "unshare worked without privileges (expected 'Operation not permitted')"
    fi
    log "  without the flags: $out"
    ok "without privileges unshare is refused"
    # The kernelspec is installed system-wide and is the default.
    out=$(timeout 60 docker run --rm "$IMAGE" jupyter kernelspec list) || fail "jupyter kernelspec list"
    printf '%s\n' "$out" | sed 's/^/[test-docker]   /'
    printf '%s\n' "$out" | grep -Eq '^ *nslab +/usr/local/share/jupyter/kernels/nslab$' || fail "nslab kernelspec not installed"
    ok "nslab kernelspec installed system-wide"
}

run_notebooks() {
    local name=$PREFIX-nb n
    n=$(find notebooks -maxdepth 1 -name '*.ipynb' | wc -l)
    [ "$n" -gt 0 ] || fail "no notebooks in notebooks/"
    timeout 900 docker run --name "$name" "${RUN_FLAGS[@]}" "$IMAGE" bash -c \
        'mkdir -p /tmp/html && jupyter nbconvert --to html --execute --ExecutePreprocessor.timeout=120 --output-dir /tmp/html /lab/*.ipynb' \
        >"$TMP/nbconvert.log" 2>&1 || {
            grep -E '^nslab' "$TMP/nbconvert.log" | head -n 10   # the kernel's own complaints, if any
            tail -n 30 "$TMP/nbconvert.log"; fail "nbconvert --execute in the container"; }
    sed 's/^/[test-docker]   /' "$TMP/nbconvert.log" | tail -n 20
    docker cp "$name:/tmp/html" "$TMP/html" >/dev/null
    docker rm "$name" >/dev/null
    PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
    "$PY" - "$TMP/html" notebooks/*.ipynb <<'EOF' || fail "the HTML handouts made in the container"
import html.parser, json, os, re, sys

outdir, notebooks = sys.argv[1], sys.argv[2:]

class Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.parts = []; self.skip = 0
    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"): self.skip += 1
    def handle_endtag(self, tag):
        if tag in ("script", "style"): self.skip -= 1
    def handle_data(self, data):
        if not self.skip: self.parts.append(data)

def squash(s): return re.sub(r"\s+", " ", s).strip()

errors, ps_seen = [], False
for nb_path in notebooks:
    base = os.path.splitext(os.path.basename(nb_path))[0]
    out = os.path.join(outdir, base + ".html")
    if not os.path.isfile(out) or os.path.getsize(out) < 1000:
        errors.append(f"{out}: missing or empty"); continue
    raw = open(out, encoding="utf-8").read()
    p = Text(); p.feed(raw); text = "".join(p.parts); flat = squash(text)
    nb = json.load(open(nb_path, encoding="utf-8"))
    title = None
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            src = "".join(cell["source"])
            m = re.search(r"^#\s+(.+)$", src, re.M)
            if m: title = squash(re.sub(r"[`*_]", "", m.group(1))); break
    if not title:
        errors.append(f"{nb_path}: no '# title' in a markdown cell")
    elif title not in flat:
        errors.append(f"{out}: title {title!r} not in the HTML")
    else:
        print(f"  {base}.html: {os.path.getsize(out)} bytes, title {title!r}")
    if "\x1b" in raw or "133;" in text:
        errors.append(f"{out}: escape bytes or prompt markers in the output")
    if re.search(r"^UID +PID +PPID +C +STIME +TTY +TIME +CMD$", text, re.M):
        ps_seen = True
        lines = [l for l in text.splitlines() if re.match(r"^\S+ +\d+ +\d+ +\d+ ", l)]
        print(f"  {base}.html: ps -ef output, {len(lines)} process lines, e.g. {lines[:1]}")
if not ps_seen:
    errors.append("no notebook shows ps -ef output (UID PID PPID ... CMD)")
for e in errors: print("  " + e)
sys.exit(1 if errors else 0)
EOF
    ok "$n notebook(s) executed in the container and written to HTML"
}

run_server() {
    local name=$PREFIX-srv token= port code body kid t0
    t0=$(date +%s.%N)
    docker run -d --name "$name" "${RUN_FLAGS[@]}" -p 127.0.0.1::8888 "$IMAGE" >/dev/null \
        || fail "docker run (default command)"
    for _ in $(seq 1 60); do
        token=$(docker logs "$name" 2>&1 | grep -Eo 'token=[0-9a-f]+' | head -n 1 | cut -d= -f2) || true
        [ -n "$token" ] && break
        [ "$(docker inspect -f '{{.State.Running}}' "$name")" = true ] || break
        sleep 0.5
    done
    docker logs "$name" 2>&1 | sed 's/^/[test-docker]   /' | head -n 30
    [ -n "$token" ] || fail "the Jupyter server printed no URL with a token"
    port=$(docker port "$name" 8888/tcp | head -n 1 | sed 's/.*://')
    local url=http://127.0.0.1:$port
    for _ in $(seq 1 40); do
        code=$(curl -s -o /dev/null -w '%{http_code}' "$url/api/status" || true)
        [ "$code" = 403 ] && break
        sleep 0.25
    done
    log "  server answering after $(elapsed "$t0") s on $url (container port 8888)"
    [ "$code" = 403 ] || fail "GET /api/status without a token: $code, expected 403"
    ok "GET /api/status without token: 403"
    code=$(curl -s -o /dev/null -w '%{http_code}' "$url/") || true
    case $code in 302|401|403) ;; *) fail "GET / without a token: $code, expected a redirect to the login page" ;; esac
    ok "GET / without token: $code"
    code=$(curl -s -o "$TMP/status.json" -w '%{http_code}' -H "Authorization: token $token" "$url/api/status") || true
    [ "$code" = 200 ] || fail "GET /api/status with the token: $code"
    ok "GET /api/status with token: 200"
    code=$(curl -s -o "$TMP/lab.html" -w '%{http_code}' -H "Authorization: token $token" "$url/lab") || true
    [ "$code" = 200 ] && grep -q 'JupyterLab' "$TMP/lab.html" || fail "GET /lab with the token: $code, not JupyterLab's page"
    ok "GET /lab with token: JupyterLab's page"
    body=$(curl -s -H "Authorization: token $token" "$url/api/kernelspecs")
    printf '%s' "$body" | grep -q '"default": *"nslab"' || fail "default kernel is not nslab: ${body:0:300}"
    ok "/api/kernelspecs: default kernel nslab"
    body=$(curl -s -X POST -H "Authorization: token $token" -H 'Content-Type: application/json' \
        -d '{"name":"nslab"}' "$url/api/kernels")
    kid=$(printf '%s' "$body" | grep -Eo '"id": *"[^"]+"' | head -n 1 | sed 's/.*"\([^"]*\)"$/\1/')
    [ -n "$kid" ] || fail "starting an nslab kernel through the server: ${body:0:300}"
    # A cell through the server's websocket, the way JupyterLab runs it (tornado is in the image).
    local ws_rc=0
    docker exec -i -e TOKEN="$token" -e KID="$kid" "$name" python3 - >"$TMP/ws.log" 2>&1 <<'EOF_PY' || ws_rc=$?
import asyncio, json, os, uuid
from tornado.websocket import websocket_connect

async def main():
    url = f"ws://127.0.0.1:8888/api/kernels/{os.environ['KID']}/channels?token={os.environ['TOKEN']}"
    ws = await websocket_connect(url)
    msg_id = uuid.uuid4().hex
    await ws.write_message(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                   "session": uuid.uuid4().hex, "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": "echo $((6 * 7)); hostname; echo $$", "silent": False,
                    "store_history": True, "user_expressions": {}, "allow_stdin": False}}))
    out, reply, idle = "", None, False
    while not (reply and idle):   # the reply (shell) and idle (iopub) may come in either order
        m = json.loads(await asyncio.wait_for(ws.read_message(), 60))
        if m.get("parent_header", {}).get("msg_id") != msg_id: continue
        t = m["msg_type"]
        if t == "stream": out += m["content"]["text"]
        elif t == "execute_reply": reply = m["content"]["status"]
        elif t == "status" and m["content"]["execution_state"] == "idle": idle = True
    print(f"reply={reply} output={out!r}")
    words = out.split()
    assert reply == "ok" and words[:2] == ["42", "lab"] and len(words) == 3 and words[2] != "1", "unexpected result"

asyncio.run(asyncio.wait_for(main(), 90))
EOF_PY
    if [ "$ws_rc" -ne 0 ]; then
        tail -n 15 "$TMP/ws.log"; log "server log:"; docker logs --tail 20 "$name" 2>&1
        fail "executing a cell through the server's websocket"
    fi
    sed 's/^/[test-docker]   /' "$TMP/ws.log"
    ok "a cell ran in an nslab kernel through the server's websocket (hostname lab, \$\$ not 1)"
    # The same through JupyterLab's page in a browser (Chromium, playwright-core), when Chromium is there.
    if [ -x /usr/bin/chromium ] && [ -f dist/test/hub/lab-browser.js ]; then
        mkdir -p artifacts/docker
        timeout 300 node dist/test/hub/lab-browser.js "$url" "$token" artifacts/docker/jupyterlab-cell.png \
            || { docker logs --tail 20 "$name" 2>&1; fail "a cell run through JupyterLab in Chromium"; }
        ok "a cell ran through JupyterLab in Chromium (screenshot: artifacts/docker/jupyterlab-cell.png)"
    else
        log "  no /usr/bin/chromium or no build (npm run build): the browser check is skipped"
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: token $token" "$url/api/kernels/$kid")
    [ "$code" = 204 ] || fail "DELETE /api/kernels/$kid: $code"
    ok "the kernel was shut down through the server"
    t0=$(date +%s.%N)
    docker stop -t 20 "$name" >/dev/null
    log "  docker stop: $(elapsed "$t0") s, exit code $(docker inspect -f '{{.State.ExitCode}}' "$name")"
    docker rm "$name" >/dev/null
}

step "install docker.io, debootstrap"   install_packages
step "engine"                           start_engine
docker ps -aq --filter "name=^nslab-test-" | xargs -r docker rm -f >/dev/null   # leftovers of a killed run
step "base image $BASE_IMAGE"           make_base
step "docker build"                     build_image
check "run: pinned Python packages"      run_versions
check "run: namespaces in the container" run_smoke
check "run: notebooks to HTML"           run_notebooks
check "run: JupyterLab on 8888"          run_server
[ "$(count "$TMP/failed")" -eq 0 ] || exit 1
