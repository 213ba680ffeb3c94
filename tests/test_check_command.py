"""`provisioner check` on the real plan: the example roadmap passes everywhere, the crafted
mutations fail with the integration and the fix, and the generated IAM passes two linters."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from contract.phases import ENVIRONMENTS
from integration_policies import POLICIES
from provisioner import cli
from provisioner.commands import check
from provisioner.policy_harness import CheckResult, PolicyHarness, load_pack_config

pytestmark = pytest.mark.slow

Plan = list[dict[str, Any]]


@pytest.fixture(scope="module")
def plans() -> dict[str, tuple[Plan, dict[str, str]]]:
    return {env: check.plan_resources(env) for env in ENVIRONMENTS}


def run_check(env: str, plan: Plan, config: dict[str, str]) -> CheckResult:
    with PolicyHarness(stack=env, config=config, policy_config=load_pack_config(env)) as pack:
        return pack.check(plan)


def named(plan: Plan, name: str) -> dict[str, Any]:
    return next(r for r in plan if r["name"] == name)


def edit_policy(plan: Plan, name: str, edit: Any) -> Plan:
    resource = named(plan, name)
    document = json.loads(resource["inputs"]["policy"])
    edit(document["Statement"])
    resource["inputs"]["policy"] = json.dumps(document)
    return plan


def widen_sqs(statements: list[dict[str, Any]]) -> None:
    sqs = next(s for s in statements if any(str(a).startswith("sqs:") for a in s["Action"]))
    sqs["Action"] = ["sqs:*"]


def queue_arn(plan: Plan, name: str) -> str:
    return str(named(plan, name)["outputs"]["arn"])


MUTATIONS: dict[str, Callable[[Plan], Plan]] = {
    "drop a DLQ": lambda p: [r for r in p if r["name"] != "quote-to-order-dlq"],
    "widen an action to sqs:*": lambda p: edit_policy(p, "quote-to-order-policy", widen_sqs),
    "point a role at another integration's queue": lambda p: edit_policy(
        p,
        "quote-to-order-policy",
        lambda st: st.append(
            {
                "Effect": "Allow",
                "Action": ["sqs:SendMessage"],
                "Resource": [queue_arn(p, "lead-to-account-queue")],
            }
        ),
    ),
    "remove an alarm at phase 3": lambda p: [
        r for r in p if r["name"] != "inventory-to-promise-alarm-throttles"
    ],
}
EXPECTED = {  # integration named, the fix it proposes
    "drop a DLQ": ("quote-to-order", "Fix: add the integration's DLQ"),
    "widen an action to sqs:*": ("quote-to-order", "Fix: name each action"),
    "point a role at another integration's queue": ("quote-to-order", "Fix: name only"),
    "remove an alarm at phase 3": ("inventory-to-promise", "Fix: add the"),
}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_example_roadmap_passes_check(
    plans: dict[str, tuple[Plan, dict[str, str]]], env: str
) -> None:
    plan, config = plans[env]
    result = run_check(env, plan, config)
    assert result.resources_analyzed == len(plan) > 100
    assert [v.as_dict() for v in result.mandatory] == []


@pytest.fixture(scope="module")
def mutated(plans: dict[str, tuple[Plan, dict[str, str]]]) -> dict[str, CheckResult]:
    plan, config = plans["dev"]
    with PolicyHarness(stack="dev", config=config, policy_config=load_pack_config("dev")) as pack:
        return {name: pack.check(mutate(copy.deepcopy(plan))) for name, mutate in MUTATIONS.items()}


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_mutated_plan_fails_naming_integration_and_fix(
    mutated: dict[str, CheckResult], mutation: str
) -> None:
    integration, fix = EXPECTED[mutation]
    result = mutated[mutation]
    assert result.mandatory, f"{mutation}: no mandatory violation"
    assert any(f"[{integration}]" in v.message and fix in v.message for v in result.mandatory), [
        v.message for v in result.mandatory
    ]


def _check_plans(
    monkeypatch: pytest.MonkeyPatch, planned: tuple[Plan, dict[str, str]], *mutations: str
) -> Plan:
    """Make `check` judge a copy of `planned` with these mutations applied; returns it."""
    plan, config = planned
    judged = copy.deepcopy(plan)
    for mutation in mutations:
        judged = MUTATIONS[mutation](judged)
    monkeypatch.setattr(check, "plan_resources", lambda stack, roadmap=None: (judged, config))
    return judged


def test_cli_json_output_and_exit_code(
    plans: dict[str, tuple[Plan, dict[str, str]]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = _check_plans(monkeypatch, plans["dev"], "drop a DLQ")
    assert cli.main(["check", "--stack", "dev", "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"policies", "resources_analyzed", "violations"}
    assert document["resources_analyzed"] == len(bad)
    assert document["policies"] == [p.name for p in POLICIES]
    assert {tuple(v) for v in document["violations"]} == {("policy", "level", "urn", "message")}


def test_cli_text_groups_violations_by_integration(
    plans: dict[str, tuple[Plan, dict[str, str]]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _check_plans(
        monkeypatch, plans["dev"], "remove an alarm at phase 3", "widen an action to sqs:*"
    )
    assert cli.main(["check", "--stack", "dev"]) == 1
    out = capsys.readouterr().out
    assert "\n  inventory-to-promise\n    - [mandatory]  phase-requirements" in out
    assert "\n  quote-to-order\n    - [mandatory]  iam-no-wildcard-actions" in out


def test_cli_exits_zero_on_the_clean_plan(
    plans: dict[str, tuple[Plan, dict[str, str]]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _check_plans(monkeypatch, plans["prod"])
    assert cli.main(["check", "--stack", "prod"]) == 0
    assert "No policy violations." in capsys.readouterr().out


def _iam_documents(plans: dict[str, tuple[Plan, dict[str, str]]]) -> list[str]:
    types = (
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/policy:Policy",
        "aws:iam/userPolicy:UserPolicy",
    )
    return [
        r["inputs"]["policy"] for env in ENVIRONMENTS for r in plans[env][0] if r["type"] in types
    ]


def test_generated_iam_passes_parliament(plans: dict[str, tuple[Plan, dict[str, str]]]) -> None:
    import parliament

    documents = _iam_documents(plans)
    assert len(documents) > 10
    # Lambda adds lambda:SourceFunctionArn to every call a function's own code makes, for
    # identity policies (Lambda developer guide, "Using source function ARN to control
    # function access behavior"); parliament's per-action catalogue does not list it.
    source_function = (
        "UNKNOWN_CONDITION_FOR_ACTION",
        "Unknown condition lambda:SourceFunctionArn for action secretsmanager:GetSecretValue",
    )
    findings = {
        d: [
            (f.issue, f.detail)
            for f in parliament.analyze_policy_string(d).findings
            if (f.issue, f.detail) != source_function
        ]
        for d in documents
    }
    assert {d: f for d, f in findings.items() if f} == {}


def test_generated_iam_passes_cloudsplaining(plans: dict[str, tuple[Plan, dict[str, str]]]) -> None:
    from cloudsplaining.command.scan_policy_file import scan_policy

    for document in _iam_documents(plans):
        results = scan_policy(json.loads(document))
        findings = {k: v["findings"] for k, v in results.items() if isinstance(v, dict)}
        assert {k: v for k, v in findings.items() if v} == {}, document
