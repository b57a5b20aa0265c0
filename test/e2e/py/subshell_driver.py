#!/usr/bin/env python3
"""Scenario driver for test/e2e/subshells.test.ts: kernel subshells (JEP 91, protocol 5.5) of nslab
through jupyter_client (the project's .venv), never through nslab's own protocol code.

The harness (kernels, the event-driven pump, the line protocol on stdin and fd 3) is
client_driver.py's; this file adds the subshell scenarios. jupyter_client has no methods for
subshells: their control requests and the `subshell_id` header field are built with the
client's own Session, as JupyterLab's services do. Scenarios only observe and return what they
saw; the assertions are in the mocha test.
"""

import time

import client_driver as cd
from client_driver import Kernel, drain, finished, pump, tree, wait_gone

_record = cd.record


def record(channel, msg, t0):
    """client_driver's record, with the parent's subshell_id (which subshell a message is for)."""
    r = _record(channel, msg, t0)
    if r["parent"]:
        r["parent"]["subshell_id"] = (msg.get("parent_header") or {}).get("subshell_id")
    return r


cd.record = record


def control(k, msg_type, content=None, into=None):
    """A control request and its reply content (after its idle). Everything read meanwhile is
    added to `into`, if given (messages of cells still running)."""
    msg = k.kc.session.msg(msg_type, content or {})
    k.kc.control_channel.send(msg)
    mid = msg["header"]["msg_id"]
    recs = pump(k, finished([mid], "control"))
    if into is not None:
        into += recs
    return next(r["content"] for r in recs if r["channel"] == "control" and r["parent"].get("msg_id") == mid)


def execute_in(k, code, subshell_id=None, stop_on_error=True, msg_type="execute_request", content=None):
    """An execute_request for a subshell (subshell_id in the header, as JupyterLab sends it); its msg_id."""
    body = content if content is not None else cd.exec_content(code)
    body["stop_on_error"] = stop_on_error
    msg = k.kc.session.msg(msg_type, body)
    msg["header"]["subshell_id"] = subshell_id
    k.kc.shell_channel.send(msg)
    return msg["header"]["msg_id"]


def stdout_of(records, mid, name="stdout"):
    return "".join(r["content"]["text"] for r in records if r["msg_type"] == "stream" and r["content"]["name"] == name and r["parent"].get("msg_id") == mid)


def reply_of(records, mid):
    return next(r["content"] for r in records if r["channel"] == "shell" and r["parent"].get("msg_id") == mid)


def wait_output(k, mid, text, records):
    """Pump until the cell `mid` printed `text`; the records read are added to `records`."""
    records += pump(k, lambda rs: text in stdout_of(records + rs, mid))


def sc_create_use_list_delete():
    """Two subshells beside the main shell: made, used at once (each sleeps 1 s), listed,
    deleted; then a cell sent to a deleted one."""
    k = Kernel()
    try:
        out = {"created": [control(k, "create_subshell_request") for _ in range(2)]}
        a, b = (c["subshell_id"] for c in out["created"])
        out["listed"] = control(k, "list_subshell_request")
        t0 = time.monotonic()
        ids = {
            "a": execute_in(k, "echo A in terminal $NSLAB_TERMINAL; sleep 1; echo A done", a),
            "b": execute_in(k, "echo B in terminal $NSLAB_TERMINAL; sleep 1; echo B done", b),
            "main": execute_in(k, "echo main in terminal $NSLAB_TERMINAL; sleep 1; echo main done"),
        }
        out["records"] = pump(k, finished(ids.values()), t0=t0)
        out["ids"] = ids
        out["concurrent_ms"] = round((time.monotonic() - t0) * 1000)
        second = execute_in(k, "echo second", a)
        out["second"] = {"msg_id": second, "records": pump(k, finished([second]))}
        picture = execute_in(k, "nstree --text")
        out["nstree"] = stdout_of(pump(k, finished([picture])), picture)
        out["deleted"] = control(k, "delete_subshell_request", {"subshell_id": a})
        out["listed_after"] = control(k, "list_subshell_request")
        late = execute_in(k, "echo too late", a)
        out["late"] = {"msg_id": late, "records": pump(k, finished([late]))}
        out["deleted_b"] = control(k, "delete_subshell_request", {"subshell_id": b})
        out["delete_main"] = control(k, "delete_subshell_request", {"subshell_id": None})
        out["listed_end"] = control(k, "list_subshell_request")
        return out
    finally:
        k.close()


def sc_kill_across():
    """The seed's two-terminal step with a subshell: `sleep 1000` in one shell, found and killed
    from the other; once from the main shell, once the other way round."""
    k = Kernel()
    try:
        sub = control(k, "create_subshell_request")["subshell_id"]
        out = {}
        for name, sleeper, killer in (("main kills subshell", sub, None), ("subshell kills main", None, sub)):
            drain(k)
            records = []
            t0 = time.monotonic()
            sleeping = execute_in(k, "echo sleeping in $NSLAB_TERMINAL; sleep 1000", sleeper, stop_on_error=False)
            wait_output(k, sleeping, "sleeping", records)
            kill = execute_in(k, "pgrep -x sleep; kill $(pgrep -x sleep); echo killed", killer)
            records += pump(k, finished([sleeping, kill]), t0=t0)
            out[name] = {"sleeping": sleeping, "kill": kill, "records": records, "ms": round((time.monotonic() - t0) * 1000)}
        return out
    finally:
        k.close()


def sc_delete_ends_processes():
    """Processes started in a subshell (foreground, background, setsid) end when it is deleted."""
    k = Kernel()
    try:
        sub = control(k, "create_subshell_request")["subshell_id"]
        records = []
        bg = execute_in(k, "sleep 1001 & setsid sleep 1002 & nohup sleep 1003 >/dev/null 2>&1 & echo started", sub)
        records += pump(k, finished([bg]))
        fg = execute_in(k, "echo running; sleep 1004", sub, stop_on_error=False)
        wait_output(k, fg, "running", records)
        # `echo running` comes a moment before the sleep starts: wait for all four to run.
        deadline = time.monotonic() + 5
        while True:
            before = [c for _, _, c in tree(k.pid) if c.startswith("sleep 100")]
            if len(before) >= 4 or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        deleted = control(k, "delete_subshell_request", {"subshell_id": sub}, into=records)
        records += pump(k, lambda rs: finished([fg])(records + rs))
        after_reply = [c for _, _, c in tree(k.pid) if c.startswith("sleep 100")]
        ps = execute_in(k, "ps -eo args | grep -c '^sleep 100' || true")
        ps_records = pump(k, finished([ps]))
        return {
            "before": before, "deleted": deleted, "after_reply": after_reply,
            "fg": fg, "records": records, "ps_in_lab": stdout_of(ps_records, ps),
        }
    finally:
        k.close()


def sc_many_creates(count):
    """`count` create_subshell_requests at once: the free terminals, then errors; then the kernel
    still runs a cell, and deleting them all leaves no shell of theirs."""
    k = Kernel()
    try:
        before = len(tree(k.pid))
        msgs = [k.kc.session.msg("create_subshell_request", {}) for _ in range(count)]
        t0 = time.monotonic()
        for m in msgs:
            k.kc.control_channel.send(m)
        ids = [m["header"]["msg_id"] for m in msgs]
        records = pump(k, finished(ids, "control"), timeout=60)
        replies = [next(r["content"] for r in records if r["channel"] == "control" and r["parent"].get("msg_id") == i) for i in ids]
        out = {"replies": replies, "ms": round((time.monotonic() - t0) * 1000)}
        ok = [r["subshell_id"] for r in replies if r.get("status") == "ok"]
        # Each subshell's shell runs.
        cells = [execute_in(k, "echo $NSLAB_TERMINAL", s) for s in ok]
        recs = pump(k, finished(cells), timeout=60)
        out["terminals"] = [stdout_of(recs, c).strip() for c in cells]
        alive = execute_in(k, "echo alive")
        out["alive"] = stdout_of(pump(k, finished([alive])), alive)
        out["processes_with_subshells"] = len(tree(k.pid))
        out["deleted"] = [control(k, "delete_subshell_request", {"subshell_id": s}) for s in ok]
        out["listed"] = control(k, "list_subshell_request")
        out["processes_before"] = before
        out["processes_after"] = len(tree(k.pid))
        return out
    finally:
        k.close()


def sc_restart_with_subshells():
    """A restart while a subshell runs a cell and has one queued; cells sent to it after the restart."""
    k = Kernel()
    try:
        sub = control(k, "create_subshell_request")["subshell_id"]
        records = []
        running = execute_in(k, "echo running; sleep 1000", sub, stop_on_error=False)
        wait_output(k, running, "running", records)
        queued = execute_in(k, "echo queued", sub)
        old = tree(k.pid)
        k.km.restart_kernel(now=False)
        # The old kernel's answers wait in the client's sockets: read them before wait_for_ready,
        # which throws away every shell message but its kernel_info_reply.
        records += pump(k, finished([running, queued]), timeout=30)
        k.kc.wait_for_ready(timeout=30)
        after = execute_in(k, "echo after", sub)
        records += pump(k, finished([after]), timeout=30)
        out = {"running": running, "queued": queued, "after": after, "records": records}
        out["old_left"] = wait_gone(old, 5)
        out["listed"] = control(k, "list_subshell_request")
        out["created"] = control(k, "create_subshell_request")
        return out
    finally:
        k.close()


cd.SCENARIOS.update({
    "create_use_list_delete": sc_create_use_list_delete,
    "kill_across": sc_kill_across,
    "delete_ends_processes": sc_delete_ends_processes,
    "many_creates": sc_many_creates,
    "restart_with_subshells": sc_restart_with_subshells,
})

if __name__ == "__main__":
    cd.main()
