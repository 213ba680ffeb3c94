"""Run the policy pack the way the Pulumi engine does, without the Pulumi CLI.

The engine starts a Python pack as ``python -u -m pulumi.policy <engine-address> .`` with
the pack folder as working directory and the stack's config in ``PULUMI_CONFIG``; the pack
prints its gRPC port; the engine then calls ``Handshake`` (optional), ``ConfigureStack``,
``GetAnalyzerInfo`` and ``Configure`` (schema defaults, then the pack's initial config, then
the ``--policy-pack-config`` file), ``Analyze`` once per resource with its inputs, and
``AnalyzeStack`` once with every resource's state. This module does exactly that, with a
minimal Engine service on 127.0.0.1 for the pack's ``Log`` calls.

Usage::

    with PolicyHarness(stack="prod", policy_config=load_pack_config("prod")) as pack:
        result = pack.check(resources)          # recorded resources, docs/contracts.md
    result.violations[0].as_dict()  # {"policy", "level", "urn", "message"}

One pack process serves any number of ``check``/``analyze`` calls; start it once per run.
Without a ``pack_dir`` it runs the pack as built (``provisioner.pack_build``: the folder
with its own copy of ``contract/``, brought up to date first), as it would run published.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, engine_pb2_grpc

from contract.naming import CONFIG_NAMESPACE, PROJECT
from provisioner.lifecycle import Lifecycle
from provisioner.pack_build import build_pack
from provisioner.policy_harness.config import (
    PolicyConfigError,
    load_pack_config,
    reconcile_config,
    stack_config,
)
from provisioner.policy_harness.wire import (
    LEVEL_VALUES,
    LEVELS,
    analyze_request,
    stack_resource,
    to_struct,
)
from provisioner.violations import Violation

__all__ = [
    "CheckResult",
    "PolicyConfigError",
    "PolicyHarness",
    "PolicyPackError",
    "Violation",
    "check_resources",
    "load_pack_config",
    "stack_config",
]

_MAX_MESSAGE = 400 * 1024 * 1024  # what the engine and pulumi-policy allow
_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", _MAX_MESSAGE),
    ("grpc.max_send_message_length", _MAX_MESSAGE),
]
_IN_FLIGHT = 32  # Analyze calls pipelined at once (the pack serves them on 4 threads)


class PolicyPackError(RuntimeError):
    """The pack failed to start or to answer; the message carries its stderr."""


@dataclass
class CheckResult:
    """What one check found: the pack's policies, how many resources, every violation."""

    policies: list[str]
    resources_analyzed: int
    violations: list[Violation] = field(default_factory=list)

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.mandatory]

    def as_dict(self) -> dict[str, Any]:
        return {
            "policies": self.policies,
            "resources_analyzed": self.resources_analyzed,
            "violations": [v.as_dict() for v in self.violations],
        }


# ---------------------------------------------------------------------------- engine stub


class _Engine(engine_pb2_grpc.EngineServicer):
    """The part of the engine a policy pack calls back: Log (kept for error reports)."""

    def __init__(self) -> None:
        self.logs: deque[str] = deque(maxlen=200)

    def Log(self, request: Any, context: Any) -> empty_pb2.Empty:
        self.logs.append(f"{request.severity}: {request.message}")
        return empty_pb2.Empty()


# ---------------------------------------------------------------------------- harness


class PolicyHarness(Lifecycle):
    """One running policy pack, configured for one stack. Use as a context manager."""

    def __init__(
        self,
        pack_dir: Path | None = None,
        *,
        stack: str = "dev",
        project: str = PROJECT,
        organization: str = "organization",
        config: Mapping[str, str] | None = None,
        policy_config: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        dry_run: bool = True,
        python: str = sys.executable,
        startup_timeout: float = 60.0,
    ) -> None:
        self.pack_dir = build_pack() if pack_dir is None else Path(pack_dir).resolve()
        self.stack, self.project, self.organization = stack, project, organization
        self.config = dict(config if config is not None else {})
        self.policy_config = dict(policy_config or {})
        self.tags = {"pulumi:project": project, "pulumi:runtime": "python", **(tags or {})}
        self.dry_run, self.python, self.startup_timeout = dry_run, python, startup_timeout
        self.info: analyzer_pb2.AnalyzerInfo | None = None
        self.effective_config: dict[str, tuple[str, dict[str, Any]]] = {}
        self._engine = _Engine()
        self._server: grpc.Server | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: grpc.Channel | None = None
        self._stub: analyzer_pb2_grpc.AnalyzerStub | None = None
        self._stderr: deque[str] = deque(maxlen=80)

    # -- lifecycle

    def start(self) -> Self:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        if not (self.pack_dir / "PulumiPolicy.yaml").exists():
            raise PolicyPackError(f"{self.pack_dir}: no PulumiPolicy.yaml; not a policy pack")
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        engine_pb2_grpc.add_EngineServicer_to_server(self._engine, self._server)
        engine_port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        env = {
            **os.environ,
            "PULUMI_CONFIG": json.dumps(self.config),
            "PULUMI_PROJECT": self.project,
            "PULUMI_STACK": self.stack,
            "PULUMI_ORGANIZATION": self.organization,
            "PULUMI_DRY_RUN": "true" if self.dry_run else "false",
            "PYTHONUNBUFFERED": "1",
        }
        self._process = subprocess.Popen(
            [self.python, "-u", "-m", "pulumi.policy", f"127.0.0.1:{engine_port}", "."],
            cwd=self.pack_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        port = self._read_port()
        self._channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=_CHANNEL_OPTIONS)
        grpc.channel_ready_future(self._channel).result(timeout=self.startup_timeout)
        stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        self._stub = stub
        dot = str(self.pack_dir)
        try:
            stub.Handshake(
                analyzer_pb2.AnalyzerHandshakeRequest(
                    engine_address=f"127.0.0.1:{engine_port}",
                    root_directory=dot,
                    program_directory=dot,
                )
            )
        except grpc.RpcError as err:  # Python packs do not implement it; the engine moves on
            if err.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise self._error("Handshake", err) from None
        self._call(
            "ConfigureStack",
            analyzer_pb2.AnalyzerStackConfigureRequest(
                stack=self.stack,
                project=self.project,
                organization=self.organization,
                dry_run=self.dry_run,
                config=self.config,
                tags=self.tags,
            ),
        )
        self.info = self._call("GetAnalyzerInfo", empty_pb2.Empty())
        self.effective_config = reconcile_config(self.info, self.policy_config)
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, (level, props) in self.effective_config.items():
            request.policyConfig[name].CopyFrom(
                analyzer_pb2.PolicyConfig(
                    enforcementLevel=LEVEL_VALUES[level], properties=to_struct(props)
                )
            )
        self._call("Configure", request)

    def stop(self) -> None:
        """Stop the pack and the engine stub; safe to call twice and after a failed start."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
        if self._server is not None:
            self._server.stop(grace=None)
            self._server = None

    # -- analysis

    @property
    def policy_names(self) -> list[str]:
        return [p.name for p in self.info.policies] if self.info else []

    def analyze(self, resources: Sequence[Mapping[str, Any]]) -> list[Violation]:
        """`Analyze` for every resource (pipelined), in order; inputs only."""
        stub = self._require()
        violations: list[Violation] = []
        pending: deque[tuple[str, Any]] = deque()

        def collect() -> None:
            urn, call = pending.popleft()
            try:
                response = call.result()
            except grpc.RpcError as err:
                raise self._error("Analyze", err) from None
            violations.extend(self._violations(response, urn))

        for resource in resources:
            pending.append((resource["urn"], stub.Analyze.future(analyze_request(resource))))
            if len(pending) >= _IN_FLIGHT:
                collect()
        while pending:
            collect()
        return violations

    def analyze_stack(self, resources: Sequence[Mapping[str, Any]]) -> list[Violation]:
        """`AnalyzeStack` once with every resource's state."""
        request = analyzer_pb2.AnalyzeStackRequest(resources=[stack_resource(r) for r in resources])
        return self._violations(self._call("AnalyzeStack", request), "")

    def check(self, resources: Iterable[Mapping[str, Any]]) -> CheckResult:
        """Both phases, as `pulumi preview --policy-pack` runs them."""
        listed = list(resources)
        violations = self.analyze(listed) + self.analyze_stack(listed)
        return CheckResult(self.policy_names, len(listed), violations)

    # -- internals

    def _require(self) -> analyzer_pb2_grpc.AnalyzerStub:
        if self._stub is None:
            raise PolicyPackError("the policy pack is not running; call start() first")
        return self._stub

    def _call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self._require(), method)(request)
        except grpc.RpcError as err:
            raise self._error(method, err) from None

    def _violations(self, response: Any, default_urn: str) -> list[Violation]:
        return [
            Violation(
                policy=d.policyName,
                level=LEVELS.get(d.enforcementLevel, "advisory"),
                urn=d.urn or default_urn,
                message=d.message,
            )
            for d in response.diagnostics
        ]

    def _read_port(self) -> int:
        assert self._process is not None and self._process.stdout is not None
        stdout = self._process.stdout
        deadline = time.monotonic() + self.startup_timeout
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._error("start", None, f"no port within {self.startup_timeout:.0f}s")
            ready, _, _ = select.select([stdout], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(stdout.fileno(), 64)
            if not chunk:
                raise self._error("start", None, "the pack exited before printing its port")
            line += chunk
        text = line.decode().strip()
        if not text.isdigit():
            raise self._error("start", None, f"expected a port, got {text!r}")
        return int(text)

    def _drain_stderr(self) -> None:
        process = self._process
        if process is None or process.stderr is None:
            return
        try:
            for raw in iter(process.stderr.readline, b""):
                self._stderr.append(raw.decode(errors="replace").rstrip())
        except (OSError, ValueError):
            pass

    def _error(self, method: str, err: grpc.RpcError | None, detail: str = "") -> PolicyPackError:
        if err is not None:
            detail = f"{err.code().name}: {err.details()}"
        time.sleep(0.05)  # let the stderr reader catch up with a crashing pack
        tail = "\n".join(list(self._stderr)[-20:] + list(self._engine.logs)[-5:])
        where = f"policy pack {self.pack_dir.name} ({method})"
        return PolicyPackError(f"{where}: {detail}" + (f"\n{tail}" if tail else ""))


def check_resources(
    resources: Iterable[Mapping[str, Any]],
    *,
    stack: str,
    pack_dir: Path | None = None,
    policy_config: Mapping[str, Any] | None = None,
    config: Mapping[str, str] | None = None,
) -> CheckResult:
    """Start the pack for `stack` (its settings and `config.<stack>.json`), check, stop."""
    if pack_dir is None:
        pack_dir = build_pack()
    if config is None:
        config = stack_config(stack)
    if policy_config is None:
        environment = config.get(f"{CONFIG_NAMESPACE}:environment")
        policy_config = load_pack_config(stack, pack_dir, environment=environment)
    with PolicyHarness(pack_dir, stack=stack, config=config, policy_config=policy_config) as pack:
        return pack.check(resources)
