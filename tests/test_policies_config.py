"""The engine's config merge, and the per-environment pack config agreeing with the stacks."""

from __future__ import annotations

from typing import Any

import pytest

from provisioner.paths import POLICY_PACK_DIR
from provisioner.policy_harness import PolicyConfigError, PolicyHarness, load_pack_config
from provisioner.policy_harness.config import reconcile_config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def info() -> Any:
    with PolicyHarness(stack="dev") as pack:
        assert pack.info is not None
        return pack.info


def test_schema_defaults_apply_when_no_config_is_given(info: Any) -> None:
    merged = reconcile_config(info)
    level, props = merged["secret-rotation-within-limit"]
    assert level == "mandatory"
    assert props["maxRotationDays"] == 90
    assert props["maxRotationDaysByEnvironment"] == {"dev": 90, "staging": 60, "prod": 30}


def test_given_config_overrides_defaults_property_by_property(info: Any) -> None:
    merged = reconcile_config(info, {"secret-rotation-within-limit": {"maxRotationDays": 30}})
    props = merged["secret-rotation-within-limit"][1]
    assert props["maxRotationDays"] == 30 and props["maxRotationDaysByEnvironment"]["prod"] == 30


def test_all_sets_every_enforcement_level_then_a_policy_can_differ(info: Any) -> None:
    merged = reconcile_config(info, {"all": "advisory", "required-tags": "mandatory"})
    assert merged["sqs-https-only"][0] == "advisory"
    assert merged["required-tags"][0] == "mandatory"


def test_invalid_config_is_rejected_like_the_engine_does(info: Any) -> None:
    with pytest.raises(PolicyConfigError, match="maxRotationDays"):
        reconcile_config(info, {"secret-rotation-within-limit": {"maxRotationDays": "thirty"}})
    with pytest.raises(PolicyConfigError, match="enforcement level"):
        reconcile_config(info, {"sqs-https-only": "sometimes"})


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_pack_config_files_agree_with_the_stack_settings(env: str) -> None:
    from provisioner.paths import STACKS_DIR
    from roadmap.stack_config import load_stack_settings

    settings = load_stack_settings(STACKS_DIR, env)
    config = load_pack_config(env, POLICY_PACK_DIR)
    assert config["secret-rotation-within-limit"]["maxRotationDays"] == settings.max_rotation_days
    assert config["log-group-retention"]["minRetentionDays"] <= settings.log_retention_days
