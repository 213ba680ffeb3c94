"""Every resource policy: a passing and a violating resource, sent through `Analyze` over gRPC.

All cases go through one running pack per environment (module fixtures); each case's
resource gets its own URN so its violations can be told apart.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from policy_cases import pack_without
from test_policies_plan import integration_plan

from provisioner.paths import POLICY_PACK_DIR
from provisioner.policy_harness import PolicyHarness, Violation, load_pack_config, stack_config

pytestmark = pytest.mark.slow

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's "unknown string" sentinel
Mutation = Callable[[dict[str, Any]], None]


def base(name: str, env: str = "dev") -> dict[str, Any]:
    plan = integration_plan("quote-to-order", env, 5)
    return copy.deepcopy(next(r for r in plan if r["name"] == name))


def doc(resource: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(resource["inputs"]["policy"])
    return document


def set_doc(resource: dict[str, Any], document: dict[str, Any]) -> None:
    resource["inputs"]["policy"] = json.dumps(document)


def add_statement(**statement: Any) -> Mutation:
    def mutate(r: dict[str, Any]) -> None:
        document = doc(r)
        document["Statement"].append({"Effect": "Allow", **statement})
        set_doc(r, document)

    return mutate


def set_input(path: str, value: Any) -> Mutation:
    def mutate(r: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = r["inputs"]
        for key in parents:
            target = target.setdefault(key, {})
        if value is None:
            target.pop(last, None)
        else:
            target[last] = value

    return mutate


def attachment(policy_arn: str) -> dict[str, Any]:
    res = base("quote-to-order-policy")
    res["type"] = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    res["name"] = "quote-to-order-role-attachment"
    res["urn"] = f"urn:pulumi:dev::integration-provisioner::{res['type']}::{res['name']}"
    res["inputs"] = {"role": "dev-quote-to-order-role", "policyArn": policy_arn}
    return res


QUEUE_ARN = "arn:aws:sqs:eu-west-1:111111111111:dev-quote-to-order-queue"
ROLE_ARN = "arn:aws:iam::111111111111:role/dev-quote-to-order-role"

# (policy, environment, resource name, mutation, expected message fragment)
VIOLATIONS: list[tuple[str, str, str, Mutation, str]] = [
    ("iam-no-wildcard-actions", "dev", "quote-to-order-policy",
     add_statement(Action="sqs:*", Resource=QUEUE_ARN), "wildcard action 'sqs:*'"),
    ("iam-no-wildcard-actions", "dev", "quote-to-order-policy",
     add_statement(NotAction="iam:*", Resource=QUEUE_ARN), "NotAction"),
    ("iam-resource-wildcard-scoped", "dev", "quote-to-order-policy",
     add_statement(Action="sqs:ReceiveMessage", Resource="*"), "'sqs:ReceiveMessage' on Resource"),
    ("iam-resource-wildcard-scoped", "dev", "quote-to-order-policy",
     add_statement(Action="cloudwatch:PutMetricData", Resource="*"), "without a condition"),
    ("iam-passrole-scoped", "dev", "quote-to-order-policy",
     add_statement(Action="iam:PassRole", Resource="*"), "iam:PassRole on any role"),
    ("iam-passrole-scoped", "dev", "quote-to-order-policy",
     add_statement(Action="iam:PassRole", Resource=ROLE_ARN), "iam:PassedToService"),
    ("kms-key-rotation-enabled", "dev", "quote-to-order-key",
     set_input("enableKeyRotation", False), "enable_key_rotation=True"),
    ("secret-customer-managed-key", "dev", "quote-to-order-cred-salesforce-jwt",
     set_input("kmsKeyId", None), "AWS-managed key"),
    ("secret-rotation-within-limit", "dev", "quote-to-order-cred-salesforce-jwt-rotation",
     set_input("rotationRules.automaticallyAfterDays", 120), "at most 90"),
    ("secret-rotation-within-limit", "prod", "quote-to-order-cred-salesforce-jwt-rotation",
     set_input("rotationRules.automaticallyAfterDays", 45), "at most 30"),
    ("sqs-queue-encrypted", "dev", "quote-to-order-queue",
     set_input("kmsMasterKeyId", None), "not encrypted"),
    ("sqs-dead-letter-queue", "dev", "quote-to-order-queue",
     set_input("redrivePolicy", None), "has no dead-letter queue"),
    ("sqs-dead-letter-queue", "dev", "quote-to-order-queue",
     set_input("redrivePolicy", json.dumps({"deadLetterTargetArn": QUEUE_ARN, "maxReceiveCount": 1})),  # noqa: E501
     "maxReceiveCount=1"),
    ("sqs-https-only", "dev", "quote-to-order-queue-policy",
     lambda r: set_doc(r, {"Version": "2012-10-17", "Statement": []}), "aws:SecureTransport"),
    ("log-group-retention", "dev", "quote-to-order-consumer-logs",
     set_input("retentionInDays", None), "keeps logs forever"),
    ("log-group-retention", "prod", "quote-to-order-consumer-logs",
     set_input("retentionInDays", 30), "needs >= 365"),
    ("sqs-trigger-settings", "dev", "quote-to-order-consumer-trigger",
     set_input("functionResponseTypes", None), "ReportBatchItemFailures"),
    ("sqs-trigger-settings", "dev", "quote-to-order-consumer-trigger",
     set_input("scalingConfig", None), "maximumConcurrency=None"),
    # AWS's own batch rules, which the emulator lets through.
    ("sqs-trigger-settings", "dev", "quote-to-order-consumer-trigger",
     lambda r: r["inputs"].update(eventSourceArn=f"{QUEUE_ARN}.fifo", batchSize=20),
     "a FIFO queue takes 1..10"),
    ("sqs-trigger-settings", "dev", "quote-to-order-consumer-trigger",
     lambda r: r["inputs"].update(
         eventSourceArn=f"{QUEUE_ARN}.fifo", maximumBatchingWindowInSeconds=5),
     "FIFO queues do not support"),
    ("sqs-trigger-settings", "dev", "quote-to-order-consumer-trigger",
     lambda r: r["inputs"].update(eventSourceArn=QUEUE_ARN, batchSize=200),
     "maximum_batching_window_in_seconds >= 1"),
    ("sqs-trigger-settings", "dev", "quote-to-order-consumer-trigger",
     lambda r: r["inputs"].update(
         eventSourceArn=QUEUE_ARN, batchSize=200, maximumBatchingWindowInSeconds=301),
     "allowed 0..300"),
    ("lambda-permission-scoped", "dev", "quote-to-order-rotation-permission",
     set_input("sourceAccount", None), "any account"),
    ("lambda-permission-scoped", "dev", "quote-to-order-rotation-permission",
     set_input("principal", "*"), "lets anyone invoke"),
    # A public function URL is a signed-webhook ingress's alone, not the rotator's.
    ("lambda-permission-scoped", "dev", "quote-to-order-rotation-permission",
     lambda r: r["inputs"].update(principal="*", action="lambda:InvokeFunctionUrl",
                                  functionUrlAuthType="NONE"), "lets anyone invoke"),
    ("required-tags", "dev", "quote-to-order-queue",
     set_input("tags.owner", None), "lacks tag(s) owner"),
    ("required-tags", "dev", "quote-to-order-queue",
     set_input("tags.phase", "7"), "tag phase='7' is malformed"),
    ("required-tags", "dev", "quote-to-order-queue",
     set_input("tags.environment", "prod"), "in the dev stack"),
    ("required-tags", "dev", "quote-to-order-queue",
     set_input("tags.alarm", "errors"), "not an alarm"),
]  # fmt: skip
# Passing cases beyond the clean plan: legitimate uses each policy must allow.
PASSING: list[tuple[str, str, dict[str, Any]]] = []


def _passing_cases() -> list[tuple[str, str, dict[str, Any]]]:
    passrole = base("quote-to-order-policy")
    add_statement(
        Action="iam:PassRole",
        Resource=ROLE_ARN,
        Condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
    )(passrole)
    deny_all = base("quote-to-order-queue-policy")  # Deny statements may use wildcards
    unknown_queue = base("quote-to-order-queue")
    unknown_queue["inputs"].update(kmsMasterKeyId=UNKNOWN, redrivePolicy=UNKNOWN)
    unknown_policy = base("quote-to-order-policy")
    unknown_policy["inputs"]["policy"] = UNKNOWN
    unknown_secret = base("quote-to-order-cred-salesforce-jwt")
    unknown_secret["inputs"]["kmsKeyId"] = UNKNOWN
    return [
        ("iam-passrole-scoped", "dev", passrole),
        ("iam-no-admin-managed-policies", "dev", attachment("arn:aws:iam::111111111111:policy/x")),
        ("iam-no-wildcard-actions", "dev", deny_all),
        ("sqs-queue-encrypted", "dev", unknown_queue),
        ("sqs-dead-letter-queue", "dev", unknown_queue),
        ("iam-no-wildcard-actions", "dev", unknown_policy),
        ("secret-customer-managed-key", "dev", unknown_secret),
    ]


def _violating_extra() -> list[tuple[str, str, dict[str, Any], str]]:
    admin = attachment("arn:aws:iam::aws:policy/AdministratorAccess")
    full = attachment("arn:aws:iam::aws:policy/AmazonSQSFullAccess")
    return [
        ("iam-no-admin-managed-policies", "dev", admin, "AdministratorAccess"),
        ("iam-no-admin-managed-policies", "dev", full, "AmazonSQSFullAccess"),
    ]


def _case_resource(index: int, name: str, env: str, mutate: Mutation) -> dict[str, Any]:
    res = base(name, env)
    mutate(res)
    res["urn"] = f"{res['urn']}-case{index}"
    return res


def _cases() -> list[tuple[str, str, dict[str, Any], str]]:
    cases = [
        (policy, env, _case_resource(i, name, env, mutate), fragment)
        for i, (policy, env, name, mutate, fragment) in enumerate(VIOLATIONS)
    ]
    for i, (policy, env, res, fragment) in enumerate(_violating_extra()):
        res["urn"] = f"{res['urn']}-extra{i}"
        cases.append((policy, env, res, fragment))
    return cases


CASES = _cases()
PASSES = _passing_cases()
for _i, (_, _, _res) in enumerate(PASSES):
    _res["urn"] = f"{_res['urn']}-pass{_i}"


def analyze_all(pack_dir: Path = POLICY_PACK_DIR) -> dict[str, list[Violation]]:
    """Run every case and the clean plan in each environment; violations by URN."""
    by_urn: dict[str, list[Violation]] = {}
    for env in ("dev", "prod"):
        resources = [c[2] for c in CASES if c[1] == env] + [p[2] for p in PASSES if p[1] == env]
        resources += integration_plan("quote-to-order", env, 5)
        config, policy_config = stack_config(env), load_pack_config(env)
        with PolicyHarness(pack_dir, stack=env, config=config, policy_config=policy_config) as pack:
            for violation in pack.analyze(resources):
                by_urn.setdefault(violation.urn, []).append(violation)
    return by_urn


@pytest.fixture(scope="module")
def results() -> dict[str, list[Violation]]:
    return analyze_all()


@pytest.mark.parametrize(
    ("policy", "resource", "fragment"),
    [(c[0], c[2], c[3]) for c in CASES],
    ids=[f"{c[0]}:{c[3][:30]}" for c in CASES],
)
def test_violating_resource_is_reported(
    results: dict[str, list[Violation]], policy: str, resource: dict[str, Any], fragment: str
) -> None:
    found = [v for v in results.get(resource["urn"], []) if v.policy == policy]
    assert found, f"{policy} did not report {resource['name']}"
    assert any(fragment in v.message for v in found), [v.message for v in found]
    assert all(v.level == "mandatory" and "[quote-to-order]" in v.message for v in found)


@pytest.mark.parametrize(
    ("policy", "resource"), [(p[0], p[2]) for p in PASSES], ids=[p[0] for p in PASSES]
)
def test_legitimate_resource_passes(
    results: dict[str, list[Violation]], policy: str, resource: dict[str, Any]
) -> None:
    assert results.get(resource["urn"], []) == []


def test_every_resource_policy_has_a_violating_case() -> None:
    import integration_policies

    covered = {c[0] for c in CASES}
    assert {p.name for p in integration_policies.RESOURCE_POLICIES} <= covered


def test_clean_resources_pass_every_resource_policy(results: dict[str, list[Violation]]) -> None:
    clean = {
        r["urn"] for env in ("dev", "prod") for r in integration_plan("quote-to-order", env, 5)
    }
    assert {urn: v for urn, v in results.items() if urn in clean} == {}


def test_violating_case_needs_its_policy(tmp_path: Path) -> None:
    """A pack without `sqs-dead-letter-queue` no longer reports its violating case."""
    pack = pack_without(tmp_path / "pack", ["sqs-dead-letter-queue"])
    case = next(c for c in CASES if c[0] == "sqs-dead-letter-queue")
    with PolicyHarness(pack, stack="dev", config=stack_config("dev")) as harness:
        assert "sqs-dead-letter-queue" not in harness.policy_names
        violations = harness.analyze([case[2]])
    assert [v for v in violations if v.policy == "sqs-dead-letter-queue"] == []
