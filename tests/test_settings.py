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
        "accountId": "333333333333",
        "maxRotationDays": "30",
        "logRetentionDays": "365",
        "protectStateful": "true",
        "alarmRouting": json.dumps(from_file.alarm_routing.model_dump(by_alias=True)),
        "killSwitch": "[]",
    }
    from_config = settings_from_config("prod", raw.get, "eu-west-1")
    assert from_config == from_file
    assert from_config.account_id == "333333333333"


def test_prod_rotates_at_least_monthly_and_protects_state() -> None:
    prod = load_stack_settings(ROOT / "stacks", "prod")
    assert prod.max_rotation_days == 30 and prod.protect_stateful


def test_unknown_stack_is_named_with_the_known_ones() -> None:
    with pytest.raises(StackSettingsError, match="unknown stack 'qa'; use one of: dev, staging"):
        load_stack_settings(ROOT / "stacks", "qa")


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
