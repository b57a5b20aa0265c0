#!/usr/bin/env python3
"""Secrets through jupyter_client (test/e2e/secrets.test.ts, issue 22).

Starts nslab from its kernelspec (JUPYTER_PATH) with jupyter_client's KernelManager, its log
(stderr, NSLAB_LOG=debug: everything it logs) going to a file, and runs cells that read with the
terminal's echo off, answering every input_request. Every message received on every channel is
kept as JSON; the outputs are written into a notebook as a frontend saves it (nbformat's
output_from_msg; an answer to a non-password request is saved as its stdin stream, as JupyterLab
does). Prints one JSON object: per cell the input requests, stdout and the reply status; all
messages as one text; the notebook's text; the kernel log's text; the history reply.

Usage: secrets_driver.py SECRET LOGFILE NOTEBOOK
"""

import json
import sys
import time

import nbformat
from jupyter_client.manager import KernelManager
from nbformat.v4 import new_code_cell, new_notebook, output_from_msg

SECRET, LOGFILE, NOTEBOOK = sys.argv[1:4]
TIMEOUT = 30.0

CELLS = [
    'read -s -p "pw? " p; echo; echo "len ${#p}"',
    'read -s -p "合言葉: " p; echo; echo "len ${#p}"',
    'read -s p; echo "len ${#p}"',
    "python3 -c 'import getpass; s=getpass.getpass(\"Key: \"); print(len(s))'",
    'read -p "name? " x; echo "hi $x"',
]


def run_cell(kc, code, messages):
    msg_id = kc.execute(code, allow_stdin=True, store_history=True)
    requests, stdout, status, saved = [], "", None, []
    deadline = time.time() + TIMEOUT
    idle = False
    while time.time() < deadline and not (idle and status is not None):
        got = False
        for channel, client in (("stdin", kc.stdin_channel), ("iopub", kc.iopub_channel), ("shell", kc.shell_channel)):
            if not client.msg_ready():
                continue
            msg = client.get_msg(timeout=0.1)
            got = True
            messages.append({"channel": channel, "msg": msg})
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "input_request":
                requests.append({"prompt": content["prompt"], "password": content["password"]})
                answer = SECRET if content["password"] else "abc"
                kc.input(answer)
                if not content["password"]:
                    saved.append(nbformat.from_dict({"output_type": "stream", "name": "stdin", "text": content["prompt"] + answer + "\n"}))
            elif kind == "stream":
                if content["name"] == "stdout":
                    stdout += content["text"]
                saved.append(output_from_msg(msg))
            elif kind in ("display_data", "execute_result", "error"):
                saved.append(output_from_msg(msg))
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
            elif kind == "execute_reply":
                status = content["status"]
        if not got:
            time.sleep(0.01)
    return {"code": code, "requests": requests, "stdout": stdout, "status": status}, saved


def main():
    km = KernelManager(kernel_name="nslab")
    log = open(LOGFILE, "w")
    km.start_kernel(stderr=log, env={**__import__("os").environ, "NSLAB_LOG": "debug"})
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=TIMEOUT)
        messages, cells = [], []
        nb = new_notebook()
        for code in CELLS:
            result, outputs = run_cell(kc, code, messages)
            cells.append(result)
            cell = new_code_cell(code)
            cell.outputs = outputs
            nb.cells.append(cell)
        nbformat.write(nb, NOTEBOOK)
        history_id = kc.history(hist_access_type="tail", n=100, output=False)
        history = kc.get_shell_msg(timeout=TIMEOUT)
        messages.append({"channel": "shell", "msg": history})
        assert history["parent_header"]["msg_id"] == history_id
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
        log.close()
    with open(NOTEBOOK) as f:
        notebook_text = f.read()
    with open(LOGFILE) as f:
        log_text = f.read()
    print(json.dumps({
        "cells": cells,
        "messages": json.dumps(messages, default=str, ensure_ascii=False),
        "message_count": len(messages),
        "notebook": notebook_text,
        "log": log_text,
        "history": history["content"].get("history", []),
    }, ensure_ascii=False))


main()
