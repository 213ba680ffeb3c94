"""What a real account needs: the engine's account, the stack's allowlist, stacks beside stacks.

The program asks the engine which account it deploys into (`aws.get_caller_identity()`)
and refuses one outside `aws:allowedAccountIds`; several stacks of one environment
(`dev`, `dev-alice`) deploy into one account without a name collision.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from contract.aws_types import (
    GET_CALLER_IDENTITY,
    IAM_ROLE,
    IAM_USER,
    KMS_KEY,
    LAMBDA_PERMISSION,
    SNS_TOPIC_SUBSCRIPTION,
)
from contract.naming import (
    MAX_PREFIX_LENGTH,
    NAME_LIMIT,
    NAME_LIMITS,
    SLUG_MAX_LENGTH,
    names_over_limit,
)
from provisioner.aws_shapes import AwsShapedBackend
from provisioner.policy_harness import check_resources
from provisioner.program import run_program
from provisioner.records import ProgramError, ProgramRun
from provisioner.rehearsal import Progress, rehearse
from provisioner.rehearsal.backend import AwsCreator
from provisioner.rehearsal.emulator import Emulator
from provisioner.rehearsal.runner import EmulatorBackend
from roadmap.integrations import CredentialKind
from roadmap.io import parse_roadmap
from roadmap.settings import StackSettings

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.roadmaps import PATTERNS, generate_roadmap  # noqa: E402

DEPLOYING = "444455556666"
# A name prefix as long as a stack may have.
LONGEST_PREFIX = "dev-alice-sandbx"
assert len(LONGEST_PREFIX) == MAX_PREFIX_LENGTH


def _longest(name: str) -> str:
    """`name` padded to the longest slug the roadmap accepts, still distinct."""
    return (name + "-" + "x" * SLUG_MAX_LENGTH)[:SLUG_MAX_LENGTH]


def longest_names_roadmap() -> dict[str, Any]:
    """Every pattern and credential kind, integration, object and credential names at the
    schema's limit (a generated roadmap of seven integrations, renamed)."""
    doc = generate_roadmap(7)
    objects = {o["name"]: _longest(o["name"]) for o in doc["objects"]}
    for obj in doc["objects"]:
        obj["name"] = objects[obj["name"]]
    for integ in doc["integrations"]:
        integ["name"] = _longest(integ["name"])
        integ["objects"] = [objects[o] for o in integ["objects"]]
        for mapping in integ["field_mappings"]:
            mapping["object"] = objects[mapping["object"]]
        for cred in integ["credentials"]:
            cred["name"] = _longest(cred["name"])
    return doc


@pytest.fixture(scope="module")
def longest_roadmap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    doc = longest_names_roadmap()
    roadmap = parse_roadmap(doc)
    assert {i.pattern.value for i in roadmap.integrations} == set(PATTERNS)
    assert {c.kind for i in roadmap.integrations for c in i.credentials} == set(CredentialKind)
    assert {len(i.name) for i in roadmap.integrations} == {SLUG_MAX_LENGTH}
    path = tmp_path_factory.mktemp("longest") / "roadmap.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def longest_plan(longest_roadmap: Path) -> ProgramRun:
    return run_program("dev", roadmap=longest_roadmap, config={"namePrefix": LONGEST_PREFIX})


def test_every_physical_name_of_the_longest_roadmap_fits_its_aws_limit(
    longest_plan: ProgramRun,
) -> None:
    problems = [p for r in longest_plan.resources for p in names_over_limit(r.type, r.inputs)]
    assert problems == []
    # Every type that is given a name has its limit in the table, and the limit was reached.
    named = {
        r.type
        for r in longest_plan.resources
        if r.custom and {"name", "dashboardName"} & set(r.inputs)
    }
    assert named <= set(NAME_LIMITS), named - set(NAME_LIMITS)
    users = [r.inputs["name"] for r in longest_plan.by_type(IAM_USER)]
    assert users and all(NAME_LIMIT - 1 <= len(n) <= NAME_LIMIT for n in users), users
    assert all(re.match(rf"{LONGEST_PREFIX}-.+-[0-9a-f]{{8}}$", n) for n in users), users


def test_the_longest_roadmap_passes_the_policy_pack(longest_plan: ProgramRun) -> None:
    result = check_resources(
        [{**r.to_json(), "options": dict(r.options)} for r in longest_plan.resources],
        stack="dev",
        config=longest_plan.config,
    )
    assert not result.mandatory, [(v.policy, v.message) for v in result.mandatory]


class DeployingAs(AwsShapedBackend):
    """The mock runtime, with the engine's credentials in account `DEPLOYING`."""

    def call(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        answer = super().call(token, args)
        if token == GET_CALLER_IDENTITY:
            answer["accountId"] = DEPLOYING
        return answer


@pytest.fixture(scope="module")
def deployed_as_other_account(longest_roadmap: Path) -> ProgramRun:
    return run_program(
        "prod",
        roadmap=longest_roadmap,
        config={"aws:allowedAccountIds": [DEPLOYING]},
        backend=DeployingAs,
    )


def test_key_policies_and_permissions_name_the_account_the_engine_reports(
    deployed_as_other_account: ProgramRun,
) -> None:
    run = deployed_as_other_account
    for key in run.by_type(KMS_KEY):
        policy = json.loads(key.inputs["policy"])
        admins = [s for s in policy["Statement"] if s["Sid"] == "AccountAdministersKey"]
        assert admins[0]["Principal"] == {"AWS": f"arn:aws:iam::{DEPLOYING}:root"}
    permissions = run.by_type(LAMBDA_PERMISSION)
    assert permissions
    assert {p.inputs.get("sourceAccount") for p in permissions} <= {DEPLOYING, None}
    # No other account appears anywhere in what the program registers.
    text = json.dumps([r.inputs for r in run.resources])
    assert set(_account_ids(text)) == {DEPLOYING}


def _account_ids(text: str) -> list[str]:
    import re

    return re.findall(r"arn:aws:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):", text)


def test_an_account_outside_the_stacks_allowlist_is_refused_naming_the_setting(
    longest_roadmap: Path,
) -> None:
    with pytest.raises(ProgramError) as caught:
        run_program("dev", roadmap=longest_roadmap, backend=DeployingAs)
    message = str(caught.value)
    assert "stacks/Pulumi.dev.yaml: config.aws:allowedAccountIds" in message
    assert f"does not include {DEPLOYING}" in message


def test_every_example_stack_allows_exactly_its_own_account() -> None:
    from roadmap.stack_config import known_stacks, load_stack_settings

    stacks = known_stacks(ROOT / "stacks")
    allowed = {s: load_stack_settings(ROOT / "stacks", s).allowed_account_ids for s in stacks}
    assert all(len(ids) == 1 for ids in allowed.values()), allowed
    assert len({ids[0] for ids in allowed.values()}) == len(stacks), "one account per stack"
    for stack in stacks:
        text = (ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text()
        assert "accountId" not in text, f"{stack}: the account comes from the engine"


# A PagerDuty URL carries its integration key, so dev-alice keeps it as a `secure:` value;
# offline nothing can (or may) decrypt it, so this ciphertext must show up nowhere.
CIPHERTEXT = "v1:c2VjcmV0LXBhZ2VyZHV0eS1rZXktZm9yLWRldi1hbGljZQ=="
SECURE_ROUTING = f"""  integration-provisioner:alarmRouting:
    fallbackEmail: integrations-dev@example.com
    endpoints:
      pagerduty:revops-oncall:
        protocol: https
        endpoint:
          secure: {CIPHERTEXT}
"""


@pytest.fixture(scope="module")
def alice_stacks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`dev` as in the repository and `dev-alice`: a dev stack of her own, its alert
    endpoint a `secure:` value, importing a Pulumi ESC environment."""
    stacks = tmp_path_factory.mktemp("stacks")
    text = (ROOT / "stacks" / "Pulumi.dev.yaml").read_text()
    (stacks / "Pulumi.dev.yaml").write_text(text)
    routing = (
        "  integration-provisioner:alarmRouting:\n    fallbackEmail: integrations-dev@example.com\n"
    )
    assert routing in text
    alice = "environment:\n  - integrations/dev-alice\n" + text.replace(routing, SECURE_ROUTING)
    (stacks / "Pulumi.dev-alice.yaml").write_text(alice)
    return stacks


@pytest.fixture(scope="module")
def alice_plan(alice_stacks: Path, longest_roadmap: Path) -> ProgramRun:
    return run_program("dev-alice", roadmap=longest_roadmap, stacks_dir=alice_stacks)


def test_a_secure_alert_endpoint_is_a_secret_in_the_plan_and_shown_nowhere(
    alice_plan: ProgramRun, alice_stacks: Path, longest_roadmap: Path
) -> None:
    from provisioner.commands.plan import plan_document
    from provisioner.context import load_stack_context

    assert alice_plan.settings.is_secret("alarmRouting")
    paged = [
        r for r in alice_plan.by_type(SNS_TOPIC_SUBSCRIPTION) if r.inputs["protocol"] == "https"
    ]
    assert paged and all(("endpoint",) in r.secret_paths for r in paged)
    context = load_stack_context("dev-alice", longest_roadmap, alice_stacks)
    document = json.dumps(plan_document(context, alice_plan))
    assert CIPHERTEXT not in document and CIPHERTEXT not in json.dumps(alice_plan.config)
    assert '"endpoint": "[secret]"' in document


def test_a_secure_alert_endpoint_is_checked_and_reported_without_its_value(
    alice_plan: ProgramRun, alice_stacks: Path, longest_roadmap: Path, tmp_path: Path
) -> None:
    from provisioner.context import StackContext
    from provisioner.report import build_report, collect_plan, collect_promotion, write_report

    result = check_resources(
        [r.to_json() for r in alice_plan.resources], stack="dev-alice", config=alice_plan.config
    )
    assert not result.mandatory, [(v.policy, v.message) for v in result.mandatory]
    roadmap = parse_roadmap(yaml.safe_load(longest_roadmap.read_text()))
    policy, costs = collect_plan(
        "dev-alice", longest_roadmap, roadmap, check=False, stacks_dir=alice_stacks
    )
    context = StackContext("dev-alice", alice_plan.settings, roadmap, longest_roadmap)
    report = build_report(context, policy=policy, costs=costs, promotion=collect_promotion(roadmap))
    written = write_report(report, tmp_path)
    assert costs.available
    for path in written:
        assert CIPHERTEXT not in path.read_text()


def test_dev_and_dev_alice_rehearse_side_by_side_in_one_account(
    longest_roadmap: Path, alice_stacks: Path
) -> None:
    """The same longest-names roadmap deployed by `dev`, then rehearsed in full by
    `dev-alice` in the same emulator: no name collides, every check passes, and her
    `secure:` alert endpoint is in no check's detail."""
    with Emulator(region="eu-west-1", account_id="111111111111") as aws:
        creator = AwsCreator(aws)

        def backend(settings: StackSettings) -> EmulatorBackend:
            return EmulatorBackend(creator, settings)

        dev = run_program("dev", roadmap=longest_roadmap, backend=backend, stacks_dir=alice_stacks)
        report = rehearse(
            "dev-alice",
            roadmap=longest_roadmap,
            progress=Progress(quiet=True),
            stacks_dir=alice_stacks,
            emulator=aws,
        )
        failed = {c.name: c.detail for c in report.checks if not c.ok}
        assert report.ok, failed
        assert CIPHERTEXT not in json.dumps(report.as_dict())
        roles = {r["RoleName"] for r in aws.client("iam").list_roles()["Roles"]}
    dev_roles = {r.inputs["name"] for r in dev.by_type(IAM_ROLE)}
    assert dev_roles and dev_roles <= roles
    alice_roles = {n for n in roles if n.startswith("dev-alice-")}
    assert len(alice_roles) == len(dev_roles)
