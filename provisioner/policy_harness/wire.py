"""What crosses the analyzer protocol: a recorded resource as the engine sends it (its
inputs to `Analyze`, its state to `AnalyzeStack`), and the enforcement levels by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2

LEVELS = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.REMEDIATE: "remediate",
    analyzer_pb2.DISABLED: "disabled",
}
LEVEL_VALUES = {v: k for k, v in LEVELS.items()}


def to_struct(values: Mapping[str, Any] | None) -> struct_pb2.Struct:
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
        properties=to_struct(resource.get("inputs")),
        options=_options(resource),
    )


def stack_resource(resource: Mapping[str, Any]) -> analyzer_pb2.AnalyzerResource:
    """What the engine sends for one resource in AnalyzeStack: its state (inputs + outputs)."""
    state = {**(resource.get("inputs") or {}), **(resource.get("outputs") or {})}
    return analyzer_pb2.AnalyzerResource(
        urn=resource["urn"],
        type=resource["type"],
        name=resource["name"],
        properties=to_struct(state),
        options=_options(resource),
        parent=resource.get("parent") or "",
        dependencies=list((resource.get("options") or {}).get("dependsOn") or ()),
    )
