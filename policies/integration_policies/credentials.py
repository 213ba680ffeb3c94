"""Credential policies: KMS key rotation, customer-managed encryption and rotation limits."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from contract.aws_types import KMS_KEY, SECRETS_MANAGER_SECRET, SECRETS_MANAGER_SECRET_ROTATION

from ._common import (
    as_int,
    config_int,
    environment_of,
    integration_hint,
    is_unknown,
    label,
    per_environment,
    per_environment_schema,
    plain,
    stack_setting,
    tags_of,
)


def kms_key_rotation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every symmetric customer-managed KMS key has automatic key rotation enabled.

    Rationale: AWS KMS developer guide "Rotating AWS KMS keys" and the AWS Foundational
    Security Best Practices control KMS.4: rotation limits how much data one key version
    protects; it is transparent to Secrets Manager, which re-encrypts with the new material.
    Asymmetric and HMAC keys cannot rotate automatically and are out of scope.

    Config: none.
    """
    if args.resource_type != KMS_KEY:
        return
    props = plain(args.props)
    spec = props.get("customerMasterKeySpec") or props.get("keySpec") or "SYMMETRIC_DEFAULT"
    rotation = props.get("enableKeyRotation")
    if spec != "SYMMETRIC_DEFAULT" or is_unknown(rotation) or is_unknown(spec):
        return
    if rotation is not True:
        who = label(integration_hint(props, args.name))
        report(f"{who}{args.name} has key rotation off. Fix: set enable_key_rotation=True.", None)


KMS_KEY_ROTATION = ResourceValidationPolicy(
    name="kms-key-rotation-enabled",
    description="Customer-managed KMS keys rotate automatically.",
    validate=kms_key_rotation,
    enforcement_level=EnforcementLevel.MANDATORY,
)


def secret_customer_managed_key(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every Secrets Manager secret is encrypted with a customer-managed KMS key.

    Rationale: AWS Secrets Manager user guide "Secret encryption and decryption": the default
    `aws/secretsmanager` key is usable by every principal in the account that can read the
    secret; a customer-managed key adds a second, per-integration gate (its key policy) and an
    audit trail of decrypts in CloudTrail. Salesforce JWT bearer keys and OAuth client secrets
    are credentials to the system of record and deserve that gate.

    Config: none.
    """
    if args.resource_type != SECRETS_MANAGER_SECRET:
        return
    props = plain(args.props)
    key = props.get("kmsKeyId")
    if is_unknown(key):
        return
    if not key or (isinstance(key, str) and key.endswith("alias/aws/secretsmanager")):
        who = label(integration_hint(props, args.name))
        report(
            f"{who}{args.name} uses the AWS-managed key. Fix: set kms_key_id to the "
            "integration's own KMS key ARN.",
            None,
        )


SECRET_CUSTOMER_MANAGED_KEY = ResourceValidationPolicy(
    name="secret-customer-managed-key",
    description="Secrets are encrypted with the integration's customer-managed KMS key.",
    validate=secret_customer_managed_key,
    enforcement_level=EnforcementLevel.MANDATORY,
)


DEFAULT_ROTATION_BY_ENV = {"dev": 90, "staging": 60, "prod": 30}
_RATE_DAYS = re.compile(r"^rate\((\d+) days?\)$")


def rotation_limit(environment: str | None, config: Mapping[str, Any]) -> int:
    """The strictest of: the pack's per-environment table, `maxRotationDays`, the stack setting."""
    limits = [config_int(config, "maxRotationDays", 90)]
    by_env = per_environment(
        config, "maxRotationDaysByEnvironment", environment, DEFAULT_ROTATION_BY_ENV
    )
    if by_env is not None:
        limits.append(by_env)
    stack_value = as_int(stack_setting("maxRotationDays"))
    if stack_value is not None:
        limits.append(stack_value)
    return min(limits)


def secret_rotation_within_limit(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Secret rotation runs a Lambda at least as often as the environment allows (prod 30 days).

    Rationale: AWS Secrets Manager best practices ("Rotate secrets") and Salesforce guidance
    for connected-app credentials: short-lived, regularly rotated credentials limit the window
    in which a leaked JWT signing key or OAuth client secret is useful. Production is held to
    30 days, staging 60, dev 90 by default.

    The limit is the strictest of `maxRotationDays`, `maxRotationDaysByEnvironment[<env>]`
    (environment from the secret rotation's `environment` tag, else the stack's
    `integration-provisioner:environment` setting, else the stack name), and the stack's
    own `integration-provisioner:maxRotationDays` setting -- a stack can tighten, never loosen.

    Config:
      maxRotationDays (integer): upper bound for every environment; default 90.
      maxRotationDaysByEnvironment (object env -> integer): default
        {dev: 90, staging: 60, prod: 30}.
    """
    if args.resource_type != SECRETS_MANAGER_SECRET_ROTATION:
        return
    props = plain(args.props)
    who = label(integration_hint(props, args.name))
    rules = props.get("rotationRules")
    if is_unknown(rules):
        return
    rules = rules if isinstance(rules, dict) else {}
    days = as_int(rules.get("automaticallyAfterDays"))
    schedule = rules.get("scheduleExpression")
    if days is None and isinstance(schedule, str):
        match = _RATE_DAYS.match(schedule.strip())
        days = int(match.group(1)) if match else None
    if days is None and not is_unknown(rules.get("automaticallyAfterDays")):
        if not is_unknown(schedule):
            report(
                f"{who}{args.name} has no rotation interval in days. Fix: set "
                "rotation_rules.automatically_after_days.",
                None,
            )
        return
    limit = rotation_limit(environment_of(tags_of(props)), args.get_config())
    if days is not None and days > limit:
        report(
            f"{who}{args.name} rotates every {days} days; this environment allows at most "
            f"{limit}. Fix: set rotation_rules.automatically_after_days <= {limit} (roadmap "
            "credentials[].rotation_days).",
            None,
        )


SECRET_ROTATION_WITHIN_LIMIT = ResourceValidationPolicy(
    name="secret-rotation-within-limit",
    description="Secrets rotate automatically no slower than the environment allows.",
    validate=secret_rotation_within_limit,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(
        properties={
            "maxRotationDays": {"type": "integer", "minimum": 1, "default": 90},
            "maxRotationDaysByEnvironment": per_environment_schema(DEFAULT_ROTATION_BY_ENV),
        }
    ),
)
