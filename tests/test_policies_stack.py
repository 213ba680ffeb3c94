"""Every stack policy: the clean stack passes, a mutated stack fails, through `AnalyzeStack`.

The clean stack (three integrations at phases 5, 4 and 2) is checked in
test_policies_plan.py; here each case changes one thing and expects the named policy to
report it with the integration and the fix in the message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from policy_cases import Plan, assert_refused, each_case, named
from test_policies_plan import example_stack

from provisioner.policy_harness import PolicyHarness, Violation, stack_config

pytestmark = pytest.mark.slow

OTHER_DLQ = "arn:aws:sqs:eu-west-1:111111111111:dev-order-to-invoice-dlq"
SECRETS = "arn:aws:secretsmanager:eu-west-1:111111111111:secret"


def drop(*names: str) -> Callable[[Plan], Plan]:
    return lambda plan: [r for r in plan if r["name"] not in names]


def change(name: str, key: str, value: Any) -> Callable[[Plan], Plan]:
    def mutate(plan: Plan) -> Plan:
        named(plan, name)["inputs"][key] = value
        return plan

    return mutate


def grant(name: str, **statement: Any) -> Callable[[Plan], Plan]:
    def mutate(plan: Plan) -> Plan:
        policy = named(plan, name)["inputs"]
        document = json.loads(policy["policy"])
        document["Statement"].append({"Effect": "Allow", **statement})
        policy["policy"] = json.dumps(document)
        return plan

    return mutate


def rotated_by_hand(name: str) -> Callable[[Plan], Plan]:
    """The secret tagged as a credential rotated by hand, without its secret-age alarm."""

    def mutate(plan: Plan) -> Plan:
        secret = named(plan, name)
        secret["inputs"]["tags"] = {**secret["inputs"]["tags"], "rotation": "manual"}
        return plan

    return mutate


def second_role(plan: Plan) -> Plan:
    role = json.loads(json.dumps(named(plan, "quote-to-order-role")))
    role["name"], role["urn"] = "quote-to-order-role-2", role["urn"] + "-2"
    role["inputs"]["name"] = "dev-quote-to-order-role-2"
    role["outputs"] = {"id": "dev-quote-to-order-role-2", "arn": "arn:aws:iam::1:role/x2"}
    named(plan, "quote-to-order-consumer")["inputs"]["role"] = "arn:aws:iam::1:role/x2"
    return [*plan, role]


def extra_permission(plan: Plan) -> Plan:
    permission = json.loads(json.dumps(named(plan, "quote-to-order-rotation-permission")))
    permission["name"] = "quote-to-order-rotation-permission-events"
    permission["urn"] += "-events"
    permission["inputs"].update(principal="events.amazonaws.com", sourceArn="arn:aws:events:x")
    return [*plan, permission]


OTHER_KEY = "order-to-invoice-key"


# (policy, mutation, integration named in the message, message fragment)
def bucket(plan: Plan) -> Plan:
    # An S3 access point carries its own policy, which no rule of the pack reads.
    extra = json.loads(json.dumps(named(plan, "quote-to-order-queue")))
    extra.update(type="aws:s3/accessPoint:AccessPoint", name="quote-to-order-exports")
    extra["urn"] += "-exports"
    return [*plan, extra]


CASES: list[tuple[str, Callable[[Plan], Plan], str, str]] = [
    ("least-privilege-reach",
     grant("quote-to-order-policy", Action=["sqs:SendMessage"], Resource=[OTHER_DLQ]),
     "quote-to-order", "which reaches order-to-invoice's resources"),
    ("closed-world", bucket, "quote-to-order", "no rule of this pack judges"),
    ("integration-isolation", second_role, "quote-to-order", "has 2 role(s)"),
    ("integration-isolation", drop("quote-to-order-key"), "quote-to-order", "has 0 KMS key(s)"),
    ("integration-isolation",
     lambda p: change("quote-to-order-cred-netsuite-m2m", "kmsKeyId",
                      named(p, OTHER_KEY)["outputs"]["arn"])(p),
     "quote-to-order", "uses order-to-invoice's KMS key"),
    ("cross-integration-access",
     grant("quote-to-order-policy", Action=["sqs:SendMessage"], Resource=[OTHER_DLQ]),
     "quote-to-order", "grants access to order-to-invoice's resource"),
    ("cross-integration-access",
     grant("quote-to-order-policy", Action=["secretsmanager:GetSecretValue"],
           Resource=[f"{SECRETS}:dev-order-to-invoice-*"]),
     "quote-to-order", "order-to-invoice"),
    ("cross-integration-access",
     grant("quote-to-order-policy", Action=["cloudwatch:PutMetricData"], Resource=["*"],
           Condition={"StringEquals": {"cloudwatch:namespace": "Integrations/other"}}),
     "quote-to-order", "use 'Integrations/quote-to-order'"),
    ("sqs-visibility-timeout", change("quote-to-order-queue", "visibilityTimeoutSeconds", 120),
     "quote-to-order", "visibility_timeout_seconds >= 360"),
    # The batching window adds to the six function timeouts.
    ("sqs-visibility-timeout",
     change("quote-to-order-consumer-trigger", "maximumBatchingWindowInSeconds", 30),
     "quote-to-order", "visibility_timeout_seconds >= 390"),
    ("sqs-consumer-concurrency",
     change("quote-to-order-consumer", "reservedConcurrentExecutions", 5),
     "quote-to-order", "remove reserved_concurrent_executions"),
    ("sqs-dlq-retention", change("quote-to-order-dlq", "messageRetentionSeconds", 345_600),
     "quote-to-order", "message_retention_seconds above 345600"),
    ("sqs-dlq-retention", drop("quote-to-order-dlq"), "quote-to-order", "not in the stack"),
    ("phase-requirements", drop("order-to-invoice-alarm-throttles"), "order-to-invoice",
     "phase 4 requires a 'throttles' alarm"),
    ("phase-requirements", drop("order-to-invoice-dashboard"), "order-to-invoice",
     "phase 4 requires a dashboard"),
    ("phase-requirements", drop("support-health-to-crm-role"), "support-health-to-crm",
     "provision the ServiceAccount role"),
    ("phase-requirements", drop("quote-to-order-alarm-api-budget"), "quote-to-order",
     "phase 5 requires a 'api-budget' alarm"),
    ("phase-requirements", drop("support-health-to-crm-cred-netsuite-m2m-rotation"),
     "support-health-to-crm", "rotation for secret"),
    ("phase-requirements", rotated_by_hand("quote-to-order-cred-netsuite-m2m"),
     "quote-to-order", "a 'secret-age' alarm (alarm-secret-age-netsuite-m2m)"),
    ("phase-requirements", drop("quote-to-order-queue-policy"), "quote-to-order",
     "a queue policy on quote-to-order-queue"),
    ("alarms-route-to-alert-path",
     change("quote-to-order-alarm-errors", "alarmActions",
            ["arn:aws:sns:eu-west-1:111111111111:dev-order-to-invoice-alerts"]),
     "quote-to-order", "quote-to-order's alert topic"),
    ("alarms-route-to-alert-path", change("order-to-invoice-alarm-stale-sync", "alarmActions", []),
     "order-to-invoice", "notifies nothing"),
    ("alarms-route-to-alert-path",
     drop("quote-to-order-alarm-rotation-failure-target"), "quote-to-order", "notifies nothing"),
    ("lambda-log-groups", drop("quote-to-order-consumer-logs"), "quote-to-order",
     "/aws/lambda/dev-quote-to-order-consumer"),
    ("rotation-function-invocation", drop("quote-to-order-rotation-permission"),
     "quote-to-order", "Secrets Manager may not invoke it"),
    ("rotation-function-invocation", extra_permission, "quote-to-order",
     "may also be invoked by events.amazonaws.com"),
]  # fmt: skip


@pytest.fixture(scope="module")
def results() -> list[list[Violation]]:
    with PolicyHarness(stack="dev", config=stack_config("dev")) as pack:
        return [pack.analyze_stack(mutate(example_stack("dev"))) for _, mutate, _, _ in CASES]


@each_case(("policy", "integration", "fragment"), CASES, 0, 2, 3)
def test_mutated_stack_is_reported(
    results: list[list[Violation]], index: int, policy: str, integration: str, fragment: str
) -> None:
    assert_refused(results[index], policy, fragment, integration)


def test_every_stack_policy_has_a_violating_case() -> None:
    import integration_policies
    from integration_policies.audit import AUDIT_POLICIES
    from integration_policies.hardening import HARDENING_POLICIES
    from integration_policies.stage import STAGE_POLICIES

    # The hardening and audit policies' cases break the real program's stack:
    # test_policies_hardening.py and test_policies_audit.py.
    # The stage's, the example's warehouse pipeline: test_policies_stage.py.
    elsewhere = {p.name for p in [*HARDENING_POLICIES, *AUDIT_POLICIES, *STAGE_POLICIES]}
    elsewhere.add("chatbot-channel")  # prod's Slack channels: test_policies_chatbot.py
    names = {p.name for p in integration_policies.STACK_POLICIES} - elsewhere
    assert names <= {c[0] for c in CASES}
