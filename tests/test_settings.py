"""Stack settings read the same from the stack file and from Pulumi config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from roadmap_examples import stack_folder

from roadmap.stack_config import StackSettingsError, load_stack_settings, settings_from_config

ROOT = Path(__file__).resolve().parent.parent


def test_pulumi_config_and_stack_file_give_the_same_settings() -> None:
    from_file = load_stack_settings(ROOT / "stacks", "prod")
    # pulumi.Config.get hands text as it is and structured values as JSON text.
    raw = {
        "environment": "prod",
        "maxRotationDays": "30",
        "logRetentionDays": "365",
        "protectStateful": "true",
        "alarmRouting": json.dumps(from_file.alarm_routing.model_dump(by_alias=True)),
        "killSwitch": "[]",
        "snowflake": json.dumps(
            {
                name: stage.model_dump(by_alias=True, exclude_none=True)
                for name, stage in from_file.snowflake.items()
            }
        ),
    }
    aws = {"region": "eu-west-1", "allowedAccountIds": json.dumps(from_file.allowed_account_ids)}
    from_config = settings_from_config("prod", raw.get, aws.get)
    assert from_config == from_file
    assert from_config.name_prefix == "prod"
    assert len(from_config.allowed_account_ids) == 1


def test_prod_rotates_at_least_monthly_and_protects_state() -> None:
    prod = load_stack_settings(ROOT / "stacks", "prod")
    assert prod.max_rotation_days == 30 and prod.protect_stateful


def test_unknown_stack_is_named_with_the_known_ones() -> None:
    with pytest.raises(StackSettingsError, match=r"unknown stack 'qa'.*use one of: dev, prod, sta"):
        load_stack_settings(ROOT / "stacks", "qa")


def test_a_stack_follows_the_environment_it_declares_and_prefixes_names_with_its_own(
    tmp_path: Path,
) -> None:
    alice = load_stack_settings(stack_folder(tmp_path, "dev-alice", {}), "dev-alice")
    assert (alice.environment, alice.name_prefix) == ("dev", "dev-alice")


def test_a_stack_may_set_its_own_name_prefix(tmp_path: Path) -> None:
    stacks = stack_folder(
        tmp_path,
        "pr-123",
        {"environment: dev": "environment: dev\n  integration-provisioner:namePrefix: pr123"},
    )
    assert load_stack_settings(stacks, "pr-123").name_prefix == "pr123"


def test_a_stack_not_named_after_an_environment_must_declare_one(tmp_path: Path) -> None:
    stacks = stack_folder(tmp_path, "pr-123", {"  integration-provisioner:environment: dev\n": ""})
    with pytest.raises(StackSettingsError) as caught:
        load_stack_settings(stacks, "pr-123")
    assert "Pulumi.pr-123.yaml: config.integration-provisioner:environment: missing" in str(
        caught.value
    )


def test_a_stack_name_that_cannot_prefix_aws_names_asks_for_a_prefix(tmp_path: Path) -> None:
    stacks = stack_folder(tmp_path, "Alice.Dev", {})
    with pytest.raises(StackSettingsError, match="namePrefix: missing, and the stack name"):
        load_stack_settings(stacks, "Alice.Dev")


def test_an_allowed_account_must_be_twelve_digits(tmp_path: Path) -> None:
    stacks = stack_folder(tmp_path, "dev", {'["111111111111"]': '["1111"]'})
    with pytest.raises(StackSettingsError) as caught:
        load_stack_settings(stacks, "dev")
    assert str(caught.value).endswith(
        "Pulumi.dev.yaml: config.aws:allowedAccountIds[0]: '1111' is not allowed: use a "
        "12-digit AWS account id"
    )


def test_an_unquoted_allowed_account_is_refused_before_it_loses_its_zeros(
    tmp_path: Path,
) -> None:
    stacks = stack_folder(tmp_path, "dev", {'["111111111111"]': "[011111111111]"})
    with pytest.raises(StackSettingsError, match=r"allowedAccountIds: .*must be quoted strings"):
        load_stack_settings(stacks, "dev")


def test_invalid_retention_names_the_file_and_key(tmp_path: Path) -> None:
    stacks = stack_folder(tmp_path, "dev", {"logRetentionDays: 14": "logRetentionDays: 10"})
    with pytest.raises(StackSettingsError) as caught:
        load_stack_settings(stacks, "dev")
    message = str(caught.value)
    assert "Pulumi.dev.yaml: config.integration-provisioner:logRetentionDays" in message
    assert "10 is not a CloudWatch Logs retention" in message


def test_environment_must_match_the_stack(tmp_path: Path) -> None:
    stacks = stack_folder(tmp_path, "dev", {"environment: dev": "environment: prod"})
    with pytest.raises(StackSettingsError, match="says 'prod' but the stack is 'dev'"):
        load_stack_settings(stacks, "dev")


def test_a_prod_stack_cannot_drop_protection(tmp_path: Path) -> None:
    edit = {"protectStateful: true": "protectStateful: false"}
    stacks = stack_folder(tmp_path, "prod", edit, source="prod")
    with pytest.raises(StackSettingsError) as caught:
        load_stack_settings(stacks, "prod")
    assert "Pulumi.prod.yaml: config.integration-provisioner:protectStateful: a prod stack" in str(
        caught.value
    )


# The dev stack's sandbox org with a 5,000 calls/day allocation, which the example spends.
SMALL_ORG = {"salesforceApiAllocation: 5000000": "salesforceApiAllocation: 5000"}


def with_boundary(arn: str) -> dict[str, str]:
    """The edit that gives the dev stack a permissions boundary."""
    return {
        "killSwitch: []": f"killSwitch: []\n  integration-provisioner:permissionsBoundaryArn: {arn}"
    }


@pytest.mark.parametrize(
    "arn",
    ["not-an-arn", "arn:aws:iam::111111111111:role/boundary", "arn:aws:iam::1111:policy/b"],
)
def test_a_permissions_boundary_that_is_not_a_policy_arn_is_refused(
    tmp_path: Path, arn: str
) -> None:
    stacks = stack_folder(tmp_path, "dev", with_boundary(arn))
    with pytest.raises(StackSettingsError) as caught:
        load_stack_settings(stacks, "dev")
    assert "config.integration-provisioner:permissionsBoundaryArn" in str(caught.value)
    assert "is not an IAM managed policy ARN" in str(caught.value)


def test_a_policy_arn_with_a_path_is_a_valid_boundary(tmp_path: Path) -> None:
    arn = "arn:aws:iam::111111111111:policy/boundaries/integration-boundary"
    stacks = stack_folder(tmp_path, "dev", with_boundary(arn))
    assert load_stack_settings(stacks, "dev").permissions_boundary_arn == arn


def test_a_kill_switch_entry_naming_no_integration_is_a_problem(tmp_path: Path) -> None:
    from roadmap.io import load_roadmap
    from roadmap.settings import stack_problems

    stacks = stack_folder(tmp_path, "dev", {"killSwitch: []": "killSwitch: [quote-to-ordr]"})
    [problem] = stack_problems(
        load_stack_settings(stacks, "dev"), load_roadmap(ROOT / "roadmap.yaml")
    )
    assert problem.loc == "config.integration-provisioner:killSwitch[0]"
    assert "unknown integration 'quote-to-ordr'" in problem.msg and "quote-to-order" in problem.msg


def test_the_stacks_salesforce_allocation_must_cover_its_active_integrations(
    tmp_path: Path,
) -> None:
    from roadmap.budget import salesforce_calls_per_day
    from roadmap.io import load_roadmap
    from roadmap.settings import stack_problems

    roadmap = load_roadmap(ROOT / "roadmap.yaml")
    spent = sum(
        salesforce_calls_per_day(i, roadmap, phase=i.phase("dev")) for i in roadmap.active("dev")
    )
    stacks = stack_folder(tmp_path, "dev", SMALL_ORG)
    [problem] = stack_problems(load_stack_settings(stacks, "dev"), roadmap)
    assert problem.loc == "config.integration-provisioner:salesforceApiAllocation"
    assert f"spend {spent:,} salesforce API calls/day but this org allows 4,000" in problem.msg


def with_concurrency_limit(limit: int) -> dict[str, str]:
    """The edit that gives the dev stack's account a Lambda concurrency limit."""
    setting = f"integration-provisioner:lambdaConcurrencyLimit: {limit}"
    return {"killSwitch: []": f"killSwitch: []\n  {setting}"}


def test_reserved_concurrency_must_leave_the_account_100_unreserved(tmp_path: Path) -> None:
    from roadmap.concurrency import reserved_concurrency
    from roadmap.io import load_roadmap
    from roadmap.settings import stack_problems

    roadmap = load_roadmap(ROOT / "roadmap.yaml")
    reserved = sum(reserved_concurrency(roadmap, "dev").values())
    assert reserved > 0  # refund-capture's ingress
    (tmp_path / "fits").mkdir()
    (tmp_path / "short").mkdir()
    fits = stack_folder(tmp_path / "fits", "dev", with_concurrency_limit(100 + reserved))
    assert stack_problems(load_stack_settings(fits, "dev"), roadmap) == []
    short = stack_folder(tmp_path / "short", "dev", with_concurrency_limit(99 + reserved))
    [problem] = stack_problems(load_stack_settings(short, "dev"), roadmap)
    assert problem.loc == "config.integration-provisioner:lambdaConcurrencyLimit"
    assert f"reserve {reserved} concurrent executions (refund-capture {reserved})" in problem.msg
    assert f"can reserve at most {reserved - 1}" in problem.msg
    assert "raise the account's Lambda concurrency quota" in problem.msg


def test_the_example_stacks_fit_the_example_roadmap() -> None:
    from roadmap.io import load_roadmap
    from roadmap.settings import stack_problems

    roadmap = load_roadmap(ROOT / "roadmap.yaml")
    for stack in ("dev", "staging", "prod"):
        assert stack_problems(load_stack_settings(ROOT / "stacks", stack), roadmap) == []


def test_stack_commands_refuse_a_stack_that_does_not_fit_its_roadmap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import provisioner.context
    from provisioner.cli import main

    stacks = stack_folder(tmp_path, "dev", {"killSwitch: []": "killSwitch: [quote-to-ordr]"})
    monkeypatch.setattr(
        provisioner.context,
        "read_settings",
        lambda stack, _=None: load_stack_settings(stacks, stack),
    )
    assert main(["plan", "--stack", "dev"]) == 2
    err = capsys.readouterr().err
    assert (
        "Pulumi.dev.yaml: config.integration-provisioner:killSwitch[0]: unknown integration" in err
    )


def test_validate_reports_a_stack_allocation_below_the_roadmaps_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import provisioner.commands.validate as validate
    from provisioner.cli import main

    stacks = stack_folder(tmp_path, "dev", SMALL_ORG)
    monkeypatch.setattr(validate, "STACKS_DIR", stacks)  # only dev there: the others skipped
    assert main(["validate"]) == 1
    out = capsys.readouterr().out
    assert "Pulumi.dev.yaml: config.integration-provisioner:salesforceApiAllocation: " in out


def test_validate_refuses_reservations_the_accounts_concurrency_cannot_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import provisioner.commands.validate as validate
    from provisioner.cli import main

    stacks = stack_folder(tmp_path, "dev", with_concurrency_limit(100))
    monkeypatch.setattr(validate, "STACKS_DIR", stacks)
    assert main(["validate"]) == 1
    out = capsys.readouterr().out
    assert "Pulumi.dev.yaml: config.integration-provisioner:lambdaConcurrencyLimit: " in out


def test_a_stack_creates_its_audit_trail_unless_its_file_says_otherwise(tmp_path: Path) -> None:
    stacks = stack_folder(
        tmp_path, "dev-alice", {"  integration-provisioner:auditTrail: none\n": ""}
    )
    assert load_stack_settings(stacks, "dev-alice").audit_trail == "create"
    assert load_stack_settings(ROOT / "stacks", "dev").audit_trail == "none"
    org = "arn:aws:cloudtrail:us-east-1:999999999999:trail/organisation"
    named = stack_folder(tmp_path, "dev", {"auditTrail: none": f"auditTrail: {org}"})
    assert load_stack_settings(named, "dev").existing_trail_arn == org


def test_a_prod_stack_cannot_go_without_an_audit_trail(tmp_path: Path) -> None:
    edit = {"auditTrail: create": "auditTrail: none"}
    stacks = stack_folder(tmp_path, "prod", edit, source="prod")
    with pytest.raises(
        StackSettingsError,
        match=r"Pulumi.prod.yaml: config.integration-provisioner:auditTrail: a prod stack records",
    ):
        load_stack_settings(stacks, "prod")


def test_an_audit_trail_that_is_no_trail_arn_names_the_three_choices(tmp_path: Path) -> None:
    stacks = stack_folder(tmp_path, "dev", {"auditTrail: none": "auditTrail: my-trail"})
    with pytest.raises(StackSettingsError, match=r"auditTrail: 'my-trail' is neither `create`"):
        load_stack_settings(stacks, "dev")


def test_a_slack_path_without_its_channel_is_refused_unless_the_stack_falls_back_on_purpose(
    tmp_path: Path,
) -> None:
    from roadmap.io import load_roadmap
    from roadmap.settings import stack_problems

    roadmap = load_roadmap(ROOT / "roadmap.yaml")
    stacks = stack_folder(tmp_path, "dev", {"    slackFallbackToEmail: true\n": ""})
    problems = stack_problems(load_stack_settings(stacks, "dev"), roadmap)
    assert {p.loc for p in problems} == {"config.integration-provisioner:alarmRouting.slack"}
    mops = next(p for p in problems if "slack:mops-alerts" in p.msg)
    assert "lead-to-account's alerts go to slack:mops-alerts" in mops.msg
    assert "reach only the fallback e-mail" in mops.msg and "workspaceId" in mops.msg


def test_prod_posts_slack_paths_through_chatbot_and_refuses_the_e_mail_fallback(
    tmp_path: Path,
) -> None:
    from roadmap.io import load_roadmap
    from roadmap.settings import stack_problems

    edit = {"    slack:\n": "    slackFallbackToEmail: true\n    slack:\n"}
    stacks = stack_folder(tmp_path, "prod", edit, source="prod")
    [problem] = stack_problems(
        load_stack_settings(stacks, "prod"), load_roadmap(ROOT / "roadmap.yaml")
    )
    assert problem.loc == "config.integration-provisioner:alarmRouting.slackFallbackToEmail"
    assert "never a fallback e-mail" in problem.msg


def test_a_slack_channel_id_of_the_wrong_shape_names_the_key_and_the_shape(tmp_path: Path) -> None:
    edit = {"channelId: C07EZ1MOPS1": "channelId: '#mops-alerts'"}
    stacks = stack_folder(tmp_path, "prod", edit, source="prod")
    with pytest.raises(StackSettingsError) as caught:
        load_stack_settings(stacks, "prod")
    assert "alarmRouting.slack.slack:mops-alerts.channelId" in str(caught.value)
    assert "the Slack channel id" in str(caught.value)
