"""The worker side of ``lambda_runner``: one bundle's zygote, and each function's execution
environment forked from it, as Lambda's Python runtime runs one.

``LambdaRunner`` starts one zygote a bundle, as ``python -S -c <this file's text> <control fd>
<services> <library>...`` in the bundle's task root (``task_root``): no site-packages, the task root
first on ``sys.path``, then the runtime's libraries from ``PYTHONPATH``, and an environment
of the variables every function of the runner shares. The zygote imports the third-party
libraries the task root and the runtime hold, once; none of them reads at import a
variable the runner sets per function. It loads the botocore models of ``<services>`` (comma
separated: those the bundle's sources make clients of) into boto3's default session, files
only, no credentials. Then it serves the control socket, one JSON line a
request: ``{"fork": {"handler", "environment"}}`` with the worker's stdin, stdout and log
as passed descriptors, answered with the new worker's ``{"pid"}``; ``{"wait": pid}``,
answered with the exit status of a worker the runner knows has exited. It ends when the
runner closes the socket.

A forked worker takes the passed descriptors as its stdin, stdout and stderr and the
function's own environment in place of the zygote's, then imports the handler (Lambda's
init phase), says so on its answer channel, reads one JSON request a line from stdin
(``event``, ``request_id``, ``deadline_ms``, ``arn``) and answers each with one JSON line:
``{"payload": ...}`` or ``{"error": {"errorType", "errorMessage"}}``, as Lambda's Invoke
reports an unhandled error. Whatever the handler prints, and the traceback of an error,
goes to stderr: the function's log, which the runner reads back. It imports nothing of
this project: it runs the bundle alone.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import sys
import time
import traceback
from typing import IO, Any

# The descriptors a fork request passes: the worker's stdin, stdout and stderr.
_STREAMS = 3
# How much of the control socket is read at a time.
_CHUNK_BYTES = 1 << 16


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


def _run_worker(streams: list[int], request: dict[str, Any]) -> None:
    """In the forked child: become the function's execution environment, then serve it."""
    for target, fd in enumerate(streams):
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update(request["environment"])
    time.tzset()
    try:
        main(request["handler"])
    finally:
        # Lambda ends an execution environment by stopping it, not by unwinding the
        # runtime's interpreter; what the handler logged is flushed first.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _warm_default_session() -> None:
    """Make boto3's default session, which ``boto3.client(...)`` in a handler uses, load
    what every client of it reads (endpoint data, defaults): ~60 ms a worker's first
    client took. It resolves no credentials (the zygote has none, so each worker's session
    finds its own in its environment) and no region or endpoint other than the ones every
    worker shares."""
    try:
        boto3 = importlib.import_module("boto3")
        boto3.client("sts")
    except Exception:  # no boto3 here: the handler's own import says so, at init
        return


def _load_service_models(services: list[str]) -> None:
    """Load the botocore models (API and endpoint rules) of the services the bundle's
    handlers make clients of into the default session's loader, which caches them: ~20 ms
    a service a worker's first client of it took. Files read, nothing resolved: no
    credentials, region or endpoint."""
    try:
        session = importlib.import_module("boto3")._get_default_session()._session
        loader = session.get_component("data_loader")
        for name in services:
            session.get_service_model(name)
            loader.load_service_model(name, "endpoint-rule-set-1")
    except Exception:  # an unknown service: the handler's own client says so, at init
        return


def zygote(control_fd: int, libraries: list[str], services: list[str]) -> None:
    """Import ``libraries`` and load the models of ``services``' clients, then fork a worker
    per request on the control socket."""
    for name in libraries:
        try:
            importlib.import_module(name)
        except Exception:  # the worker's own import reports it, at init
            continue
    _warm_default_session()
    _load_service_models(services)
    control = socket.socket(fileno=control_fd)
    while True:
        message, fds = _request(control)
        if not message:  # the runner closed the socket
            return
        request = json.loads(message)
        if "wait" in request:
            _, status = os.waitpid(int(request["wait"]), 0)
            answer = {"status": os.waitstatus_to_exitcode(status)}
        else:
            pid = os.fork()
            if pid == 0:
                control.close()
                _run_worker(fds, request["fork"])
            for fd in fds:
                os.close(fd)
            answer = {"pid": pid}
        control.sendall(json.dumps(answer).encode() + b"\n")


def _request(control: socket.socket) -> tuple[bytes, list[int]]:
    """One request line and the descriptors sent with its first bytes; b"" at the end."""
    message, fds, _, _ = socket.recv_fds(control, _CHUNK_BYTES, _STREAMS)
    while message and not message.endswith(b"\n"):
        more = control.recv(_CHUNK_BYTES)
        if not more:
            return b"", fds
        message += more
    return message, fds


if __name__ == "__main__":
    # The task root first, where `-c` put the working folder, as the runtime puts /var/task.
    sys.path[0] = os.environ["LAMBDA_TASK_ROOT"]
    zygote(int(sys.argv[1]), sys.argv[3:], [s for s in sys.argv[2].split(",") if s])
    os._exit(0)
