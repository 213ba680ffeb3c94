"""The mocks answer pulumi-aws's provider functions by the invoke tokens the SDK sends.

A token spelled differently in `contract.aws_types` than in pulumi-aws would make the
offline plan fail with "a provider call the mocks do not know" (or, worse, answer another
function): each function is called through the real SDK against `AwsShapedBackend`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from provisioner.aws_shapes import AwsShapedBackend
from roadmap.stack_config import load_stack_settings

ROOT = Path(__file__).resolve().parents[1]


class _Answering(pulumi.runtime.Mocks):
    def __init__(self, backend: AwsShapedBackend) -> None:
        self.backend = backend

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        raise AssertionError(f"no resource expected, got {args.typ}")

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return self.backend.call(args.token, dict(args.args)), []


def test_region_account_and_session_issuer_come_from_the_stack_through_the_sdk() -> None:
    settings = load_stack_settings(ROOT / "stacks", "dev")
    backend = AwsShapedBackend(settings)
    pulumi.runtime.set_mocks(_Answering(backend), preview=False)
    assert aws.get_region().region == settings.region
    assert aws.get_caller_identity().account_id == backend.account
    session = f"arn:aws:sts::{backend.account}:assumed-role/deployer/alice"
    issuer = aws.iam.get_session_context(arn=session).issuer_arn
    assert issuer == f"arn:aws:iam::{backend.account}:role/deployer"
