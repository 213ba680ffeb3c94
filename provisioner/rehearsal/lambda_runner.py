"""Deployed functions run as Lambda runs them: a warm worker process per function.

A worker is the function's execution environment (``lambda_bootstrap``): a Python process in
its bundle's task root, laid out as the bundle's built zip is (``task_root``: its sources,
``provisioner.bundles.SHARED_PACKAGES`` and the third-party libraries the zip carries, then
the Lambda runtime's own libraries, and nothing of this interpreter's site-packages), with
only the function's environment variables as the emulator holds them, the emulator's
endpoint and region, and credentials of the function's execution role from STS AssumeRole.
Nothing of this process's environment reaches it, so no profile, key or endpoint of a
developer's shell can send it to a real account. Workers are forked from a zygote, one a
bundle, that has imported the bundle's libraries once: starting a Python and importing
boto3 and the rest cost each worker ~0.3 s of CPU before. A worker imports the handler
once (Lambda's init phase) and serves invocations, events and answers as JSON lines over
its pipes, until the runner stops. An invocation that outlasts the function's configured
timeout kills the worker, as Lambda ends the execution environment; a handler's exception
comes back as the invocation's error (type and message), its traceback in the function's
log, never on the console.

Usage::

    with LambdaRunner(aws) as lambdas:
        result = lambdas.invoke("dev-quote-to-order-consumer", event,
                                environment={var.TARGET_BASE_URL: fake.base_url})
        result.payload, result.error, result.logs
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from provisioner.paths import FUNCTIONS_BUNDLE, SECRETS_BUNDLE
from provisioner.rehearsal.access import assume
from provisioner.rehearsal.task_root import TaskRoot, lay_out

if TYPE_CHECKING:
    from provisioner.rehearsal.emulator import Emulator
    from provisioner.rehearsal.runner import Deployment

__all__ = ["FunctionError", "Invocation", "LambdaRunner", "deployed_environment"]

BOOTSTRAP = Path(__file__).with_name("lambda_bootstrap.py")
# The bundle folders a handler's package may live in (provisioner.bundles.BUNDLES).
BUNDLE_DIRS = (FUNCTIONS_BUNDLE, SECRETS_BUNDLE)
# Lambda limits the init phase (importing the handler) to 10 seconds (Lambda developer
# guide, "Understanding the Lambda execution environment lifecycle", Init phase).
INIT_SECONDS = 10.0
# How long a worker or a zygote may take to leave once told to, before it is killed.
STOP_SECONDS = 5.0
# How much of a zygote's answers is read at a time (an answer is a short JSON line).
_ZYGOTE_ANSWER_BYTES = 4096


@dataclass(frozen=True)
class Invocation:
    """One invocation's outcome: the payload, or the error Lambda's Invoke would report
    (``errorType``, ``errorMessage``), and what the function logged meanwhile."""

    function: str
    payload: Any
    error: tuple[str, str] | None
    logs: str

    def response(self) -> Any:
        """The payload; FunctionError when the invocation failed."""
        if self.error is not None:
            raise FunctionError(self)
        return self.payload


class FunctionError(Exception):
    """An invocation failed: ``dev-q-consumer failed: KeyError: 'FIELD_MAPPING'``."""

    def __init__(self, invocation: Invocation) -> None:
        error_type, message = invocation.error or ("", "")
        super().__init__(f"{invocation.function} failed: {error_type}: {message}")
        self.invocation = invocation


def deployed_environment(deployment: Deployment, function: Any) -> dict[str, str]:
    """The environment variables a deployed function got from the program."""
    configuration = deployment.aws.admin("lambda").get_function_configuration(
        FunctionName=function.outputs["name"]
    )
    return dict(configuration.get("Environment", {}).get("Variables", {}))


class LambdaRunner:
    """Runs deployed functions of the emulator, one warm worker per function and settings;
    every worker is stopped on exit. ``bundles`` are the folders a handler's package is
    looked for in (the project's Lambda bundles by default).

    Threads may invoke at once: each worker serves one invocation at a time, as a Lambda
    execution environment does, so a second invocation of the same function and settings
    waits for the first; different functions run side by side."""

    def __init__(self, aws: Emulator, *, bundles: Sequence[Path] = BUNDLE_DIRS) -> None:
        self._aws = aws
        self._bundles = tuple(bundles)
        self._workers: dict[tuple[str, tuple[tuple[str, str], ...]], _Worker] = {}
        self._zygotes: dict[Path, _Zygote] = {}
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._lock = threading.Lock()  # the workers, zygotes and scratch folder
        self._busy: dict[tuple[str, tuple[tuple[str, str], ...]], threading.Lock] = {}

    def invoke(
        self, function: str, event: Any, *, environment: Mapping[str, str] | None = None
    ) -> Invocation:
        """Invoke the deployed ``function`` with ``event``; ``environment`` overrides some of
        its variables (a vendor fake's URL for the real one), in an environment of its own."""
        overrides = dict(environment or {})
        key = (function, tuple(sorted(overrides.items())))
        with self._lock:
            busy = self._busy.setdefault(key, threading.Lock())
        with busy:  # one invocation at a time in an execution environment
            worker = self._workers.get(key)
            if worker is not None and not worker.alive:  # ended by a timeout or a crash
                worker.stop()
                worker = None
            if worker is None:
                with self._lock:
                    worker = self._workers[key] = self._start(function, overrides)
            return worker.invoke(event)

    def _start(self, function: str, overrides: dict[str, str]) -> _Worker:
        config = self._aws.admin("lambda").get_function_configuration(FunctionName=function)
        credentials = assume(self._aws, config["Role"], f"lambda-{function}"[:64])
        zygote = self._zygote(_bundle(config["Handler"], self._bundles))
        environment = {
            **config.get("Environment", {}).get("Variables", {}),
            **overrides,
            # What Lambda's runtime sets (Lambda developer guide, "Defined runtime
            # environment variables"), the role's credentials among them.
            "AWS_LAMBDA_FUNCTION_NAME": config["FunctionName"],
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.get("MemorySize", 128)),
            "AWS_LAMBDA_FUNCTION_VERSION": str(config.get("Version", "$LATEST")),
            "AWS_ACCESS_KEY_ID": credentials["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": credentials["aws_secret_access_key"],
            "AWS_SESSION_TOKEN": credentials["aws_session_token"],
            "_HANDLER": config["Handler"],
            **zygote.environment,
        }
        return _Worker(config, zygote, environment)

    def _zygote(self, bundle: Path) -> _Zygote:
        """The bundle's zygote, started with its task root laid out on first use."""
        if bundle not in self._zygotes:
            if self._scratch is None:
                self._scratch = tempfile.TemporaryDirectory(prefix="rehearsal-lambda-")
            into = Path(self._scratch.name) / f"{len(self._zygotes)}-{bundle.name}"
            layout = lay_out(bundle, into)
            environment = self._shared_environment(layout)
            self._zygotes[bundle] = _Zygote(layout, environment, _client_services(bundle))
        return self._zygotes[bundle]

    def _shared_environment(self, layout: TaskRoot) -> dict[str, str]:
        """What Lambda's runtime sets alike for every function here, and the emulator."""
        return {
            "AWS_REGION": self._aws.region,
            "AWS_DEFAULT_REGION": self._aws.region,
            "LAMBDA_TASK_ROOT": str(layout.root),
            # The runtime's library path; the runtime puts the task root before it.
            "PYTHONPATH": str(layout.runtime),
            "TZ": ":UTC",
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            # The emulator and nothing else: no shared config or credentials file of the
            # developer, no instance metadata service.
            "AWS_ENDPOINT_URL": self._aws.endpoint,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def stop(self) -> None:
        workers, self._workers = list(self._workers.values()), {}
        # Every worker is told to leave before any is waited for, so they exit side by side.
        for worker in workers:
            worker.leave()
        for worker in workers:
            worker.stop()
        zygotes, self._zygotes = list(self._zygotes.values()), {}
        for zygote in zygotes:
            zygote.stop()
        scratch, self._scratch = self._scratch, None
        if scratch is not None:
            scratch.cleanup()

    def __enter__(self) -> LambdaRunner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# A client the bundle's own code makes: ``boto3.client("sqs")``.
_CLIENT_CALL = re.compile(r"""boto3\.client\(\s*["']([a-z0-9-]+)["']""")


def _client_services(bundle: Path) -> list[str]:
    """The AWS services whose clients the bundle's sources make by name, for the zygote to
    load their botocore models once (a missed one costs its worker the load, nothing more)."""
    found = {m for source in bundle.rglob("*.py") for m in _CLIENT_CALL.findall(source.read_text())}
    return sorted(found)


def _bundle(handler: str, bundles: Sequence[Path]) -> Path:
    """The bundle folder holding the handler's top-level module or package."""
    top = handler.split(".", 1)[0]
    for folder in bundles:
        if (folder / top).is_dir() or (folder / f"{top}.py").is_file():
            return folder
    raise LookupError(f"handler {handler!r}: no {top!r} in {', '.join(map(str, bundles))}")


class _Zygote:
    """One bundle's zygote: a Python in its task root that has imported the bundle's
    libraries, forking one worker per request over a control socket (``lambda_bootstrap``)."""

    def __init__(self, layout: TaskRoot, environment: dict[str, str], services: list[str]) -> None:
        self.environment = environment
        self._root = layout.root
        self._lock = threading.Lock()  # one request and its answer at a time
        self._control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # What the zygote itself says (nothing, unless it breaks), for its lifetime.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        with theirs:
            arguments = [str(theirs.fileno()), ",".join(services), *layout.libraries]
            self.process = subprocess.Popen(
                [sys.executable, "-S", "-c", BOOTSTRAP.read_text(), *arguments],
                cwd=layout.root,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._log,
                pass_fds=(theirs.fileno(),),
            )

    def fork(self, handler: str, environment: dict[str, str], streams: Sequence[int]) -> int:
        """A new worker for ``handler`` with ``streams`` as its stdin, stdout and stderr."""
        request = {"fork": {"handler": handler, "environment": environment}}
        return int(self._ask(request, streams)["pid"])

    def wait(self, pid: int) -> int:
        """The exit status of a worker known to have exited, which the zygote reaps."""
        return int(self._ask({"wait": pid})["status"])

    def _ask(self, request: dict[str, Any], fds: Sequence[int] = ()) -> dict[str, Any]:
        line = json.dumps(request).encode() + b"\n"
        with self._lock:
            try:
                # The descriptors travel with the line's first bytes; a stream socket may
                # take the rest in later sends.
                sent = socket.send_fds(self._control, [line], list(fds))
                self._control.sendall(line[sent:])
                answer = b""
                while not answer.endswith(b"\n"):
                    more = self._control.recv(_ZYGOTE_ANSWER_BYTES)
                    if not more:
                        break
                    answer += more
            except OSError:
                answer = b""
        if not answer.endswith(b"\n"):
            self._log.seek(0)
            said = self._log.read().decode(errors="replace").strip()[-600:]
            raise RuntimeError(f"the zygote of {self._root} exited: {said or 'it said nothing'}")
        found: dict[str, Any] = json.loads(answer)
        return found

    def stop(self) -> None:
        self._control.close()  # the zygote's signal to leave
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


class _Worker:
    """One execution environment: the process its bundle's zygote forked, its log, and its
    deadline."""

    def __init__(self, config: dict[str, Any], zygote: _Zygote, environment: dict[str, str]):
        self.function = str(config["FunctionName"])
        self.arn = str(config["FunctionArn"])
        self.timeout = float(config.get("Timeout", 3))
        # The function's log, for the worker's lifetime: stop() closes it.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        self._read_to = 0
        self._ready = False
        self._zygote = zygote
        self._status: int | None = None
        their_stdin, requests = os.pipe()
        answers, their_stdout = os.pipe()
        try:
            self.pid = zygote.fork(
                config["Handler"], environment, (their_stdin, their_stdout, self._log.fileno())
            )
        except BaseException:
            for fd in (requests, answers):
                os.close(fd)
            self._log.close()
            raise
        finally:
            os.close(their_stdin)
            os.close(their_stdout)
        self._requests: IO[str] = os.fdopen(requests, "w")
        self._answers: IO[str] = os.fdopen(answers, "r")

    @property
    def alive(self) -> bool:
        return self._status is None and not self._exited_within(0)

    def _exited_within(self, seconds: float) -> bool:
        """Whether the worker's answer channel is at its end: between invocations nothing
        else is there to read, and only the worker's exit closes it (its handler's own
        processes do not inherit it)."""
        return bool(select.select([self._answers], [], [], seconds)[0])

    def _reap(self, *, kill: bool = False) -> int:
        """The worker's exit status, once it has exited (killed first if ``kill``). Until
        the zygote reaps it, its pid stays its own, so the signal reaches no other process."""
        if self._status is None:
            if kill or not self._exited_within(STOP_SECONDS):
                os.kill(self.pid, signal.SIGKILL)
            self._status = self._zygote.wait(self.pid)
        return self._status

    def invoke(self, event: Any) -> Invocation:
        if not self._ready:
            answer = self._answer(INIT_SECONDS, "the init phase")
            if "error" in answer:
                return self._outcome(answer)
            self._ready = True
        deadline = time.time() + self.timeout
        request = {
            "event": event,
            "request_id": str(uuid.uuid4()),
            "deadline_ms": int(deadline * 1000),
            "arn": self.arn,
        }
        try:
            self._requests.write(json.dumps(request) + "\n")
            self._requests.flush()
        except BrokenPipeError:
            return self._outcome(self._exited())
        return self._outcome(self._answer(self.timeout, "the invocation"))

    def _answer(self, seconds: float, phase: str) -> dict[str, Any]:
        """The worker's next answer line; a timeout or an exit as the error Lambda reports."""
        ready, _, _ = select.select([self._answers], [], [], seconds)
        if not ready:
            self._reap(kill=True)
            message = f"Task timed out after {seconds:.2f} seconds ({phase})"
            return {"error": {"errorType": "Sandbox.Timedout", "errorMessage": message}}
        line = self._answers.readline()
        if not line:
            return self._exited()
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _exited(self) -> dict[str, Any]:
        message = f"Runtime exited with error: exit status {self._reap()}"
        return {"error": {"errorType": "Runtime.ExitError", "errorMessage": message}}

    def _outcome(self, answer: dict[str, Any]) -> Invocation:
        error = answer.get("error")
        return Invocation(
            self.function,
            answer.get("payload"),
            (str(error["errorType"]), str(error["errorMessage"])) if error else None,
            self._new_logs(),
        )

    def _new_logs(self) -> str:
        """What the function logged since the last invocation."""
        self._log.seek(self._read_to)
        logged = self._log.read()
        self._read_to += len(logged)
        return logged.decode(errors="replace")

    def leave(self) -> None:
        """Close the worker's requests: it finishes its invocation, if any, and exits."""
        with contextlib.suppress(BrokenPipeError):  # already gone
            self._requests.close()

    def stop(self) -> None:
        self.leave()
        self._reap()
        self._answers.close()
        self._log.close()
