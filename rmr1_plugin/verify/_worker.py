"""Worker process of :class:`~rmr1_plugin.verify.pool.DeadlinePool`: ``python -m ... TASK MEMORY_MB``.

Reads ``{"id", "item"}`` JSON lines on stdin, answers ``{"id", "value"}`` or ``{"id", "error"}``
on the stdout it was started with. Whatever the task prints goes to stderr instead, so it cannot
corrupt the protocol.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import traceback


def main(task: str, memory_mb: int) -> None:
    channel = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # prints from the task land on stderr
    sys.stdout = sys.stderr
    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    module_name, _, attr = task.partition(":")
    fn = importlib.import_module(module_name)
    for part in attr.split("."):
        fn = getattr(fn, part)
    channel.write(b'{"ready": true}\n')
    for line in sys.stdin.buffer:
        request = json.loads(line)
        try:
            reply = {"id": request["id"], "value": fn(request["item"])}
        except MemoryError:
            reply = {"id": request["id"], "error": f"out of memory (cap {memory_mb} MiB)"}
        except Exception as exc:  # every failure is reported to the caller
            reply = {"id": request["id"], "error": f"{type(exc).__name__}: {exc}",
                     "trace": traceback.format_exc(limit=5)}
        channel.write(json.dumps(reply).encode() + b"\n")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
