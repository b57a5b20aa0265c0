#!/usr/bin/env python3
"""Execute one notebook from a fresh kernel with nbclient and write what happened.

Used by `nslab handouts` and `nslab rerun` (src/cli/handouts.ts); run it with the project's
Python (.venv, src/cli/python.ts), which has nbclient and nbformat.

    execute_notebook.py INPUT.ipynb OUTPUT.ipynb --report REPORT.json
                        [--timeout SECONDS] [--startup-timeout SECONDS] [--cwd DIR]

The kernel is the one named in the notebook's metadata (`kernelspec.name`), found on
JUPYTER_PATH as usual. Errors are not allowed: a cell that fails without the
`raises-exception` tag stops the run (nbclient's own rule), and so does a cell that runs
longer than --timeout.

OUTPUT is written in every case where a kernel ran, also after a failure (it then holds
the outputs up to the failing cell). REPORT is JSON:

    {"cells": [{"index": 3, "status": "ok" | "error", "ename": ..., "evalue": ...}, ...],
     "failure": null | {"kind": "error" | "timeout" | "dead-kernel" | "startup",
                        "index": 3 | null, "ename": ..., "evalue": ..., "message": ...}}

Exit status: 0 when every cell ran, 1 when a cell failed, 2 when the kernel could not be
started or the arguments are wrong.
"""

import argparse
import json
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--report", required=True)
    parser.add_argument("--timeout", type=int, default=60, help="per-cell timeout in seconds")
    parser.add_argument("--startup-timeout", type=int, default=60)
    parser.add_argument("--cwd", default=None, help="the kernel's working directory")
    args = parser.parse_args()

    nb = nbformat.read(args.input, as_version=4)
    cells = []
    current = {"index": None}
    started = {"kernel": False}

    def on_notebook_start(notebook):
        started["kernel"] = True

    def on_cell_execute(cell, cell_index):
        current["index"] = cell_index

    def on_cell_executed(cell, cell_index, execute_reply):
        content = (execute_reply or {}).get("content", {})
        cells.append({
            "index": cell_index,
            "status": content.get("status", "unknown"),
            "ename": content.get("ename"),
            "evalue": content.get("evalue"),
        })

    client = NotebookClient(
        nb,
        timeout=args.timeout,
        startup_timeout=args.startup_timeout,
        allow_errors=False,
        interrupt_on_timeout=False,
        record_timing=False,
        resources={"metadata": {"path": args.cwd}} if args.cwd else {},
        on_notebook_start=on_notebook_start,
        on_cell_execute=on_cell_execute,
        on_cell_executed=on_cell_executed,
    )

    failure = None
    status = 0
    try:
        client.execute()
    except CellTimeoutError as e:
        failure = {"kind": "timeout", "index": current["index"], "ename": "CellTimeoutError",
                   "evalue": f"no result after {args.timeout} s", "message": str(e)}
        status = 1
    except CellExecutionError as e:
        failure = {"kind": "error", "index": current["index"], "ename": e.ename,
                   "evalue": e.evalue, "message": str(e)}
        status = 1
    except DeadKernelError as e:
        failure = {"kind": "dead-kernel", "index": current["index"], "ename": "DeadKernelError",
                   "evalue": str(e), "message": str(e)}
        status = 1
    except Exception as e:  # the kernel did not start, or the client broke
        kernel_started = started["kernel"]
        kind = "error" if kernel_started else "startup"
        failure = {"kind": kind, "index": current["index"] if kernel_started else None,
                   "ename": type(e).__name__, "evalue": str(e), "message": str(e)}
        status = 1 if kernel_started else 2

    if started["kernel"]:
        nbformat.write(nb, args.output)
    with open(args.report, "w", encoding="utf-8") as f:
        json.dump({"cells": cells, "failure": failure}, f, ensure_ascii=False, indent=1)
    return status


if __name__ == "__main__":
    sys.exit(main())
