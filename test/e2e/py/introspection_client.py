#!/usr/bin/env python3
"""Client for test/e2e/introspection.test.ts: nslab through jupyter_client (the project's .venv).

Starts one `nslab` kernel from the kernelspec found through JUPYTER_PATH (KernelManager), then
answers requests, one JSON object per line on stdin:

  {"id": N, "op": "execute", "code": "...", "timeout": 30}
  {"id": N, "op": "complete", "code": "...", "cursor_pos": K}
  {"id": N, "op": "inspect", "code": "...", "cursor_pos": K}
  {"id": N, "op": "is_complete", "code": "..."}

with one JSON line on file descriptor 3 (the kernel inherits stdout and stderr, not fd 3):
{"id": N, "ok": true, "reply": CONTENT, "ms": ELAPSED, "stdout": TEXT}, after a first
{"ready": true, "pid": KERNEL_PID}. Every message goes through BlockingKernelClient; the
assertions are in the mocha test. EOF on stdin: the kernel is shut down and the client exits.
"""

import json
import os
import sys
import time
import traceback

from jupyter_client.manager import KernelManager

OUT = os.fdopen(3, "w", buffering=1)


def answer(obj):
    OUT.write(json.dumps(obj) + "\n")


def reply_to(kc, msg_id, timeout):
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no reply to {msg_id} within {timeout} s")
        msg = kc.get_shell_msg(timeout=left)
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg["content"]


def handle(kc, req):
    op = req["op"]
    timeout = float(req.get("timeout", 30))
    t0 = time.monotonic()
    out = []
    if op == "execute":

        def hook(msg):
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])

        reply = kc.execute_interactive(req["code"], timeout=timeout, output_hook=hook, allow_stdin=False)["content"]
    elif op == "complete":
        reply = reply_to(kc, kc.complete(req["code"], req["cursor_pos"]), timeout)
    elif op == "inspect":
        reply = reply_to(kc, kc.inspect(req["code"], req["cursor_pos"], detail_level=0), timeout)
    elif op == "is_complete":
        reply = reply_to(kc, kc.is_complete(req["code"]), timeout)
    else:
        raise ValueError(f"unknown op {op}")
    return {"reply": reply, "ms": (time.monotonic() - t0) * 1000, "stdout": "".join(out)}


def main():
    km = KernelManager(kernel_name="nslab")
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        answer({"ready": True, "pid": km.provisioner.pid if km.provisioner else None})
        for line in sys.stdin:
            if not line.strip():
                continue
            req = json.loads(line)
            try:
                answer({"id": req["id"], "ok": True, **handle(kc, req)})
            except Exception:
                answer({"id": req["id"], "ok": False, "error": traceback.format_exc()})
    except Exception:
        answer({"ready": False, "error": traceback.format_exc()})
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


if __name__ == "__main__":
    main()
