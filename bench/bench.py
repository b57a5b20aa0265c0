#!/usr/bin/env python3
"""nslab benchmark (issue 7): nslab beside other Jupyter kernels and beside the raw PTY.

Run with the project's .venv (jupyter_client, pyzmq, bash_kernel, ipykernel):

    .venv/bin/python bench/bench.py [KERNELSPEC ...] [--json PATH] [options]

Default kernelspec: nslab. Extra kernelspec directories are found through JUPYTER_PATH as usual,
e.g. JUPYTER_PATH=/tmp/bk-jupyter for the peer bash_kernel (see bench/README.md).

This is an independent client: jupyter_client's KernelManager launches the kernel (connection
file, ports, process group), interrupts it (`interrupt_kernel()`: interrupt_request on control
for `interrupt_mode: message` kernels, SIGINT to the process group otherwise) and shuts it down;
the messages are sent with jupyter_client's Session (signed) over plain synchronous pyzmq
sockets written here, so the client adds as little as possible to what is measured. Nothing of
nslab's own code is imported.

Measured for every kernelspec:
  startup       launch of the kernel process -> first kernel_info_reply (median of N fresh starts)
  true, echo hi execute_request -> iopub status idle for it (median, p95 of N after a warm-up)
  seq           `seq 1 1000000` (6,888,896 bytes): MB/s to the client (send -> idle), number of
                stream messages, whether the concatenated stdout equals the expected text
  interrupt     `sleep 100`, then interrupt -> idle; and the same for
                `unshare --pid --fork --mount-proc sleep 100` (ONLY for the kernelspec named
                nslab, whose shell runs inside its lab; skipped for kernels that run on the host)
  subshell      with --subshells, for kernels with "kernel subshells" (protocol 5.5): `true` in a
                subshell, alone and while the main shell runs `sleep 60` (send -> idle, median,
                p95 of N). Off by default: a subshell's shell adds to the peak memory compared
                with kernels that have none.
  memory        peak of the summed RSS of the kernel process and all its descendants, sampled
                from /proc every ~20 ms by a separate sampler process during the whole session
plus the raw PTY limits from bench/raw-pty.mjs (node-pty alone).
"""

import argparse
import json
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SEQ_N = 1000000

# The same measurements in each kernel's language: a cell that does nothing, one that prints
# `hi`, one that prints 1..SEQ_N one per line, one that sleeps until interrupted, and one that
# prints `alive`. Keyed by the kernelspec's `language` (nslab and bash_kernel: bash; ipykernel:
# python), so that bash kernels and a Python kernel can be set beside each other in one run.
CELLS = {
    "bash": {"nop": "true", "hi": "echo hi", "seq": f"seq 1 {SEQ_N}", "sleep": "sleep 100",
             "alive": "echo alive"},
    "python": {"nop": "pass", "hi": "print('hi')",
               "seq": f"import sys; sys.stdout.write(''.join(f'{{i}}\\n' for i in range(1, {SEQ_N} + 1)))",
               "sleep": "import time; time.sleep(100)", "alive": "print('alive')"},
}
PAGE = os.sysconf("SC_PAGE_SIZE")
# Kernelspecs whose shell runs inside a lab (a namespace sandbox): only these run the PID-1 row.
LAB_KERNELS = {"nslab"}


# ------------------------------------------------------------------------------------------------
# process tree helpers (also used by the sampler process)

def _children(pid):
    kids = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    kids.extend(int(x) for x in f.read().split())
            except OSError:
                pass
    except OSError:
        pass
    return kids


def _starttime(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
        return int(s[s.rindex(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _rss(pid):
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


def tree(root):
    """PIDs of root and all its descendants (walk of /proc/PID/task/TID/children)."""
    out, todo, seen = [], [root], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        out.append(p)
        todo.extend(_children(p))
    return out


def sampler_main(root, interval):
    """Separate process: sample the tree's summed RSS until stdin closes, then print JSON.
    Each line read from stdin names the phase that the following samples belong to."""
    peak, peak_n, samples, seen, breakdown = 0, 0, 0, {}, []
    phase, phases, buf = "start", {}, b""
    fd = sys.stdin.fileno()
    while True:
        pids = [p for p in tree(root) if os.path.exists(f"/proc/{p}")]
        rss = {p: _rss(p) for p in pids}
        total = sum(rss.values())
        samples += 1
        for p in pids:
            if p not in seen:
                st = _starttime(p)
                if st is not None:
                    seen[p] = st
        if total > phases.get(phase, 0):
            phases[phase] = total
        if total > peak:
            peak, peak_n = total, len(pids)
            parts = []
            for p in pids:
                try:
                    with open(f"/proc/{p}/comm") as f:
                        parts.append([f.read().strip(), rss[p]])
                except OSError:
                    pass
            breakdown = sorted(parts, key=lambda x: -x[1])
        r, _, _ = select.select([fd], [], [], interval)
        if r:
            data = os.read(fd, 4096)
            if not data:
                break
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                phase = line.decode().strip() or phase
    print(json.dumps({"peak_rss": peak, "peak_nprocs": peak_n, "samples": samples,
                      "peak_breakdown": breakdown, "phases": phases,
                      "pids": [[p, st] for p, st in seen.items()]}), flush=True)


class Sampler:
    def __init__(self, root, interval=0.02):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--_sample-tree", str(root),
             "--_interval", str(interval)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def mark(self, phase):
        try:
            self.proc.stdin.write(phase.encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:
            pass

    def stop(self):
        try:
            out, _ = self.proc.communicate(timeout=10)
            return json.loads(out)
        except Exception:
            self.proc.kill()
            self.proc.wait()
            return {"peak_rss": 0, "peak_nprocs": 0, "samples": 0, "pids": []}


def kill_tree(pairs):
    """SIGKILL the (pid, starttime) pairs that are still the same processes."""
    killed = 0
    for pid, st in pairs:
        if st is not None and _starttime(pid) == st:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
    return killed


# ------------------------------------------------------------------------------------------------
# statistics

def median(xs):
    return statistics.median(xs) if xs else None


def p95(xs):
    if not xs:
        return None
    s = sorted(xs)
    k = max(0, min(len(s) - 1, -(-95 * len(s) // 100) - 1))  # nearest rank
    return s[k]


# ------------------------------------------------------------------------------------------------
# a kernel and a minimal client

class Timeout(Exception):
    pass


class Kernel:
    """One running kernel: launched by jupyter_client, spoken to over plain pyzmq sockets."""

    def __init__(self, name, log_dir):
        from jupyter_client.manager import KernelManager
        self.name = name
        self.km = KernelManager(kernel_name=name)
        self.km.shutdown_wait_time = 3.0
        language = self.km.kernel_spec.language
        if language not in CELLS:
            raise ValueError(f"kernelspec {name!r}: no benchmark cells for language {language!r} (known: {', '.join(CELLS)})")
        self.cells = CELLS[language]
        self.log_path = os.path.join(log_dir, f"{name}-{uuid.uuid4().hex[:6]}.log")
        self.pid = None
        self.pgid = None
        self.sampler = None
        self.sockets = []
        self.startup_s = None
        self.mem = None
        self.known = {}

    # -- start -----------------------------------------------------------------------------------
    def start(self, timeout):
        import zmq
        log = open(self.log_path, "wb")
        t0 = time.perf_counter()
        self.km.start_kernel(stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        proc = self.km.provisioner.process
        self.pid = proc.pid
        self.pgid = getattr(self.km.provisioner, "pgid", None)
        self._remember()
        ci = self.km.get_connection_info()
        ctx = zmq.Context.instance()

        def url(port):
            if ci["transport"] == "tcp":
                return f"tcp://{ci['ip']}:{port}"
            return f"{ci['transport']}://{ci['ip']}-{port}"

        self.shell = ctx.socket(zmq.DEALER)
        self.shell.linger = 0
        # The kernel binds its ports only once it runs: ZeroMQ retries a refused connect after
        # RECONNECT_IVL (100 ms by default), which would add up to 100 ms of the client's own
        # to the startup figure. 10 ms keeps that artifact small.
        self.shell.setsockopt(zmq.RECONNECT_IVL, 10)
        self.shell.setsockopt(zmq.IDENTITY, uuid.uuid4().hex.encode())
        self.shell.connect(url(ci["shell_port"]))
        self.iopub = ctx.socket(zmq.SUB)
        self.iopub.linger = 0
        self.iopub.setsockopt(zmq.RECONNECT_IVL, 10)
        self.iopub.setsockopt(zmq.SUBSCRIBE, b"")
        self.iopub.setsockopt(zmq.RCVHWM, 0)  # the benchmark's client never drops a message itself
        self.iopub.connect(url(ci["iopub_port"]))
        self.control = ctx.socket(zmq.DEALER)
        self.control.linger = 0
        self.control.setsockopt(zmq.IDENTITY, uuid.uuid4().hex.encode())
        self.control.connect(url(ci["control_port"]))
        self.sockets = [self.shell, self.iopub, self.control]
        self.session = self.km.session

        # startup: process start -> first kernel_info_reply (resend every 2 s in case it was lost)
        deadline = t0 + timeout
        ids = {self._send("kernel_info_request", {})}
        last = time.perf_counter()
        self.kernel_info = None
        while self.kernel_info is None:
            now = time.perf_counter()
            if now > deadline:
                raise Timeout(f"no kernel_info_reply within {timeout:.0f} s")
            if proc.poll() is not None:
                raise Timeout(f"kernel process exited with {proc.returncode} (log: {self.log_path})")
            if now - last > 2.0:
                ids.add(self._send("kernel_info_request", {}))
                last = now
            if self.shell.poll(100):
                m = self._recv(self.shell)
                if m["header"]["msg_type"] == "kernel_info_reply" and m["parent_header"].get("msg_id") in ids:
                    self.kernel_info = m["content"]
                    self.startup_s = time.perf_counter() - t0
        self._remember()
        self.t0 = t0
        return self.startup_s

    def first_cell(self, timeout):
        """Right after kernel_info_reply: a `true` cell, timed from process start to its
        execute_reply (on shell, so it does not depend on the iopub subscription being up):
        includes whatever the kernel defers to its first cell (e.g. creating the lab)."""
        msg_id = self.start_cell(self.cells["nop"])
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            if self.shell.poll(100):
                m = self._recv(self.shell)
                if m["parent_header"].get("msg_id") == msg_id:
                    return time.perf_counter() - self.t0, m["content"].get("status")
        return None, "timeout"

    def ready(self, timeout=10.0):
        """Wait until iopub is subscribed: kernel_info requests until any iopub message arrives."""
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            self._send("kernel_info_request", {})
            if self.iopub.poll(250):
                break
        time.sleep(0.2)
        self._drain()
        self.sampler = Sampler(self.pid)
        self.idle_rss = sum(_rss(p) for p in tree(self.pid))

    # -- messaging --------------------------------------------------------------------------------
    def _send(self, msg_type, content):
        msg = self.session.msg(msg_type, content)
        self.session.send(self.shell, msg)
        return msg["header"]["msg_id"]

    @staticmethod
    def _recv(sock):
        frames = sock.recv_multipart()
        i = frames.index(b"<IDS|MSG>")
        # frames: sig, header, parent, metadata, content (HMAC not verified: local benchmark)
        return {"header": json.loads(frames[i + 2]), "parent_header": json.loads(frames[i + 3]),
                "content": json.loads(frames[i + 5])}

    def _drain(self):
        for s in self.sockets:
            while s.poll(0):
                s.recv_multipart()

    def control_request(self, msg_type, content, timeout=10.0):
        """A request on control (subshells); its reply content."""
        msg = self.session.msg(msg_type, content)
        self.session.send(self.control, msg)
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            if self.control.poll(100):
                m = self._recv(self.control)
                if m["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
                    return m["content"]
        raise Timeout(f"no reply to {msg_type}")

    def execute(self, code, timeout, on_busy=None, subshell_id=None):
        """Run a cell (in a subshell if given); return dict with elapsed (send -> idle), stdout
        text, message counts."""
        content = {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                   "allow_stdin": False, "stop_on_error": True}
        t0 = time.perf_counter()
        msg = self.session.msg("execute_request", content)
        if subshell_id is not None:
            msg["header"]["subshell_id"] = subshell_id
        msg_id = msg["header"]["msg_id"]
        self.session.send(self.shell, msg)
        deadline = t0 + timeout
        out = []
        n_stream = 0
        nbytes = 0
        other = []
        t_last_stream = t_first_stream = None
        iopub = self.iopub
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return {"timeout": True, "elapsed": None, "text": "".join(out), "n_stream": n_stream,
                        "bytes": nbytes, "msg_id": msg_id, "t0": t0, "other": other}
            if not iopub.poll(min(remaining, 0.5) * 1000):
                continue
            frames = iopub.recv_multipart()
            i = frames.index(b"<IDS|MSG>")
            parent = frames[i + 3]
            if msg_id.encode() not in parent:
                continue
            if json.loads(parent).get("msg_id") != msg_id:
                continue
            header = json.loads(frames[i + 2])
            mt = header["msg_type"]
            if mt == "stream":
                c = json.loads(frames[i + 5])
                n_stream += 1
                t_last_stream = time.perf_counter()
                if t_first_stream is None:
                    t_first_stream = t_last_stream
                if c.get("name") == "stdout":
                    out.append(c["text"])
                    nbytes += len(c["text"])
                else:
                    other.append(("stderr", c["text"][:200]))
            elif mt == "status":
                state = json.loads(frames[i + 5])["execution_state"]
                if state == "idle":
                    t1 = time.perf_counter()
                    return {"timeout": False, "elapsed": t1 - t0, "text": "".join(out),
                            "n_stream": n_stream, "bytes": nbytes, "msg_id": msg_id, "t0": t0,
                            "t_last_stream": t_last_stream, "t_first_stream": t_first_stream,
                            "other": other}
                if state == "busy" and on_busy:
                    on_busy()
            elif mt in ("error", "display_data", "execute_result"):
                other.append((mt, json.loads(frames[i + 5])))

    def reply(self, msg_id, timeout=5.0):
        """The execute_reply for msg_id (collected outside the timed part)."""
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            if self.shell.poll(100):
                m = self._recv(self.shell)
                if m["parent_header"].get("msg_id") == msg_id:
                    return m["content"]
        return None

    def start_cell(self, code):
        content = {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                   "allow_stdin": False, "stop_on_error": True}
        msg = self.session.msg("execute_request", content)
        self.session.send(self.shell, msg)
        return msg["header"]["msg_id"]

    def wait_state(self, msg_id, state, timeout):
        end = time.perf_counter() + timeout
        while True:
            remaining = end - time.perf_counter()
            if remaining <= 0:
                return None
            if not self.iopub.poll(remaining * 1000):
                continue
            m = self._recv(self.iopub)
            self._remember_throttled()
            if (m["parent_header"].get("msg_id") == msg_id and m["header"]["msg_type"] == "status"
                    and m["content"]["execution_state"] == state):
                return time.perf_counter()

    # -- cleanup ----------------------------------------------------------------------------------
    _last_remember = 0.0

    def _remember(self):
        if self.pid:
            for p in tree(self.pid):
                if p not in self.known:
                    self.known[p] = _starttime(p)

    def _remember_throttled(self):
        now = time.perf_counter()
        if now - self._last_remember > 0.5:
            self._last_remember = now
            self._remember()

    def close(self):
        """Shut down (shutdown_request, then SIGKILL after 3 s), then kill any leftover process."""
        self._remember()
        if self.sampler:
            self.mem = self.sampler.stop()
            for p, st in self.mem.get("pids", []):
                self.known.setdefault(p, st)
            self.sampler = None
        for s in self.sockets:
            s.close(linger=0)
        self.sockets = []
        try:
            if self.km.has_kernel:
                self.km.shutdown_kernel(now=False)
        except Exception:
            try:
                self.km.shutdown_kernel(now=True)
            except Exception:
                pass
        time.sleep(0.1)
        leftovers = kill_tree(self.known.items())
        if self.pgid:
            try:
                os.killpg(self.pgid, signal.SIGKILL)
            except OSError:
                pass
        return leftovers


# ------------------------------------------------------------------------------------------------
# the measurements for one kernelspec

def expected_seq():
    return "".join(f"{i}\n" for i in range(1, SEQ_N + 1))


def check_seq(text, expected):
    if text == expected:
        return {"ok": True, "verdict": "complete, in order"}
    norm = text.replace("\r\n", "\n")
    if norm == expected:
        return {"ok": True, "verdict": "complete, in order (CRLF line ends)"}
    lines = norm.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    vals, garbage = [], 0
    for ln in lines:
        if ln.isdigit() and 1 <= int(ln) <= SEQ_N:
            vals.append(int(ln))
        else:
            garbage += 1
    distinct = set(vals)
    lost = SEQ_N - len(distinct)
    dups = len(vals) - len(distinct)
    disorder = sum(1 for a, b in zip(vals, vals[1:]) if b <= a)
    parts = []
    if lost:
        parts.append(f"lost {lost} lines")
    if dups:
        parts.append(f"{dups} duplicated")
    if disorder:
        parts.append(f"{disorder} out of order")
    if garbage:
        parts.append(f"{garbage} garbled lines")
    if not parts:
        parts.append("text differs (line ends?)")
    return {"ok": False, "verdict": ", ".join(parts), "lost": lost, "duplicated": dups,
            "out_of_order": disorder, "garbled": garbage}


class Bench:
    def __init__(self, name, args, log_dir):
        self.name = name
        self.args = args
        self.log_dir = log_dir
        self.k = None
        self.r = {"kernelspec": name, "errors": [], "restarts": 0}
        self.mem_peaks = []
        self.phase_peaks = {}

    def log(self, msg):
        print(f"[{self.name}] {msg}", file=sys.stderr, flush=True)

    def new_kernel(self):
        k = Kernel(self.name, self.log_dir)
        try:
            k.start(self.args.start_timeout)
        except Exception:
            k.close()
            raise
        return k

    def restart(self, why):
        self.log(f"restarting the kernel: {why}")
        self.r["restarts"] += 1
        self.close_kernel()
        self.k = self.new_kernel()
        self.k.ready()
        self.phase(getattr(self, "cur_phase", "start"))

    def phase(self, name):
        self.cur_phase = name
        if self.k and self.k.sampler:
            self.k.sampler.mark(name)

    def close_kernel(self):
        if self.k:
            left = self.k.close()
            if left:
                self.r.setdefault("leftover_processes_killed", 0)
                self.r["leftover_processes_killed"] += left
            if self.k.mem:
                self.mem_peaks.append(self.k.mem)
                for ph, v in self.k.mem.get("phases", {}).items():
                    self.phase_peaks[ph] = max(self.phase_peaks.get(ph, 0), v)
            self.k = None

    def run(self):
        try:
            self._run()
        except Exception as e:  # keep whatever was measured
            self.r["errors"].append(f"{type(e).__name__}: {e}")
            self.log(f"error: {type(e).__name__}: {e}")
        finally:
            self.close_kernel()
        if self.mem_peaks:
            best = max(self.mem_peaks, key=lambda m: m["peak_rss"])
            self.r["memory"] = {"peak_rss_mb": best["peak_rss"] / 1e6, "peak_nprocs": best["peak_nprocs"],
                                "samples": sum(m["samples"] for m in self.mem_peaks),
                                "peak_breakdown_mb": [[c, round(b / 1e6, 1)] for c, b in best.get("peak_breakdown", [])],
                                "peak_by_phase_mb": {k: round(v / 1e6, 1) for k, v in self.phase_peaks.items()}}
        return self.r

    def _run(self):
        a = self.args
        # 1. startup ------------------------------------------------------------------------------
        starts, firsts = [], []
        for i in range(a.starts):
            k = self.new_kernel()
            starts.append(k.startup_s)
            fc, st = k.first_cell(a.start_timeout)
            if fc is not None:
                firsts.append(fc)
            self.log(f"start {i + 1}/{a.starts}: kernel_info_reply {k.startup_s * 1000:.0f} ms, "
                     f"first cell done {fc * 1000 if fc else 0:.0f} ms ({st})")
            if i == a.starts - 1:
                self.k = k
            else:
                k.close()
        self.r["startup_ms"] = {"median": median(starts) * 1000, "all": [s * 1000 for s in starts]}
        self.r["first_cell_ms"] = {"median": median(firsts) * 1000 if firsts else None,
                                   "all": [s * 1000 for s in firsts], "failed": a.starts - len(firsts)}
        ki = self.k.kernel_info or {}
        self.r["kernel_info"] = {x: ki.get(x) for x in ("implementation", "implementation_version",
                                                         "protocol_version")}
        self.r["interrupt_mode"] = self.k.km.kernel_spec.interrupt_mode
        self.k.ready()
        self.r["idle_rss_mb"] = self.k.idle_rss / 1e6

        self.phase("round trips")
        # 2. round trips --------------------------------------------------------------------------
        for i in range(a.warmup):
            res = self.k.execute(self.k.cells["nop"], timeout=10)
            if res["timeout"]:
                self.restart("warm-up cell timed out")
            else:
                self.k.reply(res["msg_id"])
        for label, code, expect in (("true", self.k.cells["nop"], ""), ("echo hi", self.k.cells["hi"], "hi\n")):
            times, wrong, errors, timeouts = [], 0, 0, 0
            for i in range(a.rounds):
                res = self.k.execute(code, timeout=a.cell_timeout)
                if res["timeout"]:
                    timeouts += 1
                    self.restart(f"{code!r} timed out")
                    if timeouts >= 3:
                        break
                    continue
                times.append(res["elapsed"] * 1000)
                if res["text"].replace("\r\n", "\n") != expect:
                    wrong += 1
                rep = self.k.reply(res["msg_id"])
                if not rep or rep.get("status") != "ok":
                    errors += 1
            self.r[f"rtt_{label.replace(' ', '_')}_ms"] = {
                "median": median(times), "p95": p95(times), "min": min(times) if times else None,
                "n": len(times), "wrong_output": wrong, "error_replies": errors, "timeouts": timeouts}
            self.log(f"{label!r} ({code!r}): median {median(times) or 0:.2f} ms, p95 {p95(times) or 0:.2f} ms, "
                     f"{wrong} wrong, {timeouts} timeouts")

        if a.subshells and "kernel subshells" in (self.k.kernel_info or {}).get("supported_features", []):
            self.phase("subshell")
            self.subshell_round_trips()

        self.phase("seq")
        # 3. throughput ---------------------------------------------------------------------------
        # One run; up to --seq-runs (3) when a run takes less than --seq-repeat-under (20 s), and
        # the median run (by MB/s) is reported: a kernel that needs minutes is run once.
        expected = expected_seq()
        nbytes = len(expected)
        runs = []
        while len(runs) < a.seq_runs:
            raw_mb = None
            if not a.no_raw:
                # the raw PTY reading the same seq right before, so that the ratio compares two
                # moments of the same load on a shared machine
                raw = run_raw(a, only="seq", seq_runs=1)
                raw_mb = (raw.get("seq") or {}).get("mb_per_s_median")
            res = self.k.execute(self.k.cells["seq"], timeout=a.seq_timeout)
            seq = {"n_stream": res["n_stream"], "bytes_received": res["bytes"], "bytes_expected": nbytes}
            if res["timeout"]:
                seq.update(ok=False, timeout=True, mb_per_s=None,
                           verdict=f"timeout after {a.seq_timeout:.0f} s ({res['bytes'] / 1e6:.2f} MB in"
                                   f" {res['n_stream']} messages so far)")
                self.log(seq["verdict"])
                runs.append(seq)
                self.restart("seq timed out")
                break
            seq.update(check_seq(res["text"], expected))
            seq["seconds"] = res["elapsed"]
            seq["mb_per_s"] = nbytes / 1e6 / res["elapsed"]
            if res.get("t_last_stream"):
                seq["first_stream_s"] = res["t_first_stream"] - res["t0"]
                seq["last_stream_s"] = res["t_last_stream"] - res["t0"]
            rep = self.k.reply(res["msg_id"])
            seq["reply_status"] = rep.get("status") if rep else None
            if raw_mb:
                seq["raw_pty_mb_per_s_before"] = raw_mb
                seq["ratio_to_raw_before"] = seq["mb_per_s"] / raw_mb
            runs.append(seq)
            self.log(f"seq: {seq['mb_per_s']:.3f} MB/s, {seq['n_stream']} messages, {seq['verdict']}")
            if res["elapsed"] >= a.seq_repeat_under:
                break
        del expected, res
        timed = sorted((r for r in runs if r.get("mb_per_s") is not None), key=lambda r: r["mb_per_s"])
        pick = dict(timed[(len(timed) - 1) // 2]) if timed else dict(runs[-1])
        bad = [r["verdict"] for r in runs if not r.get("ok")]
        if bad:  # any run that lost or garbled lines (or timed out) decides the verdict
            pick["ok"] = False
            pick["verdict"] = bad[0] + (f" ({len(bad)} of {len(runs)} runs)" if len(runs) > 1 else "")
        elif len(runs) > 1:
            pick["verdict"] += f" ({len(runs)} runs)"
        pick["runs"] = [{k: r.get(k) for k in ("mb_per_s", "n_stream", "verdict", "seconds", "first_stream_s",
                                                 "last_stream_s", "raw_pty_mb_per_s_before")} for r in runs]
        paired = [r["ratio_to_raw_before"] for r in runs if r.get("ratio_to_raw_before")]
        if paired:
            pick["ratio_to_adjacent_raw_pty"] = median(paired)
        self.r["seq"] = pick

        self.phase("interrupts")
        # 4. interrupts ---------------------------------------------------------------------------
        rows = [("interrupt_sleep", self.k.cells["sleep"])]
        if self.name not in LAB_KERNELS:
            self.r["interrupt_pid1"] = {"skipped": "skipped: would run on the host"}
        else:
            inside = self.shell_in_lab()
            if inside is True:
                rows.append(("interrupt_pid1", "unshare --pid --fork --mount-proc sleep 100"))
            else:
                self.r["interrupt_pid1"] = {"skipped": f"skipped: shell not in its own PID+mount namespace ({inside})"}
        for key, code in rows:
            self.r[key] = self.interrupt(code)
            self.log(f"{code!r}: {self.r[key]}")

    def subshell_round_trips(self):
        """`true` in a subshell (protocol 5.5), alone and beside a main shell busy with `sleep 60`."""
        a, k = self.args, self.k
        sub = k.control_request("create_subshell_request", {}).get("subshell_id")
        if not sub:
            self.r["errors"].append("create_subshell_request failed")
            return
        for _ in range(a.warmup):
            res = k.execute("true", timeout=10, subshell_id=sub)
            k.reply(res["msg_id"])
        for key, busy_main in (("rtt_subshell_true_ms", False), ("rtt_subshell_beside_busy_ms", True)):
            main_id = None
            if busy_main:
                main_id = k.start_cell("sleep 60")
                k.wait_state(main_id, "busy", 10)
            times, errors = [], 0
            for _ in range(a.rounds):
                res = k.execute("true", timeout=a.cell_timeout, subshell_id=sub)
                if res["timeout"]:
                    errors += 1
                    break
                times.append(res["elapsed"] * 1000)
                rep = k.reply(res["msg_id"])
                if not rep or rep.get("status") != "ok":
                    errors += 1
            if main_id:
                k.km.interrupt_kernel()
                k.wait_state(main_id, "idle", 10)
                k.reply(main_id)
            self.r[key] = {"median": median(times), "p95": p95(times), "n": len(times), "errors": errors}
            self.log(f"{key}: median {median(times) or 0:.2f} ms, p95 {p95(times) or 0:.2f} ms, {errors} errors")
        k.control_request("delete_subshell_request", {"subshell_id": sub})

    def shell_in_lab(self):
        """Safety check before the PID-1 row: the kernel's shell must be in another PID and
        mount namespace than this benchmark (a kernel that fell back to a host shell must never
        run `unshare --mount-proc`). True, or a reason."""
        mine = " ".join(os.readlink(f"/proc/self/ns/{n}") for n in ("pid", "mnt"))
        res = self.k.execute("readlink /proc/self/ns/pid /proc/self/ns/mnt", timeout=self.args.cell_timeout)
        if res["timeout"]:
            self.restart("namespace check timed out")
            return "check timed out"
        self.k.reply(res["msg_id"])
        theirs = res["text"].replace("\r\n", "\n").split()
        if len(theirs) != 2 or not all(t.startswith(("pid:[", "mnt:[")) for t in theirs):
            return f"unexpected answer {res['text'][:80]!r}"
        self.r["shell_namespaces"] = theirs
        if theirs[0] in mine or theirs[1] in mine:
            return f"same namespace as the host: {' '.join(theirs)}"
        return True

    def interrupt(self, code):
        k = self.k
        msg_id = k.start_cell(code)
        if k.wait_state(msg_id, "busy", 10) is None:
            self.restart("no busy for the cell")
            return {"ms": None, "verdict": "no busy status"}
        time.sleep(self.args.interrupt_delay)  # let the command really start
        k._remember()
        if hasattr(k.km, "_connect_control_socket"):
            k.km._connect_control_socket()  # connected before timing, as a client that is up
        t0 = time.perf_counter()
        k.km.interrupt_kernel()
        t1 = k.wait_state(msg_id, "idle", self.args.interrupt_timeout)
        if t1 is None:
            self.restart(f"interrupt of {code!r} did not bring idle")
            return {"ms": None, "verdict": f"timeout (no idle within {self.args.interrupt_timeout:.0f} s)"}
        rep = k.reply(msg_id)
        out = {"ms": (t1 - t0) * 1000, "reply_status": rep.get("status") if rep else None}
        # the kernel must still work afterwards
        res = k.execute(k.cells["alive"], timeout=10)
        if res["timeout"] or "alive" not in res["text"]:
            out["verdict"] = "kernel unusable after the interrupt"
            self.restart("kernel unusable after interrupt")
        else:
            k.reply(res["msg_id"])
            out["verdict"] = "ok"
        return out


# ------------------------------------------------------------------------------------------------
# raw PTY

def run_raw(args, only=None, seq_runs=None):
    cmd = ["node", os.path.join(HERE, "raw-pty.mjs"), "--seq-runs", str(seq_runs or args.raw_seq_runs),
           "--rounds", str(args.raw_rounds)] + (["--only", only] if only else [])
    try:
        p = subprocess.run(cmd, cwd=REPO, capture_output=True, timeout=240, text=True)
        return json.loads(p.stdout.strip().splitlines()[-1])
    except Exception as e:
        return {"error": f"{type(e).__name__}: {e}"}


# ------------------------------------------------------------------------------------------------
# report

def fmt(v, nd=1):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.{nd}f}"


def ratio(a, b):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b:
        r = a / b
        return f"{r:.3f}" if r < 0.1 else f"{r:.2f}"
    return ""


def rows_for(r):
    """(label, value, cell text) for one kernel's result."""
    def g(*path):
        x = r
        for p in path:
            if not isinstance(x, dict) or p not in x:
                return None
            x = x[p]
        return x

    seq = r.get("seq") or {}
    seq_text = seq.get("verdict", "-")

    def intr(key):
        x = r.get(key) or {}
        if "skipped" in x:
            return None, x["skipped"]
        if x.get("ms") is None:
            return None, x.get("verdict", "-")
        t = fmt(x["ms"])
        if x.get("verdict") not in (None, "ok"):
            t += f" ({x['verdict']})"
        return x["ms"], t

    def sub_rtt(key):
        x = r.get(key)
        if not x or x.get("median") is None:
            return None, "-"
        return x["median"], f"{fmt(x['median'], 2)} / {fmt(x['p95'], 2)}"

    rows = [
        ("startup → kernel_info_reply, median (ms)", g("startup_ms", "median")),
        ("startup → first `true` done, median (ms)", g("first_cell_ms", "median")),
        ("`true` round trip, median (ms)", g("rtt_true_ms", "median")),
        ("`true` round trip, p95 (ms)", g("rtt_true_ms", "p95")),
        ("`echo hi` round trip, median (ms)", g("rtt_echo_hi_ms", "median")),
        ("`echo hi` round trip, p95 (ms)", g("rtt_echo_hi_ms", "p95")),
        ("`true` in a subshell, median / p95 (ms)", sub_rtt("rtt_subshell_true_ms")),
        ("… beside a busy main shell, median / p95 (ms)", sub_rtt("rtt_subshell_beside_busy_ms")),
        ("seq 1 1000000: MB/s", seq.get("mb_per_s")),
        ("seq: ÷ raw PTY run just before (median)", seq.get("ratio_to_adjacent_raw_pty")),
        ("seq 1 1000000: stream messages", seq.get("n_stream")),
        ("seq 1 1000000: lines", (None, seq_text)),
        ("interrupt `sleep 100` (ms)", intr("interrupt_sleep")),
        ("interrupt PID-1 sleep (ms)", intr("interrupt_pid1")),
        ("peak RSS, kernel + descendants (MB)", g("memory", "peak_rss_mb")),
        ("RSS after start, idle (MB)", g("idle_rss_mb")),
    ]
    out = []
    for label, v in rows:
        if isinstance(v, tuple):
            out.append((label, v[0], v[1]))
        elif label.endswith("messages"):
            out.append((label, v, "-" if v is None else str(v)))
        else:
            out.append((label, v, fmt(v, 2)))
    return out


def raw_rows(raw):
    seq = raw.get("seq") or {}
    loop = raw.get("true_loop") or {}
    m = {
        "`true` round trip, median (ms)": loop.get("median_ms"),
        "`true` round trip, p95 (ms)": loop.get("p95_ms"),
        "seq 1 1000000: MB/s": seq.get("mb_per_s_median"),
    }
    t = {k: fmt(v, 2) for k, v in m.items()}
    if seq:
        t["seq 1 1000000: stream messages"] = f"({fmt(seq.get('avg_chunk'))} B reads)"
        t["seq 1 1000000: lines"] = ("complete" if not seq.get("incomplete_runs")
                                     else f"{seq['incomplete_runs']} runs lost bytes at exit")
    return m, t


def print_table(results, raw):
    names = [r["kernelspec"] for r in results]
    per = [rows_for(r) for r in results]
    labels = [row[0] for row in per[0]] if per else []
    header = ["metric"] + names
    for n in names[1:]:
        header.append(f"{n}/{names[0]}")
    raw_m, raw_t = raw_rows(raw) if raw and "error" not in raw else ({}, {})
    if raw is not None:
        header += ["raw PTY", f"{names[0]}/raw"] if names else ["raw PTY"]
    table = []
    for i, label in enumerate(labels):
        row = [label] + [p[i][2] for p in per]
        first = per[0][i][1]
        for p in per[1:]:
            row.append(ratio(p[i][1], first) if "lines" not in label else "")
        if raw is not None:
            row.append(raw_t.get(label, ""))
            row.append(ratio(first, raw_m.get(label)))
        table.append(row)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *table)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in table:
        print(line(row))


def targets(results, raw):
    """The issue's targets, for the first kernel against the second (the peer) and the raw PTY."""
    if not results:
        return []
    me = results[0]
    if "startup_ms" not in me:
        return []
    peer = results[1] if len(results) > 1 else None
    if peer is not None and "startup_ms" not in peer:
        peer = None
    out = []

    def get(r, *path):
        for p in path:
            if not isinstance(r, dict):
                return None
            r = r.get(p)
        return r

    def chk(label, ok, detail):
        out.append({"target": label, "met": ok, "detail": detail})

    t_me = get(me, "rtt_true_ms", "median")
    if peer:
        t_peer = get(peer, "rtt_true_ms", "median")
        if t_me is not None and t_peer:
            chk("`true` ≤ 0.05 × peer", t_me <= 0.05 * t_peer, f"{t_me:.2f} / {t_peer:.2f} = {t_me / t_peer:.3f}")
        for key, what in (("startup_ms", "startup (kernel_info_reply)"),
                          ("first_cell_ms", "startup incl. first cell (lab created)")):
            s_me, s_peer = get(me, key, "median"), get(peer, key, "median")
            if s_me is not None and s_peer:
                chk(f"{what} ≤ 0.1 × peer", s_me <= 0.1 * s_peer,
                    f"{s_me:.0f} / {s_peer:.0f} = {s_me / s_peer:.3f}")
        m_me, m_peer = get(me, "memory", "peak_rss_mb"), get(peer, "memory", "peak_rss_mb")
        if m_me is not None and m_peer:
            chk("peak memory ≤ peer", m_me <= m_peer, f"{m_me:.1f} MB vs {m_peer:.1f} MB")
    t_raw = get(raw, "true_loop", "median_ms")
    if t_me is not None and t_raw is not None:
        chk("`true` within a few ms of raw PTY (≤ raw + 3 ms)", t_me <= t_raw + 3,
            f"{t_me:.2f} ms vs raw {t_raw:.2f} ms")
    mb, mb_raw = get(me, "seq", "mb_per_s"), get(raw, "seq", "mb_per_s_median")
    paired = get(me, "seq", "ratio_to_adjacent_raw_pty")
    if paired is not None:
        chk("throughput ≥ 0.7 × raw PTY (each seq run ÷ a raw PTY run just before it)", paired >= 0.7,
            f"median ratio {paired:.2f}" + (f"; vs the raw PTY column: {mb:.2f} / {mb_raw:.2f} = {mb / mb_raw:.2f}"
                                            if mb is not None and mb_raw else ""))
    elif mb is not None and mb_raw:
        chk("throughput ≥ 0.7 × raw PTY", mb >= 0.7 * mb_raw, f"{mb:.2f} / {mb_raw:.2f} = {mb / mb_raw:.2f}")
    seq = get(me, "seq") or {}
    if seq:
        chk("output complete and in order", bool(seq.get("ok")), seq.get("verdict"))
        n = seq.get("n_stream")
        if n is not None:
            chk("messages coalesced (≤ 1% of lines)", n <= SEQ_N // 100, f"{n} messages for {SEQ_N} lines")
    i1 = get(me, "interrupt_sleep", "ms")
    chk("interrupt `sleep 100` ≤ 50 ms", i1 is not None and i1 <= 50,
        f"{i1:.1f} ms" if i1 is not None else get(me, "interrupt_sleep", "verdict"))
    ip = get(me, "interrupt_pid1")
    if ip and "skipped" not in ip:
        v = ip.get("ms")
        chk("interrupt PID-1 sleep ≤ 1 s", v is not None and v <= 1000,
            f"{v:.1f} ms" if v is not None else ip.get("verdict"))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kernels", nargs="*", default=None, help="kernelspec names (default: nslab)")
    ap.add_argument("--json", metavar="PATH", help="write all results as JSON")
    ap.add_argument("--starts", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--start-timeout", type=float, default=60.0)
    ap.add_argument("--cell-timeout", type=float, default=10.0)
    ap.add_argument("--seq-timeout", type=float, default=300.0)
    ap.add_argument("--seq-runs", type=int, default=3, help="seq runs (median), if each is fast")
    ap.add_argument("--seq-repeat-under", type=float, default=20.0,
                    help="repeat seq only while a run takes less than this (s)")
    ap.add_argument("--interrupt-timeout", type=float, default=15.0)
    ap.add_argument("--interrupt-delay", type=float, default=0.5,
                    help="seconds between the cell's busy and the interrupt (not timed)")
    ap.add_argument("--no-raw", action="store_true", help="skip the raw PTY measurements")
    ap.add_argument("--subshells", action="store_true", help="also time `true` in a kernel subshell (protocol 5.5)")
    ap.add_argument("--raw-rounds", type=int, default=300)
    ap.add_argument("--raw-seq-runs", type=int, default=3)
    ap.add_argument("--log-dir", help="kernel stdout/stderr logs (default: a new temp dir)")
    ap.add_argument("--_sample-tree", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--_interval", type=float, default=0.02, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._sample_tree:
        sampler_main(args._sample_tree, args._interval)
        return 0
    names = args.kernels or ["nslab"]
    log_dir = args.log_dir or tempfile.mkdtemp(prefix="nslab-bench-")
    os.makedirs(log_dir, exist_ok=True)

    from jupyter_client.kernelspec import KernelSpecManager
    specs = KernelSpecManager().find_kernel_specs()
    print(f"kernel logs: {log_dir}", file=sys.stderr)

    load0 = os.getloadavg()
    raw = None
    if not args.no_raw:
        print("[raw PTY] node-pty alone ...", file=sys.stderr, flush=True)
        raw = run_raw(args)
        if "error" in raw:
            print(f"[raw PTY] {raw['error']}", file=sys.stderr)

    results = []
    for n in names:
        if n not in specs:
            print(f"[{n}] no such kernelspec (known: {', '.join(sorted(specs))})", file=sys.stderr)
            results.append({"kernelspec": n, "errors": ["no such kernelspec"]})
            continue
        results.append(Bench(n, args, log_dir).run())

    print()
    print(f"nslab benchmark — {time.strftime('%Y-%m-%d %H:%M')} — {os.uname().nodename}, "
          f"{os.cpu_count()} CPUs, jupyter_client {__import__('jupyter_client').__version__}, "
          f"load average {load0[0]:.1f} at start, {os.getloadavg()[0]:.1f} at end")
    print()
    print_table(results, raw)
    if raw and "seq_raw_mode" in raw:
        rm = raw["seq_raw_mode"]
        print(f"\nraw PTY after `stty raw`: {fmt(rm.get('mb_per_s'), 2)} MB/s"
              + ("" if rm.get("complete") else f" ({rm.get('bytes_missing')} bytes never arrived after exit)"))
    print()
    for r in results:
        extra = []
        if r.get("restarts"):
            extra.append(f"{r['restarts']} kernel restarts after timeouts")
        if r.get("errors"):
            extra.append("errors: " + "; ".join(r["errors"]))
        for key in ("rtt_true_ms", "rtt_echo_hi_ms"):
            x = r.get(key) or {}
            if x.get("wrong_output") or x.get("error_replies") or x.get("timeouts"):
                extra.append(f"{key}: {x.get('wrong_output')} wrong outputs, {x.get('error_replies')} "
                             f"error replies, {x.get('timeouts')} timeouts")
        mem = r.get("memory") or {}
        if mem.get("peak_by_phase_mb"):
            extra.append("peak RSS by phase: " + ", ".join(f"{k} {v:.1f} MB" for k, v in mem["peak_by_phase_mb"].items())
                         + "; at the peak: " + ", ".join(f"{c} {m:.1f}" for c, m in mem.get("peak_breakdown_mb", [])))
        if extra:
            print(f"{r['kernelspec']}: " + " | ".join(extra))
    tg = targets(results, raw)
    if tg:
        print(f"\ntargets for {results[0]['kernelspec']} (issue 7):")
        for t in tg:
            print(f"  [{'met' if t['met'] else 'NOT met'}] {t['target']}: {t['detail']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"when": time.time(), "host": os.uname().nodename, "cpus": os.cpu_count(),
                       "loadavg_start": load0, "loadavg_end": os.getloadavg(), "kernels": results,
                       "raw_pty": raw, "targets": tg}, f, indent=1)
        print(f"\nJSON written to {args.json}")
    return 2 if any("no such kernelspec" in r.get("errors", []) for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
