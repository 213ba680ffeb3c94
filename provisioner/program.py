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
import json
import runpy
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from contract.aws_types import STACK
from contract.naming import CONFIG_NAMESPACE, PROJECT
from provisioner.aws_shapes import AwsShapedBackend
from provisioner.errors import UsageError
from provisioner.paths import PROGRAM, STACKS_DIR
from provisioner.records import (
    Path_,
    ProgramError,
    ProgramRun,
    RecordedResource,
    ResourceBackend,
    ResourceRequest,
)
from roadmap.settings import StackSettings
from roadmap.stack_config import StackSettingsError, read_stack_config, settings_from_config

__all__ = [
    "engine_config",
    "run_program",
    "stack_config",
]


# Signatures of the SDK's wire encoding (pulumi/runtime/rpc.py).
_SIG = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
_ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"
_RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


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
        if qualified != STACK:
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
            if request.type == STACK:
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


_RUNS_LOCK = threading.Lock()
_RUNS: dict[str, Any] = {"count": 0, "gc_was_enabled": False, "undo": None}


@contextlib.contextmanager
def _runtime_tuned() -> Iterator[None]:
    """Hold CPython's cyclic garbage collector off for a run, then collect once; and run
    with the SDK's linear output drain and no source stack traces (`sdk_seams`).

    Until a run ends, the SDK keeps about 200 tracked objects per resource alive (pending
    tasks, futures, contexts, closures, Outputs), and CPython rescans the whole of that
    growing heap in a full collection each time it grows by a quarter. That made the mock
    runtime superlinear: for the bare program at 150 integrations (7,780 resources), 13
    full collections took 9.3 s of 16.0 s. A single collection of what the run allocated is
    linear and frees the same cycles. Nested or concurrent runs share one pause; the last to
    finish restores the collector's previous state and the SDK's own functions. What a run
    records does not change.
    """
    from provisioner.sdk_seams import quicken_mock_runtime

    with _RUNS_LOCK:
        if _RUNS["count"] == 0:
            _RUNS["gc_was_enabled"] = gc.isenabled()
            gc.disable()
            _RUNS["undo"] = quicken_mock_runtime()
        _RUNS["count"] += 1
    try:
        yield
    finally:
        with _RUNS_LOCK:
            _RUNS["count"] -= 1
            last = _RUNS["count"] == 0
            if last:
                _RUNS["undo"]()
                if _RUNS["gc_was_enabled"]:
                    gc.enable()
        if last and _RUNS["gc_was_enabled"]:
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
    with _runtime_tuned():
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
