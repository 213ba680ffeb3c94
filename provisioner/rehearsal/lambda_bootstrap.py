"""The worker side of ``lambda_runner``: one function's execution environment, as Lambda's
Python runtime runs it.

Started by ``LambdaRunner`` as ``python -c <this file's text> <handler>`` in the function's
bundle folder (Lambda's task root, on ``PYTHONPATH``), with only the function's own
environment and the emulator's endpoint, region and role credentials. It imports the
handler once (Lambda's init phase), says so on its answer channel, then reads one JSON
request a line from stdin (``event``, ``request_id``, ``deadline_ms``, ``arn``) and
answers each with one JSON line: ``{"payload": ...}`` or ``{"error": {"errorType",
"errorMessage"}}``, as Lambda's Invoke reports an unhandled error. Whatever the handler
prints, and the traceback of an error, goes to stderr: the function's log, which the
runner reads back. It imports nothing of this project: it runs the bundle alone.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from typing import IO, Any


class Context:
    """The Lambda context object the handler is given (Python runtime, "Lambda context")."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.invoked_function_arn = str(request["arn"])
        self.aws_request_id = str(request["request_id"])
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "rehearsal"
        self._deadline_ms = int(request["deadline_ms"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error(err: BaseException, error_type: str | None = None) -> dict[str, Any]:
    traceback.print_exception(err, file=sys.stderr)  # the function's log, as Lambda logs it
    return {"error": {"errorType": error_type or type(err).__name__, "errorMessage": str(err)}}


def _answer(channel: IO[str], answer: dict[str, Any] | str) -> None:
    """One answer line, after everything the handler printed is in the log."""
    sys.stdout.flush()
    sys.stderr.flush()
    channel.write((answer if isinstance(answer, str) else json.dumps(answer)) + "\n")
    channel.flush()


def main(spec: str) -> None:
    # The answers go out on what was stdout; from here on stdout is the function's log.
    channel = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    module_name, _, name = spec.rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), name)
    except Exception as err:  # Lambda: Runtime.ImportModuleError on every invocation
        _answer(channel, _error(err, "Runtime.ImportModuleError"))
        return
    _answer(channel, {"ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        try:
            payload = handler(request["event"], Context(request))
        except Exception as err:
            _answer(channel, _error(err))
            continue
        try:
            answer = json.dumps({"payload": payload})
        except (TypeError, ValueError) as err:
            _answer(channel, _error(err, "Runtime.MarshalError"))
            continue
        _answer(channel, answer)


if __name__ == "__main__":
    main(sys.argv[1])
    # Lambda ends an execution environment by stopping it, not by unwinding the runtime's
    # interpreter; tearing down every module a handler imported takes a worker ~0.2 s of CPU
    # that nothing reads. What the handler logged is flushed first.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
