"""The rules a real account enforces and moto does not, checked on the deployed resources."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from program_runs import stack_run

from contract.aws_types import IAM_ROLE, IAM_ROLE_POLICY, KMS_KEY, LAMBDA_FUNCTION
from provisioner.aws_shapes import stand_in_account
from provisioner.cli import main
from provisioner.records import ProgramRun, RecordedResource
from provisioner.rehearsal.limits import (
    IAM_POLICY_LIMITS,
    LAMBDA_ENVIRONMENT_BYTES,
    RULES,
    account_limits,
)


@pytest.fixture(scope="module")
def prod() -> ProgramRun:
    return stack_run("prod")


def _failed(resources: list[RecordedResource], account: str) -> dict[str, str]:
    return {c.name: c.detail for c in account_limits(resources, account=account) if not c.ok}


def _changed(
    run: ProgramRun, type_: str, change: Any, *, first_only: bool = True
) -> list[RecordedResource]:
    """The run's resources with `change(inputs)` applied to the first of `type_`."""
    out, done = [], False
    for resource in run.resources:
        if resource.type == type_ and not (done and first_only):
            inputs = json.loads(json.dumps(resource.inputs))
            change(inputs)
            resource = dataclasses.replace(resource, inputs=inputs)
            done = True
        out.append(resource)
    return out


def test_the_example_prod_stack_is_within_every_account_limit(prod: ProgramRun) -> None:
    checks = account_limits(prod.resources, account=stand_in_account(prod.settings))
    assert len(checks) == 4
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]


def test_a_key_policy_that_locks_the_account_out_fails(prod: ProgramRun) -> None:
    def lock_out(inputs: dict[str, Any]) -> None:
        policy = json.loads(inputs["policy"])
        for statement in policy["Statement"]:
            if isinstance(statement["Action"], list):
                statement["Action"] = [a for a in statement["Action"] if a != "kms:PutKeyPolicy"]
        inputs["policy"] = json.dumps(policy)

    resources = _changed(prod, KMS_KEY, lock_out)
    failed = _failed(resources, stand_in_account(prod.settings))
    assert list(failed) == ["account-limits:kms-key-policy-lockout"]
    assert "API_CreateKey.html" in failed["account-limits:kms-key-policy-lockout"]
    # The account in the policy must be the one deploying, not any account.
    assert "account-limits:kms-key-policy-lockout" in _failed(prod.resources, "999988887777")


@pytest.mark.parametrize("type_", sorted(IAM_POLICY_LIMITS))
def test_inline_policies_over_the_iam_size_limit_fail(prod: ProgramRun, type_: str) -> None:
    limit = IAM_POLICY_LIMITS[type_][1]

    def grow(inputs: dict[str, Any]) -> None:
        policy = json.loads(inputs["policy"])
        policy["Statement"][0]["Sid"] = "X" * limit
        inputs["policy"] = json.dumps(policy, indent=2)

    if not prod.by_type(type_):  # no managed policies are made; build one of the role's
        role_policy = prod.by_type(IAM_ROLE_POLICY)[0]
        resources = [*prod.resources, dataclasses.replace(role_policy, type=type_)]
        prod = dataclasses.replace(prod, resources=resources)
    assert "account-limits:iam-policy-sizes" not in _failed(prod.resources, "123456789012")
    failed = _failed(_changed(prod, type_, grow), stand_in_account(prod.settings))
    assert list(failed) == ["account-limits:iam-policy-sizes"]
    assert f"IAM allows {limit}" in failed["account-limits:iam-policy-sizes"]


def test_a_lambda_environment_over_4_kb_fails(prod: ProgramRun) -> None:
    def grow(inputs: dict[str, Any]) -> None:
        inputs["environment"]["variables"]["FIELD_MAPPING"] = "x" * LAMBDA_ENVIRONMENT_BYTES

    resources = _changed(prod, LAMBDA_FUNCTION, grow)
    failed = _failed(resources, stand_in_account(prod.settings))
    assert list(failed) == ["account-limits:lambda-environment-size"]


def test_a_name_over_its_type_limit_fails(prod: ProgramRun) -> None:
    def lengthen(inputs: dict[str, Any]) -> None:
        inputs["name"] = "prod-" + "r" * 64

    failed = _failed(_changed(prod, IAM_ROLE, lengthen), stand_in_account(prod.settings))
    assert list(failed) == ["account-limits:name-lengths"]
    assert "AWS allows 64" in failed["account-limits:name-lengths"]


def test_rehearse_help_lists_every_account_limit_it_checks(
    prod: ProgramRun, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rehearse", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    checked = {
        c.name for c in account_limits(prod.resources, account=stand_in_account(prod.settings))
    }
    assert checked == {f"account-limits:{rule.name}" for rule in RULES}
    for rule in RULES:
        assert f"{rule.name}: {rule.summary}" in help_text
    assert "inline policies of role 10,240" in help_text
    assert f"within {LAMBDA_ENVIRONMENT_BYTES:,} bytes" in help_text
