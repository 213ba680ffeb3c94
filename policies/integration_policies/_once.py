"""Deserialise each resource once per gRPC call instead of once per policy.

pulumi-policy 1.21.0 turns a resource's protobuf `Struct` into the read-only proxy a policy
reads (`json_format.MessageToDict`, then `deserialize_properties`, then
`unknown_checking_proxy`) inside its loop over the policies: `Analyze` does it once per
resource policy, `AnalyzeStack` once per stack policy for every resource of the stack, and
the resource's options and provider likewise. With the pack's 30-odd policies that repeated
conversion, not the rules, was most of the pack's time (`bench/README.md`, "check").

`install()` memoises those steps for the length of one gRPC call on one thread: every
policy of the call then reads the same proxy of the same resource. The call boundary is the
servicer's `_configure_runtime_settings()`, which the SDK runs first in `Analyze`,
`AnalyzeStack` and `Remediate`; the pack serves calls on several threads at once, so the memo
is per thread. Each memo entry keeps its key object alive, so an `id()` cannot be reused
while the entry exists. The proxies are shared between policies: a rule must not write into
`args.props` (none does; the SDK's proxy allows it only for remediations, which this pack
has none of).

Only the pack's `__main__.py` calls `install()`. With any other pulumi-policy version, or if
the SDK's internals moved, it installs nothing and returns False: the pack is then slower,
never different.

Usage::

    from integration_policies._once import install
    install()  # before PolicyPack(...) starts serving
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pulumi_policy.policy as _sdk
from pulumi_policy.proxy import _DictProxy as DictProxy
from pulumi_policy.proxy import _ListProxy as ListProxy
from pulumi_policy.version import VERSION

# DictProxy and ListProxy: the SDK's read-only views of properties, which policies unwrap.
__all__ = ["SDK_VERSION", "DictProxy", "ListProxy", "install"]

SDK_VERSION = "1.21.0"  # the version whose Analyze/AnalyzeStack loops this module matches
_memo = threading.local()
_SERVICER_METHODS = (
    "_configure_runtime_settings",
    "_get_resource_options",
    "_get_provider_resource",
)


def _once(convert: Callable[..., Any], step: str) -> Callable[..., Any]:
    def converted(value: Any, *args: Any) -> Any:
        try:
            entries = _memo.entries
        except AttributeError:
            entries = _memo.entries = {}
        key = (id(value), step, args)
        hit = entries.get(key)
        if hit is not None and hit[0] is value:
            return hit[1]
        result = convert(value, *args)
        entries[key] = (value, result)  # holds `value`: its id stays unique meanwhile
        return result

    converted.__name__ = f"{getattr(convert, '__name__', step)}_once_per_call"
    return converted


def _once_per_request(method: Callable[..., Any], step: str) -> Callable[..., Any]:
    """A servicer method of (self, request), memoised per request like the steps above."""
    convert = _once(lambda request, servicer: method(servicer, request), step)

    def memoised(self: Any, request: Any) -> Any:
        return convert(request, self)

    memoised.__name__ = f"{method.__name__}_once_per_call"
    return memoised


class _JsonFormat:
    """Stands in for `json_format` inside pulumi_policy.policy (the SDK uses only this)."""

    def __init__(self, message_to_dict: Callable[..., Any]):
        self.MessageToDict = _once(message_to_dict, "MessageToDict")


def install() -> bool:
    """Memoise the SDK's per-policy deserialisation per call; False if the SDK does not match."""
    servicer = getattr(_sdk, "_PolicyAnalyzerServicer", None)
    needed = ("json_format", "deserialize_properties", "unknown_checking_proxy")
    if (
        VERSION != SDK_VERSION
        or servicer is None
        or not all(hasattr(servicer, name) for name in _SERVICER_METHODS)
        or not all(hasattr(_sdk, name) for name in needed)
    ):
        return False
    if getattr(servicer, "_once_installed", False):
        return True
    configure = servicer._configure_runtime_settings

    def configure_then_forget(self: Any) -> Any:
        _memo.entries = {}  # a new gRPC call on this thread: nothing carries over
        return configure(self)

    # The SDK module's own imports, replaced where its servicer looks them up.
    sdk: Any = _sdk
    sdk.json_format = _JsonFormat(sdk.json_format.MessageToDict)
    sdk.deserialize_properties = _once(sdk.deserialize_properties, "deserialize")
    sdk.unknown_checking_proxy = _once(sdk.unknown_checking_proxy, "proxy")
    servicer._configure_runtime_settings = configure_then_forget
    for method in ("_get_resource_options", "_get_provider_resource"):
        setattr(servicer, method, _once_per_request(getattr(servicer, method), method))
    servicer._once_installed = True
    return True
