"""
The hostile suite's second, independent client: jupyter_client (the project's .venv) launches nslab from
its kernelspec and sends complete, inspect and is_complete requests for hostile code.

stdin, one JSON line: [[code, [cursor positions…]], …]
stdout, JSON lines: {"pid": KERNEL_PID}, then (after any line on stdin, once the test has looked at
the kernel's lab) {"results": [[kind, status-or-error], …]}.
"""
import json
import sys

from jupyter_client.manager import start_new_kernel


def main():
    cases = json.loads(sys.stdin.readline())
    km, kc = start_new_kernel(kernel_name="nslab", startup_timeout=60)
    results = []
    try:
        print(json.dumps({"pid": km.provisioner.pid}), flush=True)
        sys.stdin.readline()
        for code, positions in cases:
            for pos in positions:
                for kind, call in (("complete", kc.complete), ("inspect", kc.inspect)):
                    try:
                        reply = call(code, pos, reply=True, timeout=30)
                        results.append([kind, reply["content"]["status"]])
                    except Exception as e:  # a missing reply is what the test looks for
                        results.append([kind, "no reply: %r" % (e,)])
            try:
                # jupyter_client 7.4 wraps complete and inspect with reply=True, not is_complete.
                msg_id = kc.is_complete(code)
                reply = kc.get_shell_msg(timeout=30)
                while reply["parent_header"].get("msg_id") != msg_id:
                    reply = kc.get_shell_msg(timeout=30)
                results.append(["is_complete", reply["content"]["status"]])
            except Exception as e:
                results.append(["is_complete", "no reply: %r" % (e,)])
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    print(json.dumps({"results": results}), flush=True)


if __name__ == "__main__":
    main()
