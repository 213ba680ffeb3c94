"""The hardening policies through `AnalyzeStack`: the real program's dev stack passes, and
each case breaks one thing in a copy of it and expects the named policy to report it with
the integration and a fix.

The stack is what `provisioner check --stack dev` sends: the recorded resources of a real
program run, with their options.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import policy_cases as cases
import pytest
from policy_cases import Mutation, Plan, Verdicts, drop, named, set_input

from contract.naming import RETIRE_EVENT

pytestmark = pytest.mark.slow

HARDENING = {
    "encrypted-with-own-key",
    "key-grants-needed-services",
    "secret-fenced",
    "async-failure-destination",
    "dynamodb-table-resilience",
    "resource-policies-not-public",
    "lambda-supported-runtime",
    "public-url-reserved-concurrency",
}


def other_key(of: str) -> Callable[[Plan], str]:
    return lambda plan: named(plan, f"{of}-key")["outputs"]["arn"]


def set_to(name: str, key: str, value: Callable[[Plan], Any], type_suffix: str = "") -> Mutation:
    def mutate(plan: Plan) -> None:
        named(plan, name, type_suffix)["inputs"][key] = value(plan)

    return mutate


Edit = Callable[[list[dict[str, Any]], Plan], None]


def edit_policy(name: str, edit: Edit) -> Mutation:
    def mutate(plan: Plan) -> None:
        inputs = named(plan, name)["inputs"]
        document = json.loads(inputs["policy"])
        edit(document["Statement"], plan)
        inputs["policy"] = json.dumps(document)

    return mutate


def by_sid(sid: str) -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
    return lambda statements: next(s for s in statements if s.get("Sid") == sid)


def remove_sid(sid: str) -> Edit:
    return lambda statements, _: statements.remove(by_sid(sid)(statements))


def change_sid(sid: str, **changes: Any) -> Edit:
    """Set (or with None remove) keys of one statement; "{account}" is the stack's account."""

    def edit(statements: list[dict[str, Any]], plan: Plan) -> None:
        statement = by_sid(sid)(statements)
        for key, value in changes.items():
            if value is None:
                statement.pop(key, None)
            else:
                text = json.dumps(value).replace("{account}", account(plan))
                statement[key] = json.loads(text.replace("{role}", role(plan)))

    return edit


def extend_condition(sid: str, who: Callable[[Plan], str]) -> Edit:
    def edit(statements: list[dict[str, Any]], plan: Plan) -> None:
        condition = by_sid(sid)(statements)["Condition"]["ArnNotEquals"]
        condition["aws:PrincipalArn"] = [*condition["aws:PrincipalArn"], who(plan)]

    return edit


def role(plan: Plan) -> str:
    return str(named(plan, "quote-to-order-role", ":Role")["outputs"]["arn"])


def account(plan: Plan) -> str:
    return role(plan).split(":")[4]


def deployer(plan: Plan) -> str:
    return f"arn:aws:iam::{account(plan)}:user/deployer"


def dlq_of(plan: Plan, integration: str) -> str:
    return str(named(plan, f"{integration}-dlq")["outputs"]["arn"])


SECRET_POLICY = "quote-to-order-cred-salesforce-jwt-resource-policy"
PUSHER_POLICY = "lead-to-account-cred-marketo-pusher-resource-policy"
RETIRE_TARGET = "lead-to-account-rotation-target"
INGRESS = "refund-capture-webhook"  # the signed-webhook ingress behind a public URL


def pusher_secret(plan: Plan) -> str:
    return str(named(plan, "lead-to-account-cred-marketo-pusher", ":Secret")["outputs"]["arn"])


def protected_table(plan: Plan) -> None:
    table = named(plan, "quote-to-order-state", ":Table")
    table["options"]["protect"] = True
    table["inputs"]["deletionProtectionEnabled"] = False


# (policy, mutation, integration, message fragment)
CASES: list[tuple[str, Mutation, str, str]] = [
    ("encrypted-with-own-key", set_input("quote-to-order-consumer-logs", "kmsKeyId", None),
     "quote-to-order", "log group is encrypted with an AWS-managed key"),
    ("encrypted-with-own-key",
     set_to("quote-to-order-consumer", "kmsKeyArn", other_key("order-to-invoice"), ":Function"),
     "quote-to-order", "encrypted with order-to-invoice's key"),
    ("encrypted-with-own-key", set_input("quote-to-order-alerts", "kmsMasterKeyId", None, ":Topic"),
     "quote-to-order", "topic is encrypted with an AWS-managed key"),
    ("key-grants-needed-services",
     edit_policy("quote-to-order-key", remove_sid("LogsEncryptOwnLogGroups")),
     "quote-to-order", "need CloudWatch Logs to use it"),
    ("key-grants-needed-services",
     edit_policy("quote-to-order-key", change_sid("LogsEncryptOwnLogGroups", Condition=None)),
     "quote-to-order", "may use the key for any log group"),
    ("key-grants-needed-services",
     edit_policy("quote-to-order-key", change_sid(
         "LogsEncryptOwnLogGroups",
         Condition={"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": [
             "arn:aws:logs:eu-west-1:{account}:log-group:/aws/lambda/dev-order-to-invoice-batch"
         ]}})),
     "quote-to-order", "not quote-to-order's"),
    ("key-grants-needed-services",
     edit_policy("quote-to-order-key",
                 change_sid("OwnAlarmsPublishToEncryptedTopic", Condition=None)),
     "quote-to-order", "on behalf of any account"),
    ("key-grants-needed-services",
     edit_policy("quote-to-order-key", remove_sid("OwnAlarmsPublishToEncryptedTopic")),
     "quote-to-order", "need cloudwatch.amazonaws.com"),
    ("key-grants-needed-services",
     edit_policy("quote-to-order-key", lambda s, _: s.append({
         "Sid": "Extra", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
         "Action": ["kms:Decrypt"], "Resource": "*"})),
     "quote-to-order", "grants s3.amazonaws.com, which no resource"),
    ("key-grants-needed-services",
     edit_policy("quote-to-order-key", change_sid(
         "RotationFailureRulePublishToEncryptedTopic",
         Action=["kms:Decrypt", "kms:GenerateDataKey", "kms:ScheduleKeyDeletion"])),
     "quote-to-order", "kms:schedulekeydeletion, more than it needs"),
    ("secret-fenced", drop(SECRET_POLICY), "quote-to-order", "has no resource policy"),
    ("secret-fenced",
     edit_policy(SECRET_POLICY, change_sid(
         "OnlyTheIntegrationAndItsRotatorRead",
         Condition={"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::{account}:role/*"}})),
     "quote-to-order", "leaves 1 action(s) open to principals it does not name"),
    ("secret-fenced",
     edit_policy(SECRET_POLICY, change_sid(
         "OnlyTheRotatorAndDeployerWrite",
         Condition={"ArnNotEquals": {"aws:PrincipalArn": ["{role}"]}})),
     "quote-to-order", "denies the rotation role"),
    ("secret-fenced",
     edit_policy(SECRET_POLICY, change_sid(
         "OnlyTheDeployerAdministers", Condition={"ArnNotEquals": {"aws:PrincipalArn": "{role}"}})),
     "quote-to-order", "lets nobody administer the secret"),
    ("secret-fenced",
     edit_policy(SECRET_POLICY, extend_condition("OnlyTheIntegrationAndItsRotatorRead", deployer)),
     "quote-to-order", "may read the credential"),
    ("secret-fenced",
     edit_policy(SECRET_POLICY, extend_condition("OnlyTheRotatorAndDeployerWrite", role)),
     "quote-to-order", "may secretsmanager:PutSecretValue"),
    ("secret-fenced",
     edit_policy(PUSHER_POLICY, remove_sid("ThePusherReadsOnlyItsCurrentKey")),
     "lead-to-account", "may read versions other than AWSCURRENT"),
    ("secret-fenced",
     edit_policy(PUSHER_POLICY, extend_condition(
         "OnlyTheIntegrationAndItsRotatorRead",
         lambda p: named(p, "lead-to-account-role", ":Role")["outputs"]["arn"])),
     "lead-to-account", "may read the access key of the external pusher"),
    ("rotation-function-invocation", set_to(RETIRE_TARGET, "input", lambda p: json.dumps(
        {"SecretId": pusher_secret(p), "ClientRequestToken": "t", "Step": "finishSecret"})),
     "lead-to-account", "may also be invoked by events.amazonaws.com"),
    ("rotation-function-invocation", set_to(RETIRE_TARGET, "input", lambda p: json.dumps(
        {RETIRE_EVENT: {"GraceSeconds": 60, "SecretIds": [
            pusher_secret(p),
            named(p, "lead-to-account-cred-salesforce-jwt", ":Secret")["outputs"]["arn"]]}})),
     "lead-to-account", "may also be invoked by events.amazonaws.com"),
    ("rotation-function-invocation", set_input("lead-to-account-rotation-schedule",
        "eventPattern", json.dumps({"source": ["aws.secretsmanager"]}), ":EventRule"),
     "lead-to-account", "may also be invoked by events.amazonaws.com"),
    ("async-failure-destination", drop("order-to-invoice-batch-async"),
     "order-to-invoice", "has no on-failure destination"),
    ("async-failure-destination",
     set_to("order-to-invoice-batch-async", "destinationConfig",
            lambda p: {"onFailure": {"destination": dlq_of(p, "quote-to-order")}}),
     "order-to-invoice", "not a queue of order-to-invoice"),
    ("async-failure-destination", drop("order-to-invoice-alarm-dlq-depth"),
     "order-to-invoice", "which no alarm watches"),
    ("async-failure-destination",
     set_input("order-to-invoice-reconcile-async", "maximumRetryAttempts", None),
     "order-to-invoice", "maximumRetryAttempts is left at Lambda's default"),
    ("dynamodb-table-resilience", protected_table, "quote-to-order",
     "can be deleted outside it"),
    ("dynamodb-table-resilience",
     set_input("quote-to-order-state", "pointInTimeRecovery", None, ":Table"),
     "quote-to-order", "has no point-in-time recovery"),
    ("dynamodb-table-resilience",
     set_input("quote-to-order-state", "billingMode", "PROVISIONED", ":Table"),
     "quote-to-order", "provisioned capacity that does not follow demand"),
    ("resource-policies-not-public",
     edit_policy("quote-to-order-alerts-policy", lambda s, _: s.append({
         "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sns:Publish", "Resource": "*"})),
     "quote-to-order", "allows sns:Publish to every AWS account"),
    ("lambda-supported-runtime",
     set_input("quote-to-order-consumer", "runtime", "python3.8", ":Function"),
     "quote-to-order", "runs on python3.8, not a supported one"),
    ("public-url-reserved-concurrency",
     set_input(INGRESS, "reservedConcurrentExecutions", None, ":Function"),
     "refund-capture", "(refund-capture-webhook-url, authorization NONE) with no reserved"),
    ("public-url-reserved-concurrency",
     set_input(INGRESS, "reservedConcurrentExecutions", 0, ":Function"),
     "refund-capture", "with 0 reserved"),
]  # fmt: skip


@pytest.fixture(scope="module")
def results() -> Verdicts:
    return cases.judge(cases.recorded_stack("dev"), [c[1] for c in CASES], stack="dev")


def test_the_programs_stack_passes_every_hardening_policy(
    results: Verdicts,
) -> None:
    baseline, _ = results
    assert [v.message for v in baseline if v.policy in HARDENING] == []


@cases.each_case(("policy", "integration", "fragment"), CASES, 0, 2, 3)
def test_broken_stack_is_refused_naming_integration_and_fix(
    results: Verdicts,
    index: int,
    policy: str,
    integration: str,
    fragment: str,
) -> None:
    cases.assert_refused(results[1][index], policy, fragment, integration)


def test_every_hardening_policy_has_a_violating_case() -> None:
    from integration_policies.hardening import HARDENING_POLICIES

    # (rotation-function-invocation's cases are here too: the retirement schedule it
    # excepts exists only in the real program's stack.)
    assert {p.name for p in HARDENING_POLICIES} == HARDENING <= {c[0] for c in CASES}
