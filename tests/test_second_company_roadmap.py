"""A second company's roadmap (hardware + SaaS) runs green through every command.

``tests/fixtures/hardware_saas_roadmap.yaml`` needs what the example does not: billing,
support and platform systems, a hyphenated custom object with its Salesforce and NetSuite
API names, NetSuite TBA, Snowflake key pairs, basic tokens and a webhook signing secret.
One rehearsal proves the program deploys, the policy pack passes and records, credentials
and rotations work; validate and check run as the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from provisioner.cli import main
from provisioner.rehearsal import Progress, rehearse

pytestmark = pytest.mark.slow

ROADMAP = Path(__file__).resolve().parent / "fixtures" / "hardware_saas_roadmap.yaml"


@pytest.fixture(scope="module")
def report() -> Any:
    return rehearse("dev", roadmap=ROADMAP, progress=Progress(quiet=True))


def test_validate_accepts_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--roadmap", str(ROADMAP)]) == 0
    assert "8 systems, 9 objects, 5 integrations" in capsys.readouterr().out


def test_plan_and_policy_check_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--stack", "dev", "--roadmap", str(ROADMAP), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["resources_analyzed"] > 100, result


def test_rehearsal_passes_every_check(report: Any) -> None:
    failed = {c.name: c.detail for c in report.checks if not c.ok}
    assert report.ok and not failed, failed


def test_custom_object_reaches_the_target_under_its_api_names(report: Any) -> None:
    detail = next(c.detail for c in report.checks if c.name == "end-to-end:hw-order-to-erp")
    assert "upserted customrecord_hw_order/externalId/" in detail, detail
    assert "netsuite_tba credential" in detail, detail


@pytest.mark.parametrize(
    ("credential", "expected"),
    [
        ("device-fleet-export:snowflake-loader", "snowflake_key_pair rotated"),
        ("escalation-to-jira:jira-token", "basic_token rotated"),
        ("hw-order-to-erp:netsuite-tba", "netsuite_tba is rotated by hand"),
        ("subscription-to-crm:stripe-webhook", "webhook_signing_secret is rotated by hand"),
    ],
)
def test_each_new_credential_kind_has_its_rotation_check(
    report: Any, credential: str, expected: str
) -> None:
    check = next(c for c in report.checks if c.name == f"rotation:{credential}")
    assert check.ok and expected in check.detail, check


def test_stripe_webhooks_reach_the_queue_only_when_signed_fresh_and_once(report: Any) -> None:
    check = next(c for c in report.checks if c.name == "webhook:subscription-to-crm")
    assert check.ok, check.detail
    for answer in ("signed 200", "replayed 401", "body altered 401", "bad signature 401"):
        assert answer in check.detail, check.detail
    # Stripe signs a timestamp: one signed an hour ago is refused as stale.
    assert "stale 401" in check.detail, check.detail
