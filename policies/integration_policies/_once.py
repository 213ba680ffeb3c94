"""Read each resource, and build the stack, once per gRPC call instead of once per policy.

pulumi-policy 1.21.0 turns a resource's protobuf `Struct` into the read-only proxy a policy
reads (`json_format.MessageToDict`, then `deserialize_properties`, then
`unknown_checking_proxy`), with its options and provider, inside its loop over the
policies: `Analyze` once per resource policy, and `AnalyzeStack` once per stack policy for
every resource of the stack, with every `PolicyResource`, parent and dependency built again
for each. With the pack's 38 policies (24 of them stack policies) that repetition, not the
rules, was most of the pack's time (`bench/README.md`, "check").

`install()` replaces the servicer's `Analyze` and `AnalyzeStack` with the same steps
(`_analyze`, `_analyze_stack`) done once per call: every policy of the call gets its own
args, config and report over the one reading, and the same outcomes (violations, "can't run
during preview", not applicable) are recorded as the SDK records them. The readings are
shared between policies: a rule must not write into `args.props` or the resources (none
does; the SDK's proxy allows it only for remediations, which this pack has none of).

Only the pack's `__main__.py` calls `install()`. With any other pulumi-policy version, or if
the SDK's internals moved, it installs nothing and returns False: the pack is then slower,
never different.

Usage::

    from integration_policies._once import install
    install()  # before PolicyPack(...) starts serving
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from inspect import isawaitable
from typing import Any

import pulumi_policy.policy as _sdk
from pulumi_policy.proxy import _DictProxy as DictProxy
from pulumi_policy.proxy import _ListProxy as ListProxy
from pulumi_policy.version import VERSION

# DictProxy and ListProxy: the SDK's read-only views of properties, which policies unwrap.
__all__ = ["SDK_VERSION", "DictProxy", "ListProxy", "install"]

SDK_VERSION = "1.21.0"  # the version whose Analyze/AnalyzeStack loops this module matches
_SDK: Any = _sdk  # the SDK module's own names, some of them private, read as it has them
# What the replacements call of the SDK's servicer, as 1.21.0 has them.
_SERVICER_METHODS = (
    "Analyze",
    "AnalyzeStack",
    "_configure_runtime_settings",
    "_get_resource_options",
    "_get_provider_resource",
    "_get_enforcement_level",
    "_create_report_violation",
    "_get_policy_config",
    "_map_enforcement_level",
)


def _stack_resources(servicer: Any, request: Any) -> list[Any]:
    """The stack's resources as `AnalyzeStack` hands them to a stack policy, parents and
    dependencies linked (the SDK's own steps, from its loop over the policies)."""
    intermediates = []
    for r in request.resources:
        props = _SDK.unknown_checking_proxy(
            _SDK.deserialize_properties(_SDK.json_format.MessageToDict(r.properties))
        )
        opts = servicer._get_resource_options(r)
        provider = servicer._get_provider_resource(r)
        resource = _SDK.PolicyResource(r.type, props, r.urn, r.name, opts, provider, None, [], {})
        depends = {k: list(v.urns) for k, v in r.propertyDependencies.items()}
        intermediates.append((resource, r.parent, list(r.dependencies), depends))
    by_urn = {i[0].urn: i[0] for i in intermediates}
    for resource, parent, dependencies, depends in intermediates:
        if parent is not None and parent in by_urn:
            resource.parent = by_urn[parent]
        resource.dependencies.extend(by_urn[d] for d in dependencies if d in by_urn)
        for key, urns in depends.items():
            resource.property_dependencies[key] = [by_urn[d] for d in urns if d in by_urn]
    return [i[0] for i in intermediates]


def _enabled(self: Any, kind: Any, response: Any) -> Iterator[tuple[Any, Any]]:
    """(policy, its report) for each policy of `kind` its config does not disable, as the
    SDK's loops pick them: a remediating level reports as mandatory, and a resource policy
    without a validation is recorded as not applicable."""
    levels = _SDK.EnforcementLevel
    for policy in self._PolicyAnalyzerServicer__policies:
        level = self._get_enforcement_level(policy)
        if level == levels.DISABLED or not isinstance(policy, kind):
            continue
        if isinstance(policy, _SDK.ResourceValidationPolicy) and not policy.has_validation():
            reason = "Policy does not implement validate"
            response.not_applicable.append(
                _SDK.proto.PolicyNotApplicable(policy_name=policy.name, reason=reason)
            )
            continue
        if level == levels.REMEDIATE:
            level = levels.MANDATORY
        yield (
            policy,
            self._create_report_violation(
                response, policy.name, policy.description, level, policy.severity
            ),
        )


def _analyze(self: Any, request: Any, _context: Any) -> Any:
    """`Analyze` of pulumi-policy 1.21.0 with the resource read once for every resource
    policy instead of once per policy; each policy still gets its own args, config and report."""
    self._configure_runtime_settings()
    response = _SDK.proto.AnalyzeResponse()
    read: tuple[Any, Any, Any] | None = None
    for policy, report in _enabled(self, _SDK.ResourceValidationPolicy, response):
        if read is None:
            read = (
                _SDK.unknown_checking_proxy(
                    _SDK.deserialize_properties(_SDK.json_format.MessageToDict(request.properties))
                ),
                self._get_resource_options(request),
                self._get_provider_resource(request),
            )
        props, opts, provider = read
        config = self._get_policy_config(policy.name)
        tags = self._PolicyAnalyzerServicer__stack_tags
        args = _SDK.ResourceValidationArgs(
            request.type, props, request.urn, request.name, opts, provider, config, tags
        )
        _run(self, policy, args, report, response)
    return response


def _analyze_stack(self: Any, request: Any, _context: Any) -> Any:
    """`AnalyzeStack` of pulumi-policy 1.21.0 with the resources built once for every stack
    policy instead of once per policy (the SDK's loop rebuilt all of them for each of the
    pack's 24 stack policies); each policy still gets its own args, config and report."""
    self._configure_runtime_settings()
    response = _SDK.proto.AnalyzeResponse()
    resources: list[Any] | None = None
    for policy, report in _enabled(self, _SDK.StackValidationPolicy, response):
        if resources is None:
            resources = _stack_resources(self, request)
        config = self._get_policy_config(policy.name)
        tags = self._PolicyAnalyzerServicer__stack_tags
        _run(self, policy, _SDK.StackValidationArgs(resources, config, tags), report, response)
    return response


def _run(self: Any, policy: Any, args: Any, report: Any, response: Any) -> None:
    """One policy's validate; its preview and not-applicable outcomes recorded as the SDK's."""
    pack = self._PolicyAnalyzerServicer__policy_pack_name
    version = self._PolicyAnalyzerServicer__policy_pack_version
    try:
        result: Any = policy.validate(args, report)
        if isawaitable(result):
            loop = asyncio.new_event_loop()
            loop.run_until_complete(result)  # as a Task, as the SDK runs it
            loop.close()
    except _SDK.UnknownValueError as e:
        message = (
            f"can't run policy '{policy.name}' from policy pack '{pack}@v{version}' during "
            f"preview: {e.message}"
        )
        advisory = self._map_enforcement_level(_SDK.EnforcementLevel.ADVISORY)
        response.diagnostics.append(
            _SDK.proto.AnalyzeDiagnostic(
                policyName=policy.name,
                policyPackName=pack,
                policyPackVersion=version,
                message=message,
                urn="",
                description=policy.description,
                enforcementLevel=advisory,
            )
        )
    except _SDK._NotApplicableError as e:
        response.not_applicable.append(
            _SDK.proto.PolicyNotApplicable(policy_name=policy.name, reason=e.reason or "")
        )


def install() -> bool:
    """Read once per call (`_analyze`, `_analyze_stack`); False if the SDK does not match."""
    servicer = getattr(_sdk, "_PolicyAnalyzerServicer", None)
    needed = (
        "json_format",
        "deserialize_properties",
        "unknown_checking_proxy",
        "proto",
        "PolicyResource",
        "ResourceValidationArgs",
        "ResourceValidationPolicy",
        "StackValidationArgs",
        "StackValidationPolicy",
        "EnforcementLevel",
        "UnknownValueError",
        "_NotApplicableError",
    )
    if (
        VERSION != SDK_VERSION
        or servicer is None
        or not all(hasattr(servicer, name) for name in _SERVICER_METHODS)
        or not all(hasattr(_sdk, name) for name in needed)
    ):
        return False
    servicer.Analyze = _analyze
    servicer.AnalyzeStack = _analyze_stack
    return True
