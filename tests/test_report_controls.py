"""The report's security controls section: per integration, the controls of the resource
types it has (docs/controls.md), each met control judged by the policy pack's verdicts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from test_report_content import ROADMAP, report_for

from provisioner.report import PolicyResults, collect_plan, render_html, render_markdown
from provisioner.report.controls import integration_controls
from provisioner.violations import Violation

ROOT = Path(__file__).resolve().parent.parent
QUEUED = frozenset(
    {
        "aws:lambda/function:Function",
        "aws:kms/key:Key",
        "aws:secretsmanager/secret:Secret",
        "aws:sqs/queue:Queue",
        "aws:sns/topic:Topic",
    }
)
CREDENTIALS_ONLY = frozenset({"aws:kms/key:Key", "aws:secretsmanager/secret:Secret"})


def report_with(policy: PolicyResults) -> Any:
    return report_for(stack="dev", policy=policy)


def verdict_of(html: str, integration: str, control: str) -> str:
    table = re.search(
        rf"<table class='controls' data-integration='{integration}'>.*?</table>", html, re.S
    )
    assert table, f"no controls table for {integration}"
    row = re.search(
        rf"<tr><td>[^<]*</td><td>{re.escape(control)}</td>.*?</tr>", table.group(0), re.S
    )
    assert row, f"{control} is not listed for {integration}"
    found = re.search(r"data-verdict='([^']+)'", row.group(0))
    assert found
    return found.group(1)


def test_a_violated_policy_fails_the_controls_it_enforces_for_that_integration_only() -> None:
    broken = Violation(
        "secret-fenced", "mandatory", "urn:x", "no resource policy", "quote-to-order"
    )
    policy = PolicyResults(
        available=True,
        policies=("secret-fenced",),
        violations=(broken,),
        resource_types={"quote-to-order": QUEUED, "campaign-sync": CREDENTIALS_ONLY},
    )
    html = render_html(report_with(policy))
    assert verdict_of(html, "quote-to-order", "FSBP SecretsManager.2") == "FAIL"
    assert verdict_of(html, "campaign-sync", "FSBP SecretsManager.2") == "PASS"
    assert verdict_of(html, "quote-to-order", "FSBP SQS.1") == "PASS"
    assert verdict_of(html, "quote-to-order", "FSBP Lambda.3") == "NOT APPLICABLE"
    assert "secret-fenced: no resource policy" in html


def test_only_the_resource_types_an_integration_has_are_listed() -> None:
    policy = PolicyResults(available=True, resource_types={"campaign-sync": CREDENTIALS_ONLY})
    rows = integration_controls(report_with(policy))["campaign-sync"]
    assert {r.resource_type for r in rows} == {"KMS key", "Secrets Manager secret"}
    markdown = render_markdown(report_with(policy))
    assert "## Security controls per integration (dev)" in markdown
    assert "| KMS key | FSBP KMS.4 / CIS 3.8 | PASS |" in markdown


def test_without_a_plan_the_section_says_why() -> None:
    policy = PolicyResults.unavailable("skipped with --no-check")
    assert "Not available: skipped with --no-check" in render_markdown(report_with(policy))


@pytest.mark.slow
def test_the_planned_dev_stack_meets_every_control_it_marks_met() -> None:
    policy, _ = collect_plan("dev", ROOT / "roadmap.yaml", ROADMAP)
    found = integration_controls(report_with(policy))
    assert set(found) == {i.name for i in ROADMAP.active("dev")}
    assert [(n, r.ids) for n, rows in found.items() for r in rows if r.verdict == "FAIL"] == []
    assert all(any(r.resource_type == "SQS queue" for r in found[n]) for n in ("quote-to-order",))
