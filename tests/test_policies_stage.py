"""The pack on a warehouse pipeline's stage: the example's dev plan passes, and each crafted
violation (an external trust without its id, another integration's bucket in the grant, a
public or unencrypted bucket) is caught by the rule that owns it.

The plan is the real program's (`provisioner check`'s resources); each case mutates one thing.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from policy_cases import Plan, Verdicts, assert_refused, each_case, named

from provisioner.commands.check import plan_resources
from provisioner.policy_harness import PolicyHarness

pytestmark = pytest.mark.slow

WAREHOUSE = "warehouse-export"
TRUST = f"{WAREHOUSE}-stage-role"


def edit_document(name: str, field: str, change: Callable[[dict[str, Any]], None]) -> Any:
    def mutate(plan: Plan) -> Plan:
        inputs = named(plan, name)["inputs"]
        document = json.loads(inputs[field])
        change(document)
        inputs[field] = json.dumps(document)
        return plan

    return mutate


def no_external_id(document: dict[str, Any]) -> None:
    document["Statement"][0].pop("Condition")


def wildcard_external_id(document: dict[str, Any]) -> None:
    document["Statement"][0]["Condition"] = {"StringLike": {"sts:ExternalId": "*"}}


def other_bucket(document: dict[str, Any]) -> None:
    statement = document["Statement"][0]
    statement["Resource"] = [*statement["Resource"], "arn:aws:s3:::dev-quote-to-order-stage-1/*"]


def public(plan: Plan) -> Plan:
    named(plan, f"{WAREHOUSE}-stage-public-access-block")["inputs"]["restrictPublicBuckets"] = False
    return plan


def sse_s3(plan: Plan) -> Plan:
    rule = named(plan, f"{WAREHOUSE}-stage-encryption")["inputs"]["rules"][0]
    rule["applyServerSideEncryptionByDefault"] = {"sseAlgorithm": "AES256"}
    return plan


def other_key(plan: Plan) -> Plan:
    rule = named(plan, f"{WAREHOUSE}-stage-encryption")["inputs"]["rules"][0]
    rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] = named(
        plan, "quote-to-order-key"
    )["outputs"]["arn"]
    return plan


def no_tls(document: dict[str, Any]) -> None:
    document["Statement"] = []


def no_lifecycle(plan: Plan) -> Plan:
    return [r for r in plan if r["name"] != f"{WAREHOUSE}-stage-lifecycle"]


def acls_on(plan: Plan) -> Plan:
    named(plan, f"{WAREHOUSE}-stage-ownership")["inputs"]["rule"] = {
        "objectOwnership": "ObjectWriter"
    }
    return plan


def sync_role_trusts_outside(document: dict[str, Any]) -> None:
    document["Statement"].append(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789001:user/sfc1-b-dev1234"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "X_SFCRole=2_abc="}},
        }
    )


# (policy, mutation, fragment of the message)
CASES: list[tuple[str, Callable[[Plan], Plan], str]] = [
    ("external-trust-scoped", edit_document(TRUST, "assumeRolePolicy", no_external_id), "sts:Ext"),
    ("least-privilege-reach", edit_document(TRUST, "assumeRolePolicy", no_external_id), "assume"),
    ("external-trust-scoped", edit_document(TRUST, "assumeRolePolicy", wildcard_external_id), "*"),
    (
        "external-trust-scoped",
        edit_document(f"{WAREHOUSE}-role", "assumeRolePolicy", sync_role_trusts_outside),
        "no integration's storage-integration role",
    ),
    (
        "least-privilege-reach",
        edit_document(f"{TRUST}-policy", "policy", other_bucket),
        "quote-to-order",
    ),
    ("stage-bucket-hardened", public, "public access"),
    ("stage-bucket-hardened", sse_s3, "'AES256'"),
    ("stage-bucket-hardened", other_key, "quote-to-order's key"),
    ("stage-bucket-hardened", edit_document(f"{WAREHOUSE}-stage-policy", "policy", no_tls), "HTTP"),
    ("stage-bucket-hardened", no_lifecycle, "lifecycle"),
    ("stage-bucket-hardened", acls_on, "ACLs"),
]


@pytest.fixture(scope="module")
def verdicts() -> Verdicts:
    plan, config = plan_resources("dev")
    with PolicyHarness(stack="dev", config=config) as pack:
        clean = pack.analyze_stack(plan)
        return clean, [pack.analyze_stack(mutate(copy.deepcopy(plan))) for _, mutate, _ in CASES]


def test_the_example_stage_passes_every_stack_policy(
    verdicts: Verdicts,
) -> None:
    assert verdicts[0] == []


@each_case(("policy", "fragment"), CASES, 0, 2)
def test_a_crafted_stage_violation_is_caught_by_its_rule(
    verdicts: Verdicts,
    index: int,
    policy: str,
    fragment: str,
) -> None:
    assert_refused(verdicts[1][index], policy, fragment, WAREHOUSE)
