"""The audit trail policies through `AnalyzeStack`: the real program's prod stack (which
creates its trail) passes, and each case breaks one thing of the trail, its key or its
bucket in a copy of it and expects the named policy to report it with a fix.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import policy_cases as cases
import pytest
from policy_cases import Mutation, Plan, named, set_input

from provisioner.policy_harness import Violation, stack_config

pytestmark = pytest.mark.slow

AUDIT = {"audit-trail-covers-stack", "cloudtrail-hardened", "audit-bucket-private"}
ORG_TRAIL = "arn:aws:cloudtrail:us-east-1:999999999999:trail/organisation"


def drop_trail(plan: Plan) -> None:
    plan[:] = [r for r in plan if not r["name"].startswith("stack-audit")]


def selectors(edit: Callable[[list[dict[str, Any]]], None]) -> Mutation:
    def mutate(plan: Plan) -> None:
        edit(named(plan, "stack-audit-trail")["inputs"]["advancedEventSelectors"])

    return mutate


def drop_management(found: list[dict[str, Any]]) -> None:
    found.pop(0)


def narrow_to_reads(found: list[dict[str, Any]]) -> None:
    found[0]["fieldSelectors"].append({"field": "readOnly", "equals": ["true"]})


def forget_one_integration(found: list[dict[str, Any]]) -> None:
    arns = found[1]["fieldSelectors"][2]["startsWiths"]
    found[1]["fieldSelectors"][2]["startsWiths"] = [a for a in arns if "quote-to-order" not in a]


def statements(name: str, edit: Callable[[list[dict[str, Any]]], None]) -> Mutation:
    def mutate(plan: Plan) -> None:
        document = json.loads(named(plan, name)["inputs"]["policy"])
        edit(document["Statement"])
        named(plan, name)["inputs"]["policy"] = json.dumps(document)

    return mutate


def unbind_cloudtrail(found: list[dict[str, Any]]) -> None:
    for statement in found:
        if statement.get("Sid") == "CloudTrailEncryptsThisTrail":
            statement["Condition"].pop("StringEquals")


def unbind_decryption(found: list[dict[str, Any]]) -> None:
    for statement in found:
        if statement.get("Sid") == "AccountDecryptsThisTrailsLogs":
            statement["Condition"].pop("StringLike")


def drop_sid(sid: str) -> Callable[[list[dict[str, Any]]], None]:
    return lambda found: found.remove(next(s for s in found if s.get("Sid") == sid))


def open_to_everyone(found: list[dict[str, Any]]) -> None:
    found.append({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                  "Resource": "arn:aws:s3:::x/*"})  # fmt: skip


# (policy, how the stack is broken, a fragment of the message)
CASES: list[tuple[str, Mutation, str]] = [
    ("audit-trail-covers-stack", drop_trail, "no audit trail"),
    ("audit-trail-covers-stack", selectors(drop_management),
     "does not record all management events"),
    ("audit-trail-covers-stack", selectors(narrow_to_reads),
     "does not record all management events"),
    ("audit-trail-covers-stack", selectors(forget_one_integration),
     "does not record invocations of quote-to-order-consumer"),
    ("cloudtrail-hardened", set_input("stack-audit-trail", "enableLogFileValidation", False),
     "does not validate its log files"),
    ("cloudtrail-hardened", set_input("stack-audit-trail", "kmsKeyId", None),
     "encrypted with no KMS key"),
    ("cloudtrail-hardened", set_input("stack-audit-trail", "kmsKeyId", "alias/aws/cloudtrail"),
     "encrypted with alias/aws/cloudtrail"),
    ("cloudtrail-hardened", statements("stack-audit-key", unbind_cloudtrail),
     "does not let CloudTrail encrypt bound to this trail"),
    ("cloudtrail-hardened", statements("stack-audit-key", unbind_decryption),
     "use the key beyond reading this trail's logs"),
    ("audit-bucket-private",
     set_input("stack-audit-logs-public-access-block", "restrictPublicBuckets", False),
     "does not turn on all public access blocks"),
    ("audit-bucket-private",
     statements("stack-audit-logs-policy", drop_sid("DenyInsecureTransport")),
     "does not deny requests over plain HTTP"),
    ("audit-bucket-private", statements("stack-audit-logs-policy", open_to_everyone),
     "only CloudTrail may be allowed"),
    ("audit-bucket-private", set_input("stack-audit-logs-versioning", "versioningConfiguration",
                                       {"status": "Suspended"}), "is not versioned"),
    ("audit-bucket-private", set_input("stack-audit-logs-encryption", "rules",
                                       [{"applyServerSideEncryptionByDefault":
                                         {"sseAlgorithm": "AES256"}}]),
     "is not encrypted by default with a KMS key"),
    ("audit-bucket-private", set_input("stack-audit-logs-lifecycle", "rules", []),
     "never expires its logs"),
]  # fmt: skip


@pytest.fixture(scope="module")
def results() -> tuple[list[Violation], list[list[Violation]], list[Violation]]:
    clean = cases.recorded_stack("prod")
    baseline, broken = cases.judge(clean, [c[1] for c in CASES], stack="prod")
    org_config = {**stack_config("prod"), "integration-provisioner:auditTrail": ORG_TRAIL}
    _, [org] = cases.judge(clean, [drop_trail], stack="prod", config=org_config)
    return baseline, broken, org


def test_the_programs_prod_stack_passes_every_audit_policy(
    results: tuple[list[Violation], list[list[Violation]], list[Violation]],
) -> None:
    baseline, _, _ = results
    assert [v.message for v in baseline if v.policy in AUDIT] == []


def test_a_stack_naming_an_organisation_trail_needs_no_trail_of_its_own(
    results: tuple[list[Violation], list[list[Violation]], list[Violation]],
) -> None:
    _, _, org = results
    assert [v.message for v in org if v.policy in AUDIT] == []


@cases.each_case(("policy", "fragment"), CASES, 0, 2)
def test_broken_trail_is_refused_naming_the_fix(
    results: tuple[list[Violation], list[list[Violation]], list[Violation]],
    index: Any,
    policy: Any,
    fragment: Any,
) -> None:
    cases.assert_refused(results[1][index], policy, fragment)


def test_every_audit_policy_has_a_violating_case() -> None:
    from integration_policies.audit import AUDIT_POLICIES

    assert {p.name for p in AUDIT_POLICIES} == {c[0] for c in CASES} == AUDIT
