"""Run the real Pulumi program (`__main__.py`) under the SDK's mock runtime and record it.

The program is executed the way the Python language host executes it
(`runpy.run_path(program, run_name="__main__")` inside `pulumi.runtime.run_in_stack`), with
project `integration-provisioner`, stack = the environment, and config read from
`stacks/Pulumi.<env>.yaml`. Every resource registration is recorded as contracts.md
describes (type, name, urn, parent, camelCase inputs, outputs). What each resource "is"
comes from a pluggable `ResourceBackend`: `AwsShapedBackend` invents AWS-shaped ids and
ARNs (plan, check); the rehearsal supplies one that creates each resource in moto.

Usage::

    run = run_program("dev")
    for resource in run.resources:
        print(resource.type, resource.name, resource.outputs["id"])
    run.find("quote-to-order-dlq").inputs["messageRetentionSeconds"]  # 1209600

Re-runnable in one process: each run happens on a fresh thread (fresh context variables
and event loop) with every SDK setting replaced, so runs never see each other's state.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import runpy
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from google.protobuf import json_format

from contract.naming import CONFIG_NAMESPACE, PROJECT, SECRET
from provisioner.errors import UsageError
from provisioner.paths import PROGRAM, STACKS_DIR
from roadmap.settings import StackSettings
from roadmap.stack_config import StackSettingsError, read_stack_config, settings_from_config

__all__ = [
    "SECRET",
    "AwsShapedBackend",
    "ProgramError",
    "ProgramRun",
    "RecordedResource",
    "ResourceBackend",
    "ResourceRequest",
    "run_program",
    "stack_config",
    "stand_in_account",
]


# Signatures of the SDK's wire encoding (pulumi/runtime/rpc.py).
_SIG = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
_ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"
_RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

Path_ = tuple[str | int, ...]


class ProgramError(Exception):
    """The program failed (a user error it reported, or a bug); the message says which."""


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class ResourceRequest:
    """What a backend is asked to create: the resource as the engine would see it."""

    type: str
    name: str
    urn: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]  # camelCase, secrets unwrapped, integral floats back to ints
    import_id: str = ""


@dataclass(frozen=True)
class RecordedResource:
    """One registered resource (contracts.md, "Recorded resources").

    `inputs` hold plain values (secrets unwrapped: the rehearsal needs them); the paths of
    values the SDK marked secret are in `secret_paths`, and `to_json()` redacts them.
    `options` carries the resource options the engine would pass to an analyzer:
    protect, ignoreChanges, dependsOn, deleteBeforeReplace, additionalSecretOutputs, and
    aliases (the former URNs the engine resolves, inherited ones included).
    """

    type: str
    name: str
    urn: str
    parent: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    custom: bool = True
    secret_paths: frozenset[Path_] = frozenset()
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str | None:
        return self.outputs.get("id")

    def redacted_inputs(self) -> dict[str, Any]:
        """Inputs with every value the SDK marked secret replaced by "[secret]"."""
        redacted: dict[str, Any] = _redact(self.inputs, self.secret_paths)
        return redacted

    def to_json(self, *, redact: bool = True) -> dict[str, Any]:
        """The contract's JSON shape: type, name, urn, parent, inputs, outputs."""
        return {
            "type": self.type,
            "name": self.name,
            "urn": self.urn,
            "parent": self.parent,
            "inputs": self.redacted_inputs() if redact else self.inputs,
            "outputs": self.outputs,
        }


@dataclass
class ProgramRun:
    """Everything one run of the program registered, in registration order."""

    stack: str
    settings: StackSettings
    config: dict[str, str]
    resources: list[RecordedResource]
    stack_outputs: dict[str, Any] = field(default_factory=dict)

    def by_type(self, type_: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_]

    def find(self, name: str, type_: str | None = None) -> RecordedResource:
        """The one resource with this logical name (and type, when names repeat)."""
        found = [r for r in self.resources if r.name == name and type_ in (None, r.type)]
        if len(found) != 1:
            raise KeyError(f"{len(found)} resources named {name!r} (type {type_})")
        return found[0]

    def by_urn(self, urn: str) -> RecordedResource:
        return next(r for r in self.resources if r.urn == urn)

    def descendants(self, urn: str) -> list[RecordedResource]:
        """Resources whose parent chain reaches `urn`."""
        parents = {r.urn: r.parent for r in self.resources}

        def under(u: str | None) -> bool:
            while u is not None:
                if u == urn:
                    return True
                u = parents.get(u)
            return False

        return [r for r in self.resources if r.urn != urn and under(r.parent)]

    def integration_of(self, resource: RecordedResource) -> str | None:
        """The name of the Integration component a resource belongs to, if any."""
        by_urn = {r.urn: r for r in self.resources}
        current: RecordedResource | None = resource
        while current is not None:
            if current.type == "provisioner:index:Integration":
                return current.name
            current = by_urn.get(current.parent) if current.parent else None
        return None


# --------------------------------------------------------------------------- backends


class ResourceBackend(Protocol):
    """Decides what each registered resource is: its id and computed outputs.

    `create` returns `(id, outputs)`; outputs are merged over the inputs as the engine
    does, so they need only the computed properties (`arn`, `url`, ...). The rehearsal
    implements this by creating the resource in moto and returning real ids and ARNs.
    """

    def create(self, request: ResourceRequest) -> tuple[str, dict[str, Any]]: ...

    def call(self, token: str, args: dict[str, Any]) -> dict[str, Any]: ...


# What `aws.get_caller_identity()` answers under the mock runtime when the stack allows no
# particular account: the example account of the AWS documentation (and moto's default).
EXAMPLE_ACCOUNT = "123456789012"


def stand_in_account(settings: StackSettings) -> str:
    """The account a plan or rehearsal of the stack runs as: its first allowed account."""
    return settings.allowed_account_ids[0] if settings.allowed_account_ids else EXAMPLE_ACCOUNT


def _short_hash(*parts: str, length: int = 8) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


_Made = tuple[str, dict[str, Any]]  # a resource's id and its outputs


class AwsShapedBackend:
    """Invents ids and ARNs in the shapes AWS returns, deterministically from the URN."""

    def __init__(self, settings: StackSettings) -> None:
        self.region = settings.region
        self.account = stand_in_account(settings)

    def _arn(self, service: str, resource: str, *, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account}:{resource}"

    def create(self, request: ResourceRequest) -> tuple[str, dict[str, Any]]:
        if not request.custom:  # components have no id of their own
            return "", {}
        inputs, t = request.inputs, request.type
        name = str(inputs.get("name") or inputs.get("dashboardName") or request.name)
        h = _short_hash(request.urn)
        service = t.split(":")[1].split("/")[0] if t.startswith("aws:") else "unknown"
        shape = _SHAPES.get(service)
        made = shape(self, request, name, h) if shape is not None else None
        if made is not None:
            return made
        # Anything else: a stable id; an ARN when the type is an AWS one we do not model.
        return f"{name}-{h}", {"arn": self._arn(service, f"{name}-{h}")}

    def _uuid(self, request: ResourceRequest) -> str:
        return str(uuid.UUID(hashlib.md5(request.urn.encode()).hexdigest()))

    # One method per AWS service, as AWS (and moto) organise them: the resource's id and
    # outputs, or None for a type of the service it does not model.

    def _sqs(self, request: ResourceRequest, name: str, h: str) -> _Made | None:
        if request.type == "aws:sqs/queue:Queue":
            url = f"https://sqs.{self.region}.amazonaws.com/{self.account}/{name}"
            return url, {"arn": self._arn("sqs", name), "url": url, "name": name}
        if request.type in (
            "aws:sqs/queuePolicy:QueuePolicy",
            "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy",
        ):
            return str(request.inputs.get("queueUrl")), {}
        return None

    def _iam(self, request: ResourceRequest, name: str, h: str) -> _Made | None:
        t, inputs = request.type, request.inputs
        if t == "aws:iam/role:Role":
            out = {"arn": f"arn:aws:iam::{self.account}:role/{name}", "name": name}
            out["uniqueId"] = "AROA" + _short_hash(request.urn, length=16).upper()
            return name, out
        if t == "aws:iam/user:User":
            return name, {"arn": f"arn:aws:iam::{self.account}:user/{name}", "name": name}
        if t in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/userPolicy:UserPolicy"):
            owner = inputs.get("role") or inputs.get("user")
            return f"{owner}:{name}", {"name": name}
        return None

    def _kms(self, request: ResourceRequest, name: str, h: str) -> _Made | None:
        if request.type == "aws:kms/key:Key":
            key_id = self._uuid(request)
            return key_id, {"arn": self._arn("kms", f"key/{key_id}"), "keyId": key_id}
        if request.type == "aws:kms/alias:Alias":
            return name, {"arn": self._arn("kms", name)}
        return None

    def _secretsmanager(self, request: ResourceRequest, name: str, h: str) -> _Made | None:
        t, inputs = request.type, request.inputs
        if t == "aws:secretsmanager/secret:Secret":
            arn = self._arn("secretsmanager", f"secret:{name}-{h[:6]}")
            return arn, {"arn": arn, "name": name}
        if t == "aws:secretsmanager/secretVersion:SecretVersion":
            version = self._uuid(request)
            return f"{inputs.get('secretId')}|{version}", {
                "arn": inputs.get("secretId"),
                "versionId": version,
                "versionStages": ["AWSCURRENT"],
            }
        if t == "aws:secretsmanager/secretRotation:SecretRotation":
            return str(inputs.get("secretId")), {"rotationEnabled": True}
        return None

    def _lambda(self, request: ResourceRequest, name: str, h: str) -> _Made | None:
        t, inputs = request.type, request.inputs
        if t == "aws:lambda/function:Function":
            return name, {
                "arn": self._arn("lambda", f"function:{name}"),
                "invokeArn": f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/"
                f"functions/{self._arn('lambda', f'function:{name}')}/invocations",
                "qualifiedArn": self._arn("lambda", f"function:{name}:$LATEST"),
                "version": "$LATEST",
                "name": name,
            }
        if t == "aws:lambda/permission:Permission":
            return f"{inputs.get('function')}:{h}", {"statementId": f"terraform-{h}"}
        if t == "aws:lambda/functionUrl:FunctionUrl":
            # Lambda developer guide, "Creating and managing Lambda function URLs": the URL's
            # host is a generated id under lambda-url.<region>.on.aws.
            function = str(inputs.get("functionName"))
            return function, {
                "functionArn": self._arn("lambda", f"function:{function}"),
                "functionUrl": f"https://{_short_hash(request.urn, length=32)}.lambda-url."
                f"{self.region}.on.aws/",
                "urlId": h,
            }
        if t == "aws:lambda/eventSourceMapping:EventSourceMapping":
            esm = self._uuid(request)
            return esm, {
                "uuid": esm,
                "arn": self._arn("lambda", f"event-source-mapping:{esm}"),
                "state": "Enabled" if inputs.get("enabled", True) else "Disabled",
            }
        return None

    def _cloudwatch(self, request: ResourceRequest, name: str, h: str) -> _Made | None:
        t = request.type
        if t == "aws:cloudwatch/logGroup:LogGroup":
            return name, {"arn": self._arn("logs", f"log-group:{name}")}
        if t == "aws:cloudwatch/metricAlarm:MetricAlarm":
            return name, {"arn": self._arn("cloudwatch", f"alarm:{name}")}
        if t == "aws:cloudwatch/eventRule:EventRule":
            return name, {"arn": self._arn("events", f"rule/{name}")}
        if t == "aws:cloudwatch/eventTarget:EventTarget":
            return f"{request.inputs.get('rule')}-{h}", {"targetId": h}
        if t == "aws:cloudwatch/dashboard:Dashboard":
            return name, {"dashboardArn": f"arn:aws:cloudwatch::{self.account}:dashboard/{name}"}
        return None

    def _sns(self, request: ResourceRequest, name: str, h: str) -> _Made | None:
        if request.type == "aws:sns/topic:Topic":
            arn = self._arn("sns", name)
            return arn, {"arn": arn, "name": name}
        if request.type == "aws:sns/topicSubscription:TopicSubscription":
            arn = f"{request.inputs.get('topic')}:{self._uuid(request)}"
            return arn, {"arn": arn}
        if request.type == "aws:sns/topicPolicy:TopicPolicy":
            return str(request.inputs.get("arn")), {}
        return None

    def _dynamodb(self, request: ResourceRequest, name: str, h: str) -> _Made | None:
        if request.type == "aws:dynamodb/table:Table":
            return name, {"arn": self._arn("dynamodb", f"table/{name}"), "streamArn": ""}
        if request.type == "aws:dynamodb/resourcePolicy:ResourcePolicy":
            return str(request.inputs.get("resourceArn")), {"revisionId": h}
        return None

    def _s3(self, request: ResourceRequest, name: str, h: str) -> _Made | None:
        inputs = request.inputs
        if request.type == "aws:s3/bucket:Bucket":
            bucket = str(inputs.get("bucket") or name)
            return bucket, {"arn": f"arn:aws:s3:::{bucket}", "bucket": bucket}
        if request.type.startswith("aws:s3/bucket") and inputs.get("bucket"):
            return str(inputs["bucket"]), {}  # a bucket's configuration
        return None

    def _cloudtrail(self, request: ResourceRequest, name: str, h: str) -> _Made | None:
        if request.type == "aws:cloudtrail/trail:Trail":
            arn = self._arn("cloudtrail", f"trail/{name}")
            return arn, {"arn": arn, "homeRegion": self.region}
        return None

    def call(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": self.account,
                "arn": f"arn:aws:iam::{self.account}:user/deployer",
                "userId": "AIDADEPLOYER",
            }
        if token in ("aws:index/getRegion:getRegion", "aws:index/region:getRegion"):
            return {"name": self.region, "region": self.region, "id": self.region}
        if token == "aws:iam/getSessionContext:getSessionContext":
            return _session_context(str(args.get("arn", "")))
        raise ProgramError(f"the program made a provider call the mocks do not know: {token}")


# The service part of a type token (aws:<service>/...) -> the backend's method for it.
_SHAPES: dict[str, Callable[[AwsShapedBackend, ResourceRequest, str, str], _Made | None]] = {
    "sqs": AwsShapedBackend._sqs,
    "iam": AwsShapedBackend._iam,
    "kms": AwsShapedBackend._kms,
    "secretsmanager": AwsShapedBackend._secretsmanager,
    "lambda": AwsShapedBackend._lambda,
    "cloudwatch": AwsShapedBackend._cloudwatch,
    "sns": AwsShapedBackend._sns,
    "dynamodb": AwsShapedBackend._dynamodb,
    "s3": AwsShapedBackend._s3,
    "cloudtrail": AwsShapedBackend._cloudtrail,
}


def _session_context(arn: str) -> dict[str, Any]:
    """What `aws.iam.get_session_context` answers: a role session's role, else the ARN.

    The mocks cannot look up a role's path, so the role ARN they give has none.
    """
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        _, role, session = parts[5].split("/", 2)
        issuer = f"arn:aws:iam::{parts[4]}:role/{role}"
        return {"arn": arn, "issuerArn": issuer, "issuerName": role, "sessionName": session}
    return {"arn": arn, "issuerArn": arn, "issuerName": arn.rsplit("/", 1)[-1]}


# --------------------------------------------------------------------------- decoding


def _integral(value: Any) -> Any:
    """protobuf Struct carries every number as a double: give integers back their type."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _decode(value: Any, path: Path_, secrets: set[Path_]) -> Any:
    """Unwrap the SDK's wire encoding into plain JSON values, noting secret paths."""
    if isinstance(value, dict):
        sig = value.get(_SIG)
        if sig == _SECRET_SIG:
            secrets.add(path)
            return _decode(value.get("value"), path, set())
        if sig == _OUTPUT_SIG:
            if value.get("secret"):
                secrets.add(path)
            return _decode(value.get("value"), path, set()) if "value" in value else None
        if sig == _ARCHIVE_SIG:
            kind = next((k for k in ("path", "uri", "assets") if k in value), "path")
            return {"archive": {kind: value.get(kind)}}
        if sig == _ASSET_SIG:
            kind = next((k for k in ("path", "uri", "text") if k in value), "path")
            return {"asset": {kind: value.get(kind)}}
        if sig == _RESOURCE_SIG:
            return value.get("id") or value.get("urn")
        return {k: _decode(v, (*path, k), secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, (*path, i), secrets) for i, v in enumerate(value)]
    if value == _UNKNOWN:
        return None
    return _integral(value)


def _redact(value: Any, secret_paths: frozenset[Path_], path: Path_ = ()) -> Any:
    if path in secret_paths:
        return SECRET
    if isinstance(value, dict):
        return {k: _redact(v, secret_paths, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, secret_paths, (*path, i)) for i, v in enumerate(value)]
    return value


def _plain(value: Any) -> Any:
    """SDK-deserialised outputs to JSON values (secret wrappers off, ints back)."""
    if isinstance(value, dict):
        if value.get(_SIG) == _SECRET_SIG:
            return _plain(value.get("value"))
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return _integral(value)


# --------------------------------------------------------------------------- running


def engine_config(
    stack: str, stacks_dir: Path = STACKS_DIR
) -> tuple[dict[str, str], frozenset[str]]:
    """The stack file's config as the engine hands it to a program (strings, objects as
    JSON) and the keys it marks secret; a `secure:` value reads as SECRET, never decrypted."""
    try:
        config, secret = read_stack_config(stacks_dir, stack)
    except StackSettingsError as err:
        raise UsageError(str(err)) from None
    encoded = {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()
    }
    return encoded, secret


def stack_config(stack: str, stacks_dir: Path = STACKS_DIR) -> dict[str, str]:
    """The stack file's config as the engine hands it to a program: strings, objects as JSON."""
    return engine_config(stack, stacks_dir)[0]


def _engine_urn(stack: str, parent: str, type_: str, name: str) -> str:
    """A resource's URN as the engine makes it.

    The engine qualifies a child's type with its parent's whole type chain (the root stack
    excluded); the SDK's mock keeps only the parent's last type.
    """
    if parent:
        qualified = parent.split("::")[2]
        if qualified != "pulumi:pulumi:Stack":
            type_ = f"{qualified}${type_}"
    return f"urn:pulumi:{stack}::{PROJECT}::{type_}::{name}"


def _former_urns(stack: str, names: dict[str, tuple[str, list[str]]], request: Any) -> list[str]:
    """The URNs the engine resolves a resource's aliases to.

    Its own alias specs, then one alias per alias of its parent: a child whose name starts
    with its parent's name takes the parent's former name in that prefix (Pulumi docs,
    "Resource options: aliases": children inherit their parent's). `names` holds each
    registered URN's (name, former URNs).
    """
    formers: list[str] = []
    for alias in request.aliases:
        if alias.urn:
            formers.append(alias.urn)
            continue
        spec = alias.spec
        parent = "" if spec.noParent else (spec.parentUrn or request.parent)
        formers.append(
            _engine_urn(stack, parent, spec.type or request.type, spec.name or request.name)
        )
    parent_name, parent_formers = names.get(request.parent, ("", []))
    for parent_former in parent_formers:
        name = request.name
        if parent_name and name.startswith(parent_name):
            name = parent_former.rsplit("::", 1)[1] + name[len(parent_name) :]
        formers.append(_engine_urn(stack, parent_former, request.type, name))
    return formers


def _analyzer_options(request: Any, aliases: list[str]) -> dict[str, Any]:
    """The resource options the engine passes to an analyzer, from a registration."""
    return {
        "protect": bool(request.protect),
        "ignoreChanges": list(request.ignoreChanges),
        "dependsOn": list(request.dependencies),
        "deleteBeforeReplace": bool(request.deleteBeforeReplace),
        "additionalSecretOutputs": list(request.additionalSecretOutputs),
        "aliases": aliases,
    }


def _make_monitor(
    stack: str,
    backend: ResourceBackend,
    records: list[RecordedResource],
    exports: dict[str, Any],
) -> Any:
    from pulumi.runtime import mocks, rpc
    from pulumi.runtime.proto import resource_pb2

    from provisioner.sdk_seams import ensure_event_loop, sync_await

    class _Mocks(mocks.Mocks):
        def new_resource(  # pragma: no cover - unused
            self, args: mocks.MockResourceArgs
        ) -> tuple[str | None, dict[Any, Any]]:
            raise AssertionError("registration goes through RecordingMonitor")

        def call(self, args: mocks.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]]]:
            return backend.call(args.token, _plain(args.args)), []

    class RecordingMonitor(mocks.MockMonitor):
        """The SDK's MockMonitor, recording what the engine would see at registration."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # urn -> (name, former URNs), for the aliases children inherit.
            self.names: dict[str, tuple[str, list[str]]] = {}

        def make_urn(self, parent: str, type_: str, name: str) -> str:
            return _engine_urn(stack, parent, type_, name)

        def former_urns(self, request: Any, urn: str) -> list[str]:
            formers = _former_urns(stack, self.names, request)
            self.names[urn] = (request.name, formers)
            return formers

        def RegisterResource(self, request: Any) -> Any:
            urn = self.make_urn(request.parent, request.type, request.name)
            if request.type == "pulumi:pulumi:Stack":
                self.stack_urn = urn
                return resource_pb2.RegisterResourceResponse(urn=urn)
            aliases = self.former_urns(request, urn)
            ensure_event_loop()
            raw = json_format.MessageToDict(request.object)
            secret_paths: set[Path_] = set()
            inputs = _decode(raw, (), secret_paths)
            parent = request.parent or None
            if parent is not None and parent == getattr(self, "stack_urn", None):
                parent = None
            resource_request = ResourceRequest(
                type=request.type,
                name=request.name,
                urn=urn,
                parent=parent,
                custom=bool(request.custom),
                inputs=inputs,
                import_id=request.importId,
            )
            id_, computed = backend.create(resource_request)
            computed = _plain(computed)
            # The engine's outputs are the inputs plus what the provider computed.
            sdk_inputs = rpc.deserialize_properties(request.object)
            state = {**sdk_inputs, **computed}
            records.append(
                RecordedResource(
                    type=request.type,
                    name=request.name,
                    urn=urn,
                    parent=parent,
                    inputs=inputs,
                    outputs={"id": id_, **computed} if request.custom else {},
                    custom=bool(request.custom),
                    secret_paths=frozenset(secret_paths),
                    options=_analyzer_options(request, aliases),
                )
            )
            obj = sync_await(rpc.serialize_properties(state, {}))
            self.resources[urn] = mocks.MockMonitor.ResourceRegistration(urn, id_, state)
            return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=obj)

        def RegisterResourceOutputs(self, request: Any) -> Any:
            if request.urn == getattr(self, "stack_urn", None):
                exports.update(_plain(rpc.deserialize_properties(request.outputs)))
            return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]

    return RecordingMonitor(_Mocks())


def _execute(
    program: Path, stack: str, config: Mapping[str, str], secret: frozenset[str], monitor: Any
) -> None:
    """Configure the SDK from scratch and run `program` as the language host would."""
    import pulumi
    from pulumi.runtime import config as sdk_config
    from pulumi.runtime import mocks, settings
    from pulumi.runtime import stack as sdk_stack

    from provisioner.sdk_seams import mock_settings

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        features = set(monitor.GetDeploymentInfo(None).supportedFeatures)
        # Replace every setting (some are context properties whose defaults leak between
        # contexts once set): a fresh RPC manager, output set and lock per run.
        settings.configure(
            mock_settings(
                monitor=monitor,
                monitor_features=features,
                engine=mocks.MockEngine(None),
                project=PROJECT,
                stack=stack,
                dry_run=False,  # an update, so every output resolves (no unknowns)
                organization="organization",
                root_directory=str(program.parent),
                parallel=0,
                legacy_apply_enabled=False,
                callbacks=None,
                outputs=set(),
                lock=threading.Lock(),
                package_refs={},
                base_providers_by_ref={},
            )
        )
        settings.ROOT.set(None)
        sdk_config.set_all_config(dict(config), sorted(secret))

        def main() -> None:
            runpy.run_path(str(program), run_name="__main__")

        loop.run_until_complete(sdk_stack.run_in_stack(main))
    except pulumi.RunError as err:
        raise ProgramError(str(err)) from None
    finally:
        loop.run_until_complete(loop.shutdown_default_executor())
        asyncio.set_event_loop(None)
        loop.close()


_GC_LOCK = threading.Lock()
_GC_STATE = {"runs": 0, "was_enabled": False}


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Hold CPython's cyclic garbage collector off for a run, then collect once.

    Until a run ends, the SDK keeps about 200 tracked objects per resource alive (pending
    tasks, futures, contexts, closures, Outputs), and CPython rescans the whole of that
    growing heap in a full collection each time it grows by a quarter. That made the mock
    runtime superlinear: for the bare program at 150 integrations (7,780 resources), 13
    full collections took 9.3 s of 16.0 s. A single collection of what the run allocated is
    linear and frees the same cycles. Nested or concurrent runs share one pause; the last to finish
    restores the collector's previous state. What a run records does not change.
    """
    with _GC_LOCK:
        if _GC_STATE["runs"] == 0:
            _GC_STATE["was_enabled"] = gc.isenabled()
            gc.disable()
        _GC_STATE["runs"] += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_STATE["runs"] -= 1
            resume = _GC_STATE["runs"] == 0 and bool(_GC_STATE["was_enabled"])
            if resume:
                gc.enable()
        if resume:
            # Everything allocated during the pause is still in the youngest generation:
            # collect that, not the whole process heap.
            gc.collect(0)


def run_program(
    stack: str,
    *,
    roadmap: Path | None = None,
    config: Mapping[str, Any] | None = None,
    backend: Callable[[StackSettings], ResourceBackend] | None = None,
    program: Path = PROGRAM,
    stacks_dir: Path = STACKS_DIR,
    build: bool = True,
) -> ProgramRun:
    """Run the program for `stack` under mocks and return what it registered.

    `roadmap` overrides the stack's roadmap path; `config` overrides
    `integration-provisioner:<key>` values (plain values; non-strings are JSON-encoded,
    as the engine does); `backend` builds the ResourceBackend from the settings
    (default `AwsShapedBackend`). Raises ProgramError when the program fails.
    The program reads only built Lambda bundles; `build` builds them first (cached by
    content hash, as `provisioner build` does), as every offline command wants.
    """
    if build:
        from provisioner.bundles import BundleBuildError, build_all

        try:
            build_all()
        except BundleBuildError as err:
            raise ProgramError(f"cannot build the Lambda bundles: {err}") from None
    values, secret = engine_config(stack, stacks_dir)
    for key, value in (config or {}).items():
        full = key if ":" in key else f"{CONFIG_NAMESPACE}:{key}"
        values[full] = value if isinstance(value, str) else json.dumps(value)
    if roadmap is not None:
        values[f"{CONFIG_NAMESPACE}:roadmap"] = str(Path(roadmap).resolve())
    settings = _settings_for(stack, values, secret)

    records: list[RecordedResource] = []
    exports: dict[str, Any] = {}
    chosen = (backend or AwsShapedBackend)(settings)
    monitor = _make_monitor(stack, chosen, records, exports)
    failure: list[BaseException] = []

    def target() -> None:
        try:
            _execute(program, stack, values, secret, monitor)
        except BaseException as err:  # handed to the caller's thread below
            failure.append(err)

    # A new thread starts with empty context variables and no event loop.
    worker = threading.Thread(target=target, name=f"pulumi-program-{stack}")
    with _collector_paused():
        worker.start()
        worker.join()
    if failure:
        raise failure[0]
    return ProgramRun(stack, settings, values, records, exports)


def _settings_for(stack: str, values: Mapping[str, str], secret: frozenset[str]) -> StackSettings:
    """The settings the program will read, for the backend (region, account)."""
    prefix = f"{CONFIG_NAMESPACE}:"

    def get(key: str) -> str | None:
        return values.get(prefix + key)

    def aws_get(key: str) -> str | None:
        return values.get(f"aws:{key}")

    try:
        return settings_from_config(stack, get, aws_get, lambda key: prefix + key in secret)
    except StackSettingsError as err:
        raise UsageError(str(err)) from None


def iter_secret_values(run: ProgramRun) -> Iterator[str]:
    """Every string the SDK marked secret in any input (for tests and audits)."""
    for resource in run.resources:
        for path in resource.secret_paths:
            value: Any = resource.inputs
            for part in path:
                value = value[part]
            if isinstance(value, str):
                yield value
