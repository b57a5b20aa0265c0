#!/usr/bin/env python3
"""Scenario driver for test/e2e/jupyter-client.test.ts: nslab through jupyter_client (the project's .venv).

Nothing of nslab's own code is used: kernels are started, interrupted, restarted and shut down by
jupyter_client's KernelManager (from the `nslab` kernelspec found through JUPYTER_PATH), and
every message goes through its BlockingKernelClient and Session. The few messages no client
method sends (kernel_info on control, a wrong signature, an unknown msg_type) are built with that
client's Session and sent on its sockets.

Protocol (test/helpers/python-driver.ts): one JSON request per line on stdin,
{"id": N, "scenario": NAME, "args": {...}}; one JSON answer per line on fd 3. Scenarios only
observe and return what they saw; the assertions are in the mocha test. EOF on stdin: every
kernel is shut down (shutdown_request, then kill after jupyter_client's grace time) and the
driver exits.

Waiting is event-driven: a zmq.Poller over the client's sockets, with a deadline per scenario.
"""

import json
import os
import signal
import sys
import time
import traceback

import zmq
from jupyter_client.manager import KernelManager
from jupyter_client.session import Session

TIMEOUT = 15.0
OUT = os.fdopen(3, "w", buffering=1)
KERNELS = []  # every Kernel started, closed at exit
_shared = None


class ScenarioTimeout(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# processes (read from /proc, to check that a kernel and its lab are gone)


def proc_children():
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rindex(")") + 2:].split()
        kids.setdefault(int(fields[1]), []).append((int(name), int(fields[19]), fields[0]))
    return kids


def tree(pid):
    """pid and its descendants, as (pid, starttime, cmdline) triples."""
    kids = proc_children()
    out, todo = [], [pid]
    start = stat_start(pid)
    if start is not None:
        out.append((pid, start, cmdline(pid)))
    while todo:
        for child, st, _state in kids.get(todo.pop(), []):
            out.append((child, st, cmdline(child)))
            todo.append(child)
    return out


def stat_start(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    fields = s[s.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def alive(procs):
    return [(p, s, c) for p, s, c in procs if stat_start(p) == s]


def wait_gone(procs, timeout):
    deadline = time.monotonic() + timeout
    while True:
        left = alive(procs)
        if not left or time.monotonic() >= deadline:
            return [f"{p} {c}" for p, _, c in left]
        time.sleep(0.05)


# ---------------------------------------------------------------------------------------------
# kernels and messages


class Kernel:
    def __init__(self):
        self.km = KernelManager(kernel_name="nslab")
        KERNELS.append(self)
        t0 = time.monotonic()
        self.km.start_kernel()
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=30)
        self.ready_ms = round((time.monotonic() - t0) * 1000)
        self.closed = False
        self._poller = None

    @property
    def pid(self):
        return self.km.provisioner.process.pid

    def sockets(self):
        kc = self.kc
        return {
            "shell": kc.shell_channel.socket,
            "control": kc.control_channel.socket,
            "stdin": kc.stdin_channel.socket,
            "iopub": kc.iopub_channel.socket,
        }

    def poller(self):
        if self._poller is None:
            self._poller = zmq.Poller()
            for s in self.sockets().values():
                self._poller.register(s, zmq.POLLIN)
        return self._poller

    def close(self):
        if self.closed:
            return
        self.closed = True
        try:
            self.kc.stop_channels()
        except Exception:
            pass
        try:
            if self.km.has_kernel:
                self.km.shutdown_kernel(now=False)
        except Exception:
            traceback.print_exc()
            try:
                self.km.provisioner.process.kill()
            except Exception:
                pass


def shared():
    global _shared
    if _shared is None or _shared.closed or not _shared.km.is_alive():
        if _shared is not None:
            _shared.close()
        _shared = Kernel()
    return _shared


GETTERS = {"shell": "get_shell_msg", "control": "get_control_msg", "stdin": "get_stdin_msg", "iopub": "get_iopub_msg"}
# Messages on one socket arrive in the order the kernel sent them; across sockets ZeroMQ
# promises no order (a reply sent before `idle` may be read after it), so the tests compare
# cross-channel order by the kernel's header.date.
READ_ORDER = ("shell", "control", "stdin", "iopub")


def record(channel, msg, t0):
    parent = msg.get("parent_header") or {}
    return {
        "channel": channel,
        "msg_type": msg["header"]["msg_type"],
        "msg_id": msg["header"]["msg_id"],
        "parent": {k: parent.get(k) for k in ("msg_id", "msg_type", "session", "username")} if parent else {},
        "content": msg["content"],
        "ms": round((time.monotonic() - t0) * 1000, 1),
        # When the kernel made it (header.date, parsed by jupyter_client), in seconds.
        "date": msg["header"]["date"].timestamp() if hasattr(msg["header"].get("date"), "timestamp") else None,
    }


def header_of(msg):
    h = msg["header"]
    return {k: h.get(k) for k in ("msg_id", "msg_type", "session", "username")}


def drain(k):
    """Discard whatever earlier scenarios left unread."""
    for ch in READ_ORDER:
        while True:
            try:
                getattr(k.kc, GETTERS[ch])(timeout=0)
            except Exception:
                break


def pump(k, done, timeout=TIMEOUT, on_msg=None, t0=None):
    """Read messages from all channels in arrival order until done(records) is true."""
    t0 = t0 if t0 is not None else time.monotonic()
    records = []
    deadline = time.monotonic() + timeout
    socks = k.sockets()
    while not done(records):
        left = deadline - time.monotonic()
        if left <= 0:
            seen = [(r["channel"], r["msg_type"], r["content"].get("execution_state", "")) for r in records]
            raise ScenarioTimeout(f"waited {timeout} s; messages seen: {seen}")
        ready = dict(k.poller().poll(left * 1000))
        for ch in READ_ORDER:
            if socks[ch] not in ready:
                continue
            while True:  # everything this socket holds now
                try:
                    m = getattr(k.kc, GETTERS[ch])(timeout=0)
                except Exception:
                    break
                r = record(ch, m, t0)
                records.append(r)
                if on_msg:
                    on_msg(r)
    return records


def finished(ids, channel="shell"):
    """done() for: every request in ids has its reply and its iopub idle."""
    ids = set(ids)

    def done(records):
        replied = {r["parent"].get("msg_id") for r in records if r["channel"] == channel and r["msg_type"].endswith("_reply")}
        idle = {r["parent"].get("msg_id") for r in records if r["channel"] == "iopub" and r["msg_type"] == "status" and r["content"]["execution_state"] == "idle"}
        return ids <= replied and ids <= idle

    return done


def send(k, channel, msg_type, content=None, session=None):
    """A message no client method sends: built with the client's Session (or another one)."""
    s = session or k.kc.session
    msg = s.msg(msg_type, content or {})
    s.send(k.sockets()[channel], msg)
    return msg


# ---------------------------------------------------------------------------------------------
# scenarios


def sc_start():
    k = shared()
    return {"pid": k.pid, "ready_ms": k.ready_ms}


def sc_kernel_info(channel="shell"):
    k = shared()
    drain(k)
    t0 = time.monotonic()
    msg = send(k, channel, "kernel_info_request")
    records = pump(k, finished([msg["header"]["msg_id"]], channel), t0=t0)
    return {"request": header_of(msg), "records": records}


def sc_execute(code, allow_stdin=False, silent=False, store_history=True, stop_on_error=True,
               user_expressions=None, answers=None, stdin_grace=0.0, timeout=TIMEOUT, fresh=False):
    """One execute_request through kc.execute; input_requests are answered with kc.input()."""
    k = Kernel() if fresh else shared()
    try:
        drain(k)
        answers = list(answers or [])
        t0 = time.monotonic()
        msg_id = k.kc.execute(code, silent=silent, store_history=store_history, allow_stdin=allow_stdin,
                              stop_on_error=stop_on_error, user_expressions=user_expressions or {})

        def on_msg(r):
            if r["channel"] == "stdin" and r["msg_type"] == "input_request" and answers:
                k.kc.input(answers.pop(0))

        records = pump(k, finished([msg_id]), timeout=timeout, on_msg=on_msg, t0=t0)
        if stdin_grace:
            # Nothing more may come on stdin for this cell (absence cannot be awaited otherwise).
            try:
                records += pump(k, lambda rs: any(r["channel"] == "stdin" for r in rs), timeout=stdin_grace, t0=t0)
            except ScenarioTimeout:
                pass
        return {"msg_id": msg_id, "records": records, "ms": round((time.monotonic() - t0) * 1000)}
    finally:
        if fresh:
            k.close()


def sc_execute_many(codes, stop_on_error=True):
    """Several execute_requests sent back to back, before the first one can finish."""
    k = shared()
    drain(k)
    t0 = time.monotonic()
    ids = [k.kc.execute(c, stop_on_error=stop_on_error) for c in codes]
    records = pump(k, finished(ids), t0=t0)
    return {"msg_ids": ids, "records": records}


def sc_interrupt(how, code="echo started; sleep 100", marker="started"):
    """Run a long cell; once its output shows it runs, interrupt it: km.interrupt_kernel()
    (interrupt_mode message: an interrupt_request on control) or SIGINT to the kernel process."""
    k = shared()
    drain(k)
    t0 = time.monotonic()
    msg_id = k.kc.execute(code)
    records = pump(k, lambda rs: any(r["msg_type"] == "stream" and marker in r["content"]["text"] for r in rs), t0=t0)
    t_int = time.monotonic()
    if how == "message":
        k.km.interrupt_kernel()
    elif how == "sigint":
        os.kill(k.pid, signal.SIGINT)
    else:
        raise ValueError(how)
    rest = pump(k, finished([msg_id]), t0=t0)
    reply = next(r for r in rest if r["channel"] == "shell" and r["parent"].get("msg_id") == msg_id)
    return {
        "msg_id": msg_id,
        "interrupt_mode": k.km.kernel_spec.interrupt_mode,
        "records": records + rest,
        "reply_ms_after_interrupt": round(reply["ms"] - (t_int - t0) * 1000, 1),
    }


def sc_shutdown(restart):
    """A raw shutdown_request on control (kc.shutdown): the reply, then the kernel process and its
    lab must end by themselves."""
    k = Kernel()
    try:
        drain(k)
        sc = k.kc.execute("sleep 0.05; echo ready")
        pump(k, finished([sc]))
        procs = tree(k.pid)
        t0 = time.monotonic()
        msg_id = k.kc.shutdown(restart=restart)
        records = pump(k, lambda rs: any(r["channel"] == "control" and r["parent"].get("msg_id") == msg_id for r in rs), t0=t0)
        try:
            code = k.km.provisioner.process.wait(timeout=10)
        except Exception:
            code = None
        exit_ms = round((time.monotonic() - t0) * 1000)
        return {
            "msg_id": msg_id,
            "records": records,
            "exit_code": code,
            "exit_ms": exit_ms,
            "processes_before": [f"{p} {c}" for p, _, c in procs],
            "left": wait_gone(procs, 5),
        }
    finally:
        k.close()


def sc_restart():
    """km.restart_kernel(): nested shells first, then a fresh lab must answer `echo $$` with 2."""
    k = Kernel()
    try:
        out = {}

        def run(code):
            drain(k)
            mid = k.kc.execute(code)
            recs = pump(k, finished([mid]))
            return {
                "status": next(r["content"]["status"] for r in recs if r["channel"] == "shell" and r["parent"].get("msg_id") == mid),
                "stdout": "".join(r["content"]["text"] for r in recs if r["msg_type"] == "stream" and r["content"]["name"] == "stdout" and r["parent"].get("msg_id") == mid),
            }

        out["nested"] = [run("bash"), run("bash"), run("echo $$")]
        out["old_pid"] = k.pid
        old = tree(k.pid)
        out["old_processes"] = [f"{p} {c}" for p, _, c in old]
        t0 = time.monotonic()
        k.km.restart_kernel(now=False)
        k.kc.wait_for_ready(timeout=30)
        out["restart_ms"] = round((time.monotonic() - t0) * 1000)
        out["new_pid"] = k.pid
        out["old_left"] = wait_gone(old, 5)
        out["after"] = run("echo $$; hostname")
        return out
    finally:
        k.close()


def sc_is_complete(samples):
    k = shared()
    drain(k)
    out = []
    for code in samples:
        msg_id = k.kc.is_complete(code)
        recs = pump(k, finished([msg_id]))
        out.append({"code": code, "reply": next(r["content"] for r in recs if r["channel"] == "shell" and r["parent"].get("msg_id") == msg_id)})
    return out


def sc_request(method, **kwargs):
    """One of the client's request methods (complete, inspect, history, comm_info, kernel_info)."""
    k = shared()
    drain(k)
    t0 = time.monotonic()
    msg_id = getattr(k.kc, method)(**kwargs)
    return {"msg_id": msg_id, "records": pump(k, finished([msg_id]), t0=t0)}


def sc_bad_input():
    """Messages the kernel must drop or merely log; then kernel_info must still be answered."""
    k = shared()
    drain(k)
    key = k.kc.session.key
    wrong = Session(key=b"not-" + key, signature_scheme=k.kc.session.signature_scheme)
    unsigned = Session(key=b"")
    bad = {
        "wrong_key_execute_shell": send(k, "shell", "execute_request", exec_content("echo BAD-SIGNATURE-RAN"), session=wrong),
        "wrong_key_kernel_info_shell": send(k, "shell", "kernel_info_request", session=wrong),
        "unsigned_execute_shell": send(k, "shell", "execute_request", exec_content("echo UNSIGNED-RAN"), session=unsigned),
        "wrong_key_kernel_info_control": send(k, "control", "kernel_info_request", session=wrong),
        "wrong_key_shutdown_control": send(k, "control", "shutdown_request", {"restart": False}, session=wrong),
        "wrong_key_input_reply_stdin": send(k, "stdin", "input_reply", {"value": "x"}, session=wrong),
    }
    unknown = send(k, "shell", "nslab_no_such_request", {})
    t0 = time.monotonic()
    good_shell = send(k, "shell", "kernel_info_request")
    good_control = send(k, "control", "kernel_info_request")
    good_ids = [good_shell["header"]["msg_id"], good_control["header"]["msg_id"]]

    def done(records):
        replied = {r["parent"].get("msg_id") for r in records if r["msg_type"] == "kernel_info_reply"}
        idle = {r["parent"].get("msg_id") for r in records if r["msg_type"] == "status" and r["content"]["execution_state"] == "idle"}
        return set(good_ids) <= replied and set(good_ids) <= idle

    records = pump(k, done, t0=t0)
    return {
        "bad_ids": {name: m["header"]["msg_id"] for name, m in bad.items()},
        "unknown_id": unknown["header"]["msg_id"],
        "good_ids": good_ids,
        "records": records,
        "kernel_alive": k.km.is_alive(),
    }


def exec_content(code):
    return {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}


SCENARIOS = {
    "start": sc_start,
    "kernel_info": sc_kernel_info,
    "execute": sc_execute,
    "execute_many": sc_execute_many,
    "interrupt": sc_interrupt,
    "shutdown": sc_shutdown,
    "restart": sc_restart,
    "is_complete": sc_is_complete,
    "request": sc_request,
    "bad_input": sc_bad_input,
}


def close_all():
    for k in KERNELS:
        k.close()


def main():
    signal.signal(signal.SIGTERM, lambda *_: (close_all(), os._exit(1)))
    OUT.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            result = SCENARIOS[req["scenario"]](**req.get("args", {}))
            answer = {"id": req["id"], "ok": True, "result": result}
        except Exception:
            answer = {"id": req["id"], "ok": False, "error": traceback.format_exc()}
        OUT.write(json.dumps(answer, default=str) + "\n")
    close_all()
    OUT.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: jupyter_client's __del__ hooks print noise when run at exit.
    os._exit(0)


if __name__ == "__main__":
    main()
