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
"""

from __future__ import annotations

import copy
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
from types import TracebackType
from typing import Any

import grpc
import jsonschema
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, engine_pb2_grpc

from provisioner.paths import POLICY_PACK_DIR, STACKS_DIR
from provisioner.violations import Violation
from roadmap.settings import CONFIG_NAMESPACE

__all__ = [
    "CheckResult",
    "PolicyConfigError",
    "PolicyHarness",
    "PolicyPackError",
    "Violation",
    "check_resources",
    "load_pack_config",
    "pack_config_file",
    "reconcile_config",
    "stack_config",
]

PROJECT = "integration-provisioner"
_MAX_MESSAGE = 400 * 1024 * 1024  # what the engine and pulumi-policy allow
_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", _MAX_MESSAGE),
    ("grpc.max_send_message_length", _MAX_MESSAGE),
]
_LEVELS = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.REMEDIATE: "remediate",
    analyzer_pb2.DISABLED: "disabled",
}
_LEVEL_VALUES = {v: k for k, v in _LEVELS.items()}
_IN_FLIGHT = 32  # Analyze calls pipelined at once (the pack serves them on 4 threads)


class PolicyPackError(RuntimeError):
    """The pack failed to start or to answer; the message carries its stderr."""


class PolicyConfigError(ValueError):
    """The merged policy config does not satisfy the policies' schemas (as the engine checks)."""


@dataclass
class CheckResult:
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


# ---------------------------------------------------------------------------- config


def stack_config(stack: str, stacks_dir: Path = STACKS_DIR) -> dict[str, str]:
    """The stack's config as the engine passes it to a pack: every value a string (JSON)."""
    from provisioner.program import stack_config as program_config

    return program_config(stack, stacks_dir)


def pack_config_file(
    stack: str, environment: str | None = None, pack_dir: Path = POLICY_PACK_DIR
) -> Path | None:
    """The file passed as `--policy-pack-config` for `stack`: `<pack>/config.<stack>.json`,
    else its environment's `config.<environment>.json` (`dev-alice` checks as dev), else None.
    """
    for name in dict.fromkeys((stack, environment or stack)):
        path = pack_dir / f"config.{name}.json"
        if path.exists():
            return path
    return None


def load_pack_config(
    stack: str, pack_dir: Path = POLICY_PACK_DIR, *, environment: str | None = None
) -> dict[str, Any]:
    """The pack config of `stack` (`pack_config_file`) as a dict; {} when there is none."""
    path = pack_config_file(stack, environment, pack_dir)
    if path is None:
        return {}
    try:
        loaded = json.loads(path.read_text())
    except ValueError as err:
        raise PolicyConfigError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(loaded, dict):
        raise PolicyConfigError(f"{path}: expected a JSON object of policy name -> config")
    return loaded


def _split(value: Any, source: str, name: str) -> tuple[str | None, dict[str, Any]]:
    """(enforcement level, properties) of one policy's entry, as the engine parses it."""
    if isinstance(value, str):
        level, props = value, {}
    elif isinstance(value, Mapping):
        props = dict(value)
        level = props.pop("enforcementLevel", None)
    else:
        raise PolicyConfigError(f"{source}: {name}: expected a level or an object")
    if level is not None and level not in _LEVEL_VALUES:
        raise PolicyConfigError(f"{source}: {name}: {level!r} is not an enforcement level")
    return level, props


def reconcile_config(
    info: analyzer_pb2.AnalyzerInfo, config: Mapping[str, Any] | None = None
) -> dict[str, tuple[str, dict[str, Any]]]:
    """The engine's merge: schema defaults, then the pack's initial config, then `config`."""
    result: dict[str, tuple[str, dict[str, Any]]] = {}
    schemas: dict[str, dict[str, Any]] = {}
    for policy in info.policies:
        schema = json_format.MessageToDict(policy.configSchema)
        schemas[policy.name] = schema
        defaults = {
            k: copy.deepcopy(v["default"])
            for k, v in schema.get("properties", {}).items()
            if isinstance(v, dict) and "default" in v
        }
        result[policy.name] = (_LEVELS[policy.enforcementLevel], defaults)
    initial = {
        name: (
            _LEVELS[c.enforcementLevel] if c.enforcementLevel or not c.properties else None,
            json_format.MessageToDict(c.properties),
        )
        for name, c in info.initialConfig.items()
    }
    given = {name: _split(v, "policy config", name) for name, v in (config or {}).items()}
    for layer in (initial, given):
        all_level = layer.get("all", (None, {}))[0]
        if all_level:
            result = {k: (all_level, props) for k, (_, props) in result.items()}
        for name, (level, props) in layer.items():
            if name == "all" and name not in result:
                continue
            old_level, old_props = result.get(name, ("advisory", {}))
            result[name] = (level or old_level, {**old_props, **props})
    _validate(result, schemas)
    return result


def _validate(
    config: Mapping[str, tuple[str, dict[str, Any]]], schemas: Mapping[str, dict[str, Any]]
) -> None:
    problems = []
    for name, schema in schemas.items():
        document = {"type": "object", **schema}
        document.setdefault("properties", {})["enforcementLevel"] = {
            "type": "string",
            "enum": list(_LEVEL_VALUES),
        }
        props = config.get(name, ("", {}))[1]
        for error in jsonschema.Draft7Validator(document).iter_errors(props):
            path = ".".join(str(p) for p in error.absolute_path)
            problems.append(f"{name}{'.' + path if path else ''}: {error.message}")
    if problems:
        raise PolicyConfigError("invalid policy pack config:\n  " + "\n  ".join(problems))


# ---------------------------------------------------------------------------- engine stub


class _Engine(engine_pb2_grpc.EngineServicer):
    """The part of the engine a policy pack calls back: Log (kept for error reports)."""

    def __init__(self) -> None:
        self.logs: deque[str] = deque(maxlen=200)

    def Log(self, request: Any, context: Any) -> empty_pb2.Empty:
        self.logs.append(f"{request.severity}: {request.message}")
        return empty_pb2.Empty()


# ---------------------------------------------------------------------------- resources


def _struct(values: Mapping[str, Any] | None) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    if values:
        # The engine skips internal keys (`__...`) when marshalling properties for analyzers.
        struct.update({k: v for k, v in values.items() if not str(k).startswith("__")})
    return struct


def _options(resource: Mapping[str, Any]) -> analyzer_pb2.AnalyzerResourceOptions:
    """The resource options the engine passes (recorded under "options" by the plan)."""
    opts = resource.get("options") or {}
    replace_first = opts.get("deleteBeforeReplace")
    return analyzer_pb2.AnalyzerResourceOptions(
        parent=resource.get("parent") or "",
        protect=bool(opts.get("protect", False)),
        ignoreChanges=list(opts.get("ignoreChanges") or ()),
        deleteBeforeReplace=bool(replace_first),
        deleteBeforeReplaceDefined=replace_first is not None,
        additionalSecretOutputs=list(opts.get("additionalSecretOutputs") or ()),
        aliases=list(opts.get("aliases") or ()),
        customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(),
    )


def analyze_request(resource: Mapping[str, Any]) -> analyzer_pb2.AnalyzeRequest:
    """What the engine sends for one resource: its inputs."""
    return analyzer_pb2.AnalyzeRequest(
        urn=resource["urn"],
        type=resource["type"],
        name=resource["name"],
        properties=_struct(resource.get("inputs")),
        options=_options(resource),
    )


def stack_resource(resource: Mapping[str, Any]) -> analyzer_pb2.AnalyzerResource:
    """What the engine sends for one resource in AnalyzeStack: its state (inputs + outputs)."""
    state = {**(resource.get("inputs") or {}), **(resource.get("outputs") or {})}
    return analyzer_pb2.AnalyzerResource(
        urn=resource["urn"],
        type=resource["type"],
        name=resource["name"],
        properties=_struct(state),
        options=_options(resource),
        parent=resource.get("parent") or "",
        dependencies=list((resource.get("options") or {}).get("dependsOn") or ()),
    )


# ---------------------------------------------------------------------------- harness


class PolicyHarness:
    """One running policy pack, configured for one stack. Use as a context manager."""

    def __init__(
        self,
        pack_dir: Path = POLICY_PACK_DIR,
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
        self.pack_dir = Path(pack_dir).resolve()
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

    def __enter__(self) -> PolicyHarness:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.close()
            raise

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
                    enforcementLevel=_LEVEL_VALUES[level], properties=_struct(props)
                )
            )
        self._call("Configure", request)

    def close(self) -> None:
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
                level=_LEVELS.get(d.enforcementLevel, "advisory"),
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
    pack_dir: Path = POLICY_PACK_DIR,
    policy_config: Mapping[str, Any] | None = None,
    config: Mapping[str, str] | None = None,
) -> CheckResult:
    """Start the pack for `stack` (its settings and `config.<stack>.json`), check, stop."""
    if config is None:
        config = stack_config(stack)
    if policy_config is None:
        environment = config.get(f"{CONFIG_NAMESPACE}:environment")
        policy_config = load_pack_config(stack, pack_dir, environment=environment)
    with PolicyHarness(pack_dir, stack=stack, config=config, policy_config=policy_config) as pack:
        return pack.check(resources)
