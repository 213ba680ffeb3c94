"""Every use of a library's private internals, in one place.

The mock runtime that `plan`, `check` and the rehearsal run the program under needs a few
names its libraries do not export. Each is wrapped here, pinned to the versions in
`requirements.lock` (pulumi 3.272.0); `tests/test_architecture.py` keeps every other module
off them, so an upgrade that moves one breaks here and nowhere else. (The policy pack runs
apart from this package and keeps its own seam: `policies/integration_policies/_once.py`.)

Usage::

    from provisioner.sdk_seams import sync_await
    obj = sync_await(rpc.serialize_properties(state, {}))
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

__all__ = [
    "ensure_event_loop",
    "flat_contains_unknowns",
    "input_fields",
    "mock_settings",
    "one_future_transfer_properties",
    "quicken_mock_runtime",
    "remembered_by_identity",
    "sync_await",
    "typed_resource_class",
    "unwrap_input",
]

T = TypeVar("T")


def sync_await(awaitable: Awaitable[T]) -> T:
    """Run `awaitable` to completion from synchronous code inside the SDK's event loop.

    The SDK's mock monitor answers gRPC-shaped calls synchronously, so serialising a
    registration's outputs has to wait for a coroutine there (`pulumi.runtime.sync_await`).
    """
    from pulumi.runtime.sync_await import _sync_await

    return _sync_await(awaitable)


def ensure_event_loop() -> None:
    """Give the calling thread the event loop the SDK's mock monitor expects to find."""
    from pulumi.runtime import mocks

    mocks._ensure_event_loop()  # type: ignore[attr-defined, no-untyped-call]


def mock_settings(**settings: Any) -> Any:
    """The SDK's `MockSettings` (every run setting, replaced at once) from keyword arguments."""
    from pulumi.runtime import mocks

    return mocks.MockSettings(**settings)  # type: ignore[no-untyped-call]


async def linear_wait_for_rpcs(await_all_outstanding_tasks: bool = True) -> None:
    """`pulumi.runtime.stack.wait_for_rpcs`, with the outputs drained in linear time.

    After the program body returns, the pinned SDK waits for its pending outputs with
    `asyncio.wait(pending, return_when=FIRST_COMPLETED)` in a loop and puts every task that
    has not finished back, so each completed output costs one `add_done_callback` and one
    `remove_done_callback` per pending output: O(P^2) for P outputs (about 6 per resource),
    which made 500 integrations (25,000 resources) unplannable. This waits for all of them
    at once (one callback each), then awaits each so an output's exception is raised here,
    as the SDK does; outputs created meanwhile are taken in the next round, and RPCs are
    drained exactly as the SDK drains them.
    """
    from pulumi.runtime.settings import SETTINGS, _get_rpc_manager

    manager = _get_rpc_manager()
    while True:
        while manager.rpcs:
            await asyncio.sleep(0)
            try:
                await manager.rpcs.pop()
            except Exception as exn:
                if manager.unhandled_exception is not None:
                    cause = manager.unhandled_exception.with_traceback(manager.exception_traceback)
                    raise exn from cause
                raise
        if manager.unhandled_exception is not None:
            raise manager.unhandled_exception.with_traceback(manager.exception_traceback)
        while await_all_outstanding_tasks:
            with SETTINGS.lock:
                if not SETTINGS.outputs:
                    break
                pending = list(SETTINGS.outputs)
                SETTINGS.outputs.clear()
            await asyncio.wait(pending)
            for task in pending:
                await task
        if not manager.rpcs:
            return


_SCALARS = frozenset({str, int, float, bool, type(None)})


def flat_contains_unknowns(val: Any) -> bool:
    """`pulumi.runtime.rpc.contains_unknowns` without a closure per call.

    Whether `val` is the SDK's unknown or holds one in nested dicts and lists (values
    only, as the SDK checks). The pinned SDK defines a recursive inner function on every
    call: a function, its cell, its closure tuple and its evaluated annotations (`set[int]`)
    that refer to each other, so all of them are left to the cyclic collector. The SDK calls
    it for every `Output` it makes and every Output-valued input it serialises (103k calls
    at 50 integrations): 0.6M of the 1.0M objects the run's one collection had to free.
    A plain string or number is answered without allocating anything.
    """
    from pulumi.runtime.known_types import is_unknown

    if type(val) in _SCALARS:  # most calls: an Output's resolved string, number or flag
        return False
    if is_unknown(val):
        return True
    if not isinstance(val, dict | list):
        return False
    seen: set[int] = set()
    pending: list[Any] = [val]
    while pending:
        item = pending.pop()
        if is_unknown(item):
            return True
        if isinstance(item, dict | list) and id(item) not in seen:
            seen.add(id(item))
            pending.extend(item.values() if isinstance(item, dict) else item)
    return False


def remembered_by_identity(function: Callable[[Any], T]) -> Callable[[Any], T]:
    """`function` of one argument, its answer kept per argument object.

    By identity, not equality: typing's `Union[A, B] == Union[B, A]`, while the SDK's
    unwrapping takes the first member. Each entry keeps its argument alive, so an id is never
    reused for another object while the memo lives (one mock run session).
    """
    answers: dict[int, tuple[Any, T]] = {}

    def remembered(value: Any) -> T:
        entry = answers.get(id(value))
        if entry is not None and entry[0] is value:
            return entry[1]
        answer = function(value)
        answers[id(value)] = (value, answer)
        return answer

    return remembered


def one_future_transfer_properties(res: Any, props: Any, custom: bool) -> dict[str, Any]:
    """`pulumi.runtime.rpc.transfer_properties` with one future per property, not four and a task.

    Before registering a resource the SDK gives it an `Output` attribute for every property
    it declares, and a resolver that settles it when the monitor answers. The pinned SDK
    makes four futures per property (value, known, secret, dependencies) and a task whose
    coroutine awaits them in turn into the `Output`'s one data future, then tracks that task
    until a done-callback scheduled on the event loop drops it. A pulumi-aws class declares
    every input and output of its resource (15 properties a resource on average here), so
    this was the largest part of what a typed registration costs over an untyped one.
    Here the resolver settles the data future itself, as the SDK's own `resource_output`
    does for `urn` and `id`: the same value, known and secret flags, dependencies (the
    resource joined to those the monitor named) and failure. The drain's bookkeeping is kept
    too: the future is in `SETTINGS.outputs` until it settles with a value, and a failed or
    unsettled one stays there for the drain to raise, as the SDK's callback leaves it.
    """
    from pulumi import Output
    from pulumi.output import _OutputData
    from pulumi.runtime.settings import SETTINGS

    lock, outputs = SETTINGS.lock, SETTINGS.outputs

    def resolver(data: asyncio.Future[Any]) -> Callable[..., None]:
        def resolve(
            value: Any,
            is_known: bool,
            is_secret: bool,
            deps: Any,
            failed: Exception | None,
        ) -> None:
            if failed is not None:
                data.set_exception(failed)  # stays tracked, as the SDK leaves a failed output
                return
            resources = set(deps) if deps else set()
            resources.add(res)
            settled = _OutputData(resources, value, is_known, is_secret)
            data.set_result(settled)
            with lock:
                outputs.discard(data)

        return resolve

    resolvers: dict[str, Callable[..., None]] = {}
    for name in props:
        if name == "urn" or (name == "id" and custom):
            continue  # the SDK settles these two itself
        data: asyncio.Future[Any] = asyncio.Future()
        resolvers[name] = resolver(data)
        output = object.__new__(Output)
        output._data = data
        with lock:
            outputs.add(data)
        res.__dict__[name] = output
    return resolvers


def _no_stack_trace() -> Any:
    from pulumi.runtime.proto import source_pb2

    return source_pb2.StackTrace()


def quicken_mock_runtime() -> Callable[[], None]:
    """Swap in what a run under the mock runtime needs from the SDK; returns the undo.

    * `pulumi.runtime.stack.wait_for_rpcs` becomes `linear_wait_for_rpcs` (above).
    * `pulumi.runtime.resource._get_stack_trace` returns an empty trace. For every resource
      of a typed provider class (three `__init__` frames deep) the SDK walks the whole call
      stack and turns each frame's file into a URI, for the engine to place error messages;
      the mock monitor drops it (`provisioner.program` records neither `sourcePosition`
      nor `stackTrace`), and it was a fifth of a plan's time. A bare
      `pulumi.CustomResource` already gets the empty trace.
    * `pulumi.runtime.rpc.contains_unknowns` becomes `flat_contains_unknowns` (same
      answers, no garbage per call; a quarter of a plan's CPU time went into collecting it).
    * `pulumi._types.resource_types` (a resource class's output types) and
      `pulumi._types.unwrap_type` (`T` of an annotation) remember their answers: both are
      pure functions of a class or an annotation, yet the SDK recomputed the first on every
      registration (`typing.get_type_hints` over the class and its bases, evaluating the
      string annotations again) and the second for every input it serialises (55k calls at
      50 integrations).
    * `pulumi.runtime.rpc.transfer_properties` becomes `one_future_transfer_properties`
      (the same `Output`s, settled without four futures and a task each).

    Process-wide: the caller holds it for every run under way and undoes it after the last
    (`provisioner.program.run_program`). `pulumi up` runs the program in the language
    host, never through here, and keeps the SDK's own.
    """
    import pulumi.runtime.resource as sdk_resource
    import pulumi.runtime.rpc as sdk_rpc
    import pulumi.runtime.stack as sdk_stack
    from pulumi import _types

    # Every caller, `pulumi.output` and `_types` itself included, reaches each of these
    # through its module's attribute, so replacing the attribute replaces it everywhere.
    swaps: list[tuple[Any, str, Any]] = [
        (sdk_stack, "wait_for_rpcs", linear_wait_for_rpcs),
        (sdk_resource, "_get_stack_trace", _no_stack_trace),
        (sdk_rpc, "contains_unknowns", flat_contains_unknowns),
        (sdk_rpc, "transfer_properties", one_future_transfer_properties),
        (_types, "resource_types", remembered_by_identity(_types.resource_types)),
        (_types, "unwrap_type", remembered_by_identity(_types.unwrap_type)),
    ]
    saved = [(module, name, getattr(module, name)) for module, name, _ in swaps]
    for module, name, replacement in swaps:
        setattr(module, name, replacement)

    def undo() -> None:
        for module, name, original in saved:
            setattr(module, name, original)

    return undo


def typed_resource_class(token: str) -> type[Any]:
    """The provider SDK's class for a resource type token (`aws:sqs/queue:Queue`).

    Read from the registry a provider package fills on import (pulumi-aws's
    `_utilities.register`: per `pkg:module`, the Python module and each token's class name),
    the same look-up the SDK makes to rebuild a resource from a reference. Raises
    LookupError for a token no imported package registered (import the provider first).
    """
    import importlib

    from pulumi.runtime import rpc

    pkg, mod, _ = token.split(":", 2)
    module = rpc.get_resource_module(pkg, mod, "")
    info = getattr(module, "mod_info", None) or {}
    if token not in info.get("classes", {}):
        raise LookupError(
            f"no provider class registered for the type {token!r}; import its package first"
        )
    cls: type[Any] = getattr(importlib.import_module(info["fqn"]), info["classes"][token])
    return cls


def input_fields(args_type: type[Any]) -> dict[str, tuple[str, Any]] | None:
    """An input type's fields by wire (camelCase) name: (Python name, annotated type);
    None when `args_type` is not an input type (`pulumi.input_type`)."""
    from pulumi import _types

    if not isinstance(args_type, type) or not _types.is_input_type(args_type):
        return None
    types = _types.input_type_types(args_type)
    return {
        wire: (python, types[wire])
        for python, wire in _types.input_type_py_to_pulumi_names(args_type).items()
    }


def unwrap_input(annotation: Any) -> Any:
    """T from `Input[T]`, `Optional[T]`, `InputType[T]` and their nestings, as the SDK
    unwraps an annotation before serialising a value through it."""
    from pulumi import _types

    while (unwrapped := _types.unwrap_type(annotation)) is not annotation:
        annotation = unwrapped
    return annotation
