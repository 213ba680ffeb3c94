"""Every use of a library's private internals, in one place.

The mock runtime that `plan`, `check` and the rehearsal run the program under, and tests
that run Lambda handlers in-process, need a few names their libraries do not export. Each is
wrapped here, pinned to the versions in `requirements.lock` (pulumi 3.272.0,
aws-lambda-powertools 3.x); `tests/test_architecture.py` keeps every other module off them, so
an upgrade that moves one breaks here and nowhere else. (The policy pack runs apart from this
package and keeps its own seam: `policies/integration_policies/_once.py`.)

Usage::

    from provisioner.sdk_seams import sync_await
    obj = sync_await(rpc.serialize_properties(state, {}))
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

__all__ = [
    "clear_powertools_providers",
    "ensure_event_loop",
    "mock_settings",
    "rpc_manager",
    "sync_await",
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


def rpc_manager() -> Any:
    """The SDK's record of outstanding RPCs (the bench's what-if drain waits on it)."""
    from pulumi.runtime.settings import _get_rpc_manager

    return _get_rpc_manager()


def clear_powertools_providers() -> None:
    """Forget the Secrets Manager clients and values Powertools caches per process.

    Tests that run several roles' handlers in one process need each to read its secret
    with its own credentials, as a fresh Lambda environment would (the rehearsal runs each
    function in a process of its own, ``provisioner.rehearsal.lambda_runner``).
    """
    from aws_lambda_powertools.utilities.parameters import base

    base.DEFAULT_PROVIDERS.clear()  # type: ignore[attr-defined]
