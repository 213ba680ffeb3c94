"""The rehearsal's `audit-trail` check on a prod stack of one integration deployed into the
emulator: it passes on what the program creates, and fails, naming what is wrong, when the
trail, its selectors or its bucket are broken after the deployment or when the stack names
an organisation trail that does not exist.

moto keeps a trail's configuration, status and advanced event selectors and a bucket's
settings and answers `describe_trails`, `get_trail_status` and `get_event_selectors`; it
delivers no log files, so the check judges the stored configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from provisioner.program import run_program
from provisioner.rehearsal.backend import AwsCreator
from provisioner.rehearsal.checks.audit import CHECK, audit_trail_checks
from provisioner.rehearsal.emulator import Emulator
from provisioner.rehearsal.result import Check
from provisioner.rehearsal.runner import EmulatorBackend
from roadmap.settings import AUDIT_TRAIL_NONE, StackSettings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = "333333333333"  # the prod stack's allowed account
TRAIL = f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/prod-stack-audit-trail"


@dataclass
class Deployed:
    aws: Emulator
    creator: AwsCreator
    settings: StackSettings

    def check(self, **settings: Any) -> list[Check]:
        chosen = self.settings.model_copy(update=settings)
        return audit_trail_checks(self.aws, chosen, self.creator.created)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    doc = yaml.safe_load((ROOT / "roadmap.yaml").read_text())
    doc["integrations"] = [i for i in doc["integrations"] if i["name"] == "quote-to-order"]
    roadmap = tmp_path_factory.mktemp("roadmap") / "roadmap.yaml"
    roadmap.write_text(yaml.safe_dump(doc, sort_keys=False))
    with Emulator(region="eu-west-1", account_id=ACCOUNT) as aws:
        creator = AwsCreator(aws)
        run = run_program("prod", roadmap=roadmap, backend=lambda s: EmulatorBackend(creator, s))
        yield Deployed(aws, creator, run.settings)


def only(checks: list[Check]) -> Check:
    assert [c.name for c in checks] == [CHECK]
    return checks[0]


def test_the_trail_the_program_creates_passes(deployed: Deployed) -> None:
    check = only(deployed.check())
    assert check.ok, check.detail
    assert "invocations of all 2 function(s)" in check.detail


def _broken(
    deployed: Deployed, breaks: Callable[[Any, Any], None], fixes: Callable[[Any, Any], None]
) -> Check:
    cloudtrail, s3 = deployed.aws.client("cloudtrail"), deployed.aws.client("s3")
    breaks(cloudtrail, s3)
    try:
        return only(deployed.check())
    finally:
        fixes(cloudtrail, s3)


def test_a_stopped_trail_fails(deployed: Deployed) -> None:
    check = _broken(
        deployed,
        lambda ct, s3: ct.stop_logging(Name=TRAIL),
        lambda ct, s3: ct.start_logging(Name=TRAIL),
    )
    assert not check.ok and "is not logging" in check.detail


def test_a_trail_without_the_functions_data_events_fails(deployed: Deployed) -> None:
    selectors = deployed.aws.client("cloudtrail").get_event_selectors(TrailName=TRAIL)
    management_only = selectors["AdvancedEventSelectors"][:1]
    check = _broken(
        deployed,
        lambda ct, s3: ct.put_event_selectors(
            TrailName=TRAIL, AdvancedEventSelectors=management_only
        ),
        lambda ct, s3: ct.put_event_selectors(
            TrailName=TRAIL, AdvancedEventSelectors=selectors["AdvancedEventSelectors"]
        ),
    )
    assert not check.ok
    assert "does not record invocations of prod-quote-to-order-" in check.detail


def test_a_public_bucket_fails(deployed: Deployed) -> None:
    bucket = f"prod-stack-audit-{ACCOUNT}"
    block = deployed.aws.client("s3").get_public_access_block(Bucket=bucket)
    check = _broken(
        deployed,
        lambda ct, s3: s3.delete_public_access_block(Bucket=bucket),
        lambda ct, s3: s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration=block["PublicAccessBlockConfiguration"],
        ),
    )
    assert not check.ok and f"bucket {bucket} does not block all public access" in check.detail


def test_an_organisation_trail_that_does_not_exist_fails(deployed: Deployed) -> None:
    missing = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/organisation"
    check = only(deployed.check(audit_trail=missing))
    assert not check.ok
    assert missing in check.detail and "no such trail" in check.detail


def test_an_organisation_trail_that_covers_the_stack_passes(deployed: Deployed) -> None:
    # The stack's own trail stands in for the organisation's: it exists and covers them.
    check = only(deployed.check(audit_trail=TRAIL))
    assert check.ok, check.detail
    assert check.detail.startswith(f"organisation trail {TRAIL}")


def test_a_stack_without_a_trail_runs_no_check(deployed: Deployed) -> None:
    assert deployed.check(audit_trail=AUDIT_TRAIL_NONE) == []
