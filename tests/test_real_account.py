"""What a real account needs: the engine's account, the stack's allowlist, stacks beside stacks.

The program asks the engine which account it deploys into (`aws.get_caller_identity()`)
and refuses one outside `aws:allowedAccountIds`; several stacks of one environment
(`dev`, `dev-alice`) deploy into one account without a name collision.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.settings import StackSettings
from provisioner.program import AwsShapedBackend, ProgramError, ProgramRun, run_program
from provisioner.rehearsal import Progress, rehearse
from provisioner.rehearsal.creators import AwsCreator
from provisioner.rehearsal.emulator import Emulator
from provisioner.rehearsal.runner import EmulatorBackend

ROOT = Path(__file__).resolve().parents[1]
DEPLOYING = "444455556666"
# Two FIFO event-driven integrations (one with an IAM pusher): quick to deploy.
SMALL = ("quote-to-order", "lead-to-account")


class DeployingAs(AwsShapedBackend):
    """The mock runtime, with the engine's credentials in account `DEPLOYING`."""

    def call(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        answer = super().call(token, args)
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            answer["accountId"] = DEPLOYING
        return answer


@pytest.fixture(scope="module")
def small_roadmap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    doc = yaml.safe_load((ROOT / "roadmap.yaml").read_text())
    doc["integrations"] = [i for i in doc["integrations"] if i["name"] in SMALL]
    path = tmp_path_factory.mktemp("roadmap") / "roadmap.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def deployed_as_other_account(small_roadmap: Path) -> ProgramRun:
    return run_program(
        "prod",
        roadmap=small_roadmap,
        config={"aws:allowedAccountIds": [DEPLOYING]},
        backend=DeployingAs,
    )


def test_key_policies_and_permissions_name_the_account_the_engine_reports(
    deployed_as_other_account: ProgramRun,
) -> None:
    run = deployed_as_other_account
    for key in run.by_type("aws:kms/key:Key"):
        policy = json.loads(key.inputs["policy"])
        admins = [s for s in policy["Statement"] if s["Sid"] == "AccountAdministersKey"]
        assert admins[0]["Principal"] == {"AWS": f"arn:aws:iam::{DEPLOYING}:root"}
    permissions = run.by_type("aws:lambda/permission:Permission")
    assert permissions
    assert {p.inputs.get("sourceAccount") for p in permissions} <= {DEPLOYING, None}
    # No other account appears anywhere in what the program registers.
    text = json.dumps([r.inputs for r in run.resources])
    assert set(_account_ids(text)) == {DEPLOYING}


def _account_ids(text: str) -> list[str]:
    import re

    return re.findall(r"arn:aws:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):", text)


def test_an_account_outside_the_stacks_allowlist_is_refused_naming_the_setting(
    small_roadmap: Path,
) -> None:
    with pytest.raises(ProgramError) as caught:
        run_program("dev", roadmap=small_roadmap, backend=DeployingAs)
    message = str(caught.value)
    assert "stacks/Pulumi.dev.yaml: config.aws:allowedAccountIds" in message
    assert f"does not include {DEPLOYING}" in message


def test_every_example_stack_allows_exactly_its_own_account() -> None:
    from components.settings import known_stacks, load_stack_settings

    stacks = known_stacks(ROOT / "stacks")
    allowed = {s: load_stack_settings(ROOT / "stacks", s).allowed_account_ids for s in stacks}
    assert all(len(ids) == 1 for ids in allowed.values()), allowed
    assert len({ids[0] for ids in allowed.values()}) == len(stacks), "one account per stack"
    for stack in stacks:
        text = (ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text()
        assert "accountId" not in text, f"{stack}: the account comes from the engine"


def _personal_stack(stacks_dir: Path, name: str, environment: str) -> None:
    """A stack of `environment` for one engineer: the environment's file, its own name."""
    text = (ROOT / "stacks" / f"Pulumi.{environment}.yaml").read_text()
    (stacks_dir / f"Pulumi.{name}.yaml").write_text(text)
    (stacks_dir / f"Pulumi.{environment}.yaml").write_text(text)


def test_dev_and_dev_alice_rehearse_side_by_side_in_one_account(
    small_roadmap: Path, tmp_path: Path
) -> None:
    _personal_stack(tmp_path, "dev-alice", "dev")
    with Emulator(region="eu-west-1", account_id="111111111111") as aws:
        creator = AwsCreator(aws)

        def backend(settings: StackSettings) -> EmulatorBackend:
            return EmulatorBackend(creator, settings)

        dev = run_program("dev", roadmap=small_roadmap, backend=backend, stacks_dir=tmp_path)
        report = rehearse(
            "dev-alice",
            roadmap=small_roadmap,
            progress=Progress(quiet=True),
            stacks_dir=tmp_path,
            emulator=aws,
        )
        failed = {c.name: c.detail for c in report.checks if not c.ok}
        assert report.ok, failed
        # Both stacks are there, each under its own prefix, and dev's queue still works.
        queues = aws.client("sqs").list_queues()["QueueUrls"]
        names = {url.rsplit("/", 1)[-1] for url in queues}
        assert "dev-quote-to-order-queue.fifo" in names
        assert "dev-alice-quote-to-order-queue.fifo" in names
    assert dev.settings.environment == "dev" and dev.settings.name_prefix == "dev"
