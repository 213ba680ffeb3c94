"""The pack's SDK seam: one reading per resource per gRPC call, shared by every policy.

Runs the SDK's own servicer in-process on real protobuf requests (as
provisioner/policy_harness/wire.py builds them); the seam is installed for the test only.
"""

from __future__ import annotations

from typing import Any

import pulumi_policy.policy as sdk
import pytest
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

from integration_policies import _once
from provisioner.policy_harness.wire import analyze_request, stack_resource

# The SDK's own Analyze and AnalyzeStack, before any test installs the pack's (which replace them).
_STOCK_ANALYZE: Any = sdk._PolicyAnalyzerServicer.Analyze
_STOCK_ANALYZE_STACK: Any = sdk._PolicyAnalyzerServicer.AnalyzeStack

QUEUE: dict[str, Any] = {
    "urn": "urn:pulumi:dev::p::aws:sqs/queue:Queue::lead-to-account-queue",
    "type": "aws:sqs/queue:Queue",
    "name": "lead-to-account-queue",
    "inputs": {"name": "dev-lead-to-account-queue", "tags": {"integration": "lead-to-account"}},
}
TOPIC: dict[str, Any] = {
    "urn": "urn:pulumi:dev::p::aws:sns/topic:Topic::lead-to-account-alerts",
    "type": "aws:sns/topic:Topic",
    "name": "lead-to-account-alerts",
    "inputs": {"name": "dev-lead-to-account-alerts"},
}


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """install() for this test; monkeypatch puts the SDK back afterwards."""
    servicer = sdk._PolicyAnalyzerServicer
    for name in ("Analyze", "AnalyzeStack"):
        monkeypatch.setattr(servicer, name, getattr(servicer, name))
    assert _once.install()


def _servicer(seen: list[tuple[str, str, Any]]) -> Any:
    def resource_rule(label: str) -> Any:
        def validate(args: Any, report: Any) -> None:
            seen.append((label, args.urn, args.props))
            if args.props.get("tags") is None:
                report(f"{label}: untagged")

        return ResourceValidationPolicy(name=label, description=label, validate=validate)

    def stack_rule(label: str) -> Any:
        def validate(args: Any, report: Any) -> None:
            seen.extend((label, r.urn, r.props) for r in args.resources)

        return StackValidationPolicy(name=label, description=label, validate=validate)

    policies = [resource_rule("first"), resource_rule("second")]
    policies += [stack_rule("stack-a"), stack_rule("stack-b")]
    return sdk._PolicyAnalyzerServicer("t", "1", policies, EnforcementLevel.MANDATORY)


def _props_by_policy(seen: list[tuple[str, str, Any]], urn: str) -> dict[str, Any]:
    return {label: props for label, u, props in seen if u == urn}


def test_every_policy_of_a_call_reads_the_same_deserialised_resource(installed: None) -> None:
    seen: list[tuple[str, str, Any]] = []
    servicer = _servicer(seen)

    response = servicer.Analyze(analyze_request(TOPIC), None)
    stack = analyzer_pb2.AnalyzeStackRequest(resources=[stack_resource(r) for r in (QUEUE, TOPIC)])
    servicer.AnalyzeStack(stack, None)

    # Violations are reported exactly as by the SDK: each policy under its own name.
    assert [(d.policyName, d.message.splitlines()[-1]) for d in response.diagnostics] == [
        ("first", "first: untagged"),
        ("second", "second: untagged"),
    ]
    analyzed = [props for label, _, props in seen if label in ("first", "second")]
    assert analyzed[0] is analyzed[1]
    for resource in (QUEUE, TOPIC):
        by_policy = _props_by_policy(seen[2:], resource["urn"])
        assert by_policy["stack-a"] is by_policy["stack-b"]
        assert dict(by_policy["stack-a"]).keys() == resource["inputs"].keys()
    assert _props_by_policy(seen[2:], QUEUE["urn"])["stack-a"]["tags"]["integration"] == (
        "lead-to-account"
    )


def test_nothing_carries_over_from_one_call_to_the_next(installed: None) -> None:
    seen: list[tuple[str, str, Any]] = []
    servicer = _servicer(seen)
    request = analyze_request(QUEUE)

    servicer.Analyze(request, None)
    request.properties["name"] = "dev-lead-to-account-other"  # same message object, new content
    servicer.Analyze(request, None)

    first_call, second_call = seen[0][2], seen[2][2]
    assert first_call is not second_call
    assert (first_call["name"], second_call["name"]) == (
        "dev-lead-to-account-queue",
        "dev-lead-to-account-other",
    )


def test_installs_nothing_for_an_sdk_it_was_not_written_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_once, "VERSION", "9.9.9")
    original = sdk._PolicyAnalyzerServicer.AnalyzeStack
    assert _once.install() is False
    assert sdk._PolicyAnalyzerServicer.AnalyzeStack is original


def _stack_servicer(seen: list[Any]) -> Any:
    """Stack policies that report, see parents, and cannot judge at preview."""

    def reporting(args: Any, report: Any) -> None:
        seen.append(args.resources)
        for r in args.resources:
            report(f"{r.name} under {r.parent.name if r.parent else None}", r.urn)

    def unknown(args: Any, report: Any) -> None:
        seen.append(args.resources)
        raise UnknownValueError(UNKNOWN_STRING_VALUE, ["dev-lead-to-account-queue.policy"])

    policies = [
        StackValidationPolicy(name="reporting", description="r", validate=reporting),
        StackValidationPolicy(name="unknown", description="u", validate=unknown),
        ResourceValidationPolicy(name="resource", description="x", validate=lambda a, r: None),
    ]
    return sdk._PolicyAnalyzerServicer("t", "1", policies, EnforcementLevel.MANDATORY)


def _stack_request() -> Any:
    child = {**TOPIC, "parent": QUEUE["urn"]}
    return analyzer_pb2.AnalyzeStackRequest(resources=[stack_resource(r) for r in (QUEUE, child)])


def test_every_stack_policy_reads_one_build_of_the_stack_and_reports_as_the_sdk(
    installed: None,
) -> None:
    before: list[Any] = []
    after: list[Any] = []
    # The SDK's own AnalyzeStack, as it ran before install() (kept by the fixture's patch).
    expected = _STOCK_ANALYZE_STACK(_stack_servicer(before), _stack_request(), None)
    servicer = _stack_servicer(after)
    response = servicer.AnalyzeStack(_stack_request(), None)

    assert response == expected  # diagnostics, preview message, levels, in the same order
    assert [d.message.splitlines()[-1] for d in response.diagnostics][:2] == [
        "lead-to-account-queue under None",
        "lead-to-account-alerts under lead-to-account-queue",
    ]
    assert after[0] is after[1]  # built once for both policies, not once per policy
    assert before[0] is not before[1]


def test_every_resource_policy_reads_one_reading_of_the_resource_and_reports_as_the_sdk(
    installed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def servicer(seen: list[Any]) -> Any:
        def tagged(args: Any, report: Any) -> None:
            seen.append(args.props)
            if args.props.get("tags") is None:
                report(f"{args.name} untagged")

        def unknown(args: Any, report: Any) -> None:
            seen.append(args.props)
            raise UnknownValueError(UNKNOWN_STRING_VALUE, [f"{args.name}.policy"])

        policies = [
            ResourceValidationPolicy(name="tagged", description="t", validate=tagged),
            ResourceValidationPolicy(name="unknown", description="u", validate=unknown),
            StackValidationPolicy(name="stack", description="s", validate=lambda a, r: None),
        ]
        return sdk._PolicyAnalyzerServicer("t", "1", policies, EnforcementLevel.MANDATORY)

    before: list[Any] = []
    after: list[Any] = []
    expected = _STOCK_ANALYZE(servicer(before), analyze_request(TOPIC), None)
    reads: list[Any] = []
    read = getattr(sdk, "deserialize_properties")  # noqa: B009 - not exported

    def counted(*args: Any) -> Any:
        reads.append(args)
        return read(*args)

    monkeypatch.setattr(sdk, "deserialize_properties", counted)
    response = servicer(after).Analyze(analyze_request(TOPIC), None)

    assert response == expected
    assert [d.policyName for d in response.diagnostics] == ["tagged", "unknown"]
    assert len(reads) == 1 and after[0] is after[1]  # one reading for both policies
