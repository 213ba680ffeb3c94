"""Stack settings read the same from the stack file and from Pulumi config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.settings import (
    StackSettingsError,
    load_stack_settings,
    settings_from_config,
)

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


def _stack_file(tmp_path: Path, stack: str, edit: dict[str, str], source: str = "dev") -> Path:
    """A stacks folder holding `stack`: the repository's `source` stack file, edited."""
    text = (ROOT / "stacks" / f"Pulumi.{source}.yaml").read_text()
    for old, new in edit.items():
        assert old in text
        text = text.replace(old, new)
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(text)
    return tmp_path


def test_a_stack_follows_the_environment_it_declares_and_prefixes_names_with_its_own(
    tmp_path: Path,
) -> None:
    alice = load_stack_settings(_stack_file(tmp_path, "dev-alice", {}), "dev-alice")
    assert (alice.environment, alice.name_prefix) == ("dev", "dev-alice")


def test_a_stack_may_set_its_own_name_prefix(tmp_path: Path) -> None:
    stacks = _stack_file(
        tmp_path,
        "pr-123",
        {"environment: dev": "environment: dev\n  integration-provisioner:namePrefix: pr123"},
    )
    assert load_stack_settings(stacks, "pr-123").name_prefix == "pr123"


def test_a_stack_not_named_after_an_environment_must_declare_one(tmp_path: Path) -> None:
    stacks = _stack_file(tmp_path, "pr-123", {"  integration-provisioner:environment: dev\n": ""})
    with pytest.raises(StackSettingsError) as caught:
        load_stack_settings(stacks, "pr-123")
    assert "Pulumi.pr-123.yaml: config.integration-provisioner:environment: missing" in str(
        caught.value
    )


def test_a_stack_name_that_cannot_prefix_aws_names_asks_for_a_prefix(tmp_path: Path) -> None:
    stacks = _stack_file(tmp_path, "Alice.Dev", {})
    with pytest.raises(StackSettingsError, match="namePrefix: missing, and the stack name"):
        load_stack_settings(stacks, "Alice.Dev")


def test_an_allowed_account_must_be_twelve_digits(tmp_path: Path) -> None:
    stacks = _stack_file(tmp_path, "dev", {'["111111111111"]': '["1111"]'})
    with pytest.raises(StackSettingsError, match=r"config\.aws:allowedAccountIds\[0\]: String"):
        load_stack_settings(stacks, "dev")


def test_an_unquoted_allowed_account_is_refused_before_it_loses_its_zeros(
    tmp_path: Path,
) -> None:
    stacks = _stack_file(tmp_path, "dev", {'["111111111111"]': "[011111111111]"})
    with pytest.raises(StackSettingsError, match=r"allowedAccountIds: .*must be quoted strings"):
        load_stack_settings(stacks, "dev")


def test_invalid_retention_names_the_file_and_key(tmp_path: Path) -> None:
    text = (ROOT / "stacks" / "Pulumi.dev.yaml").read_text()
    (tmp_path / "Pulumi.dev.yaml").write_text(
        text.replace("logRetentionDays: 14", "logRetentionDays: 10")
    )
    with pytest.raises(StackSettingsError) as caught:
        load_stack_settings(tmp_path, "dev")
    message = str(caught.value)
    assert "Pulumi.dev.yaml: config.integration-provisioner:logRetentionDays" in message
    assert "10 is not a CloudWatch Logs retention" in message


def test_environment_must_match_the_stack(tmp_path: Path) -> None:
    text = (ROOT / "stacks" / "Pulumi.dev.yaml").read_text()
    (tmp_path / "Pulumi.dev.yaml").write_text(text.replace("environment: dev", "environment: prod"))
    with pytest.raises(StackSettingsError, match="says 'prod' but the stack is 'dev'"):
        load_stack_settings(tmp_path, "dev")


def test_a_prod_stack_cannot_drop_protection(tmp_path: Path) -> None:
    edit = {"protectStateful: true": "protectStateful: false"}
    stacks = _stack_file(tmp_path, "prod", edit, source="prod")
    with pytest.raises(StackSettingsError) as caught:
        load_stack_settings(stacks, "prod")
    assert "Pulumi.prod.yaml: config.integration-provisioner:protectStateful: a prod stack" in str(
        caught.value
    )
