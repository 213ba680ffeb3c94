"""Credential policies: KMS key rotation, customer-managed encryption and rotation limits."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from contract.aws_types import KMS_KEY, SECRETS_MANAGER_SECRET, SECRETS_MANAGER_SECRET_ROTATION

from ._common import EnvironmentBound, as_int, environment_of, is_unknown, stack_setting, tags_of
from ._declare import Report, Subject, resource_policy


def kms_key_rotation(key: Subject, report: Report) -> None:
    """Every symmetric customer-managed KMS key has automatic key rotation enabled.

    Rationale: AWS KMS developer guide "Rotating AWS KMS keys" and the AWS Foundational
    Security Best Practices control KMS.4: rotation limits how much data one key version
    protects; it is transparent to Secrets Manager, which re-encrypts with the new material.
    Asymmetric and HMAC keys cannot rotate automatically and are out of scope.

    Config: none.
    """
    props = key.props
    spec = props.get("customerMasterKeySpec") or props.get("keySpec") or "SYMMETRIC_DEFAULT"
    rotation = props.get("enableKeyRotation")
    if spec != "SYMMETRIC_DEFAULT" or is_unknown(rotation) or is_unknown(spec):
        return
    if rotation is not True:
        report(f"{key.who} has key rotation off. Fix: set enable_key_rotation=True.")


KMS_KEY_ROTATION = resource_policy(
    "kms-key-rotation-enabled",
    "Customer-managed KMS keys rotate automatically.",
    kms_key_rotation,
    KMS_KEY,
)


def secret_customer_managed_key(secret: Subject, report: Report) -> None:
    """Every Secrets Manager secret is encrypted with a customer-managed KMS key.

    Rationale: AWS Secrets Manager user guide "Secret encryption and decryption": the default
    `aws/secretsmanager` key is usable by every principal in the account that can read the
    secret; a customer-managed key adds a second, per-integration gate (its key policy) and an
    audit trail of decrypts in CloudTrail. Salesforce JWT bearer keys and OAuth client secrets
    are credentials to the system of record and deserve that gate.

    Config: none.
    """
    key = secret.props.get("kmsKeyId")
    if is_unknown(key):
        return
    if not key or (isinstance(key, str) and key.endswith("alias/aws/secretsmanager")):
        report(
            f"{secret.who} uses the AWS-managed key. Fix: set kms_key_id to the "
            "integration's own KMS key ARN."
        )


SECRET_CUSTOMER_MANAGED_KEY = resource_policy(
    "secret-customer-managed-key",
    "Secrets are encrypted with the integration's customer-managed KMS key.",
    secret_customer_managed_key,
    SECRETS_MANAGER_SECRET,
)


MAX_ROTATION_DAYS = EnvironmentBound("maxRotationDays", 90, {"dev": 90, "staging": 60, "prod": 30})
_RATE_DAYS = re.compile(r"^rate\((\d+) days?\)$")


def rotation_limit(environment: str | None, config: Mapping[str, Any]) -> int:
    """The strictest of: the pack's per-environment table, `maxRotationDays`, the stack setting."""
    limits = MAX_ROTATION_DAYS.values(config, environment)
    stack_value = as_int(stack_setting("maxRotationDays"))
    if stack_value is not None:
        limits.append(stack_value)
    return min(limits)


def secret_rotation_within_limit(rotation: Subject, report: Report) -> None:
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
    rules = rotation.props.get("rotationRules")
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
                f"{rotation.who} has no rotation interval in days. Fix: set "
                "rotation_rules.automatically_after_days."
            )
        return
    limit = rotation_limit(environment_of(tags_of(rotation.props)), rotation.config)
    if days is not None and days > limit:
        report(
            f"{rotation.who} rotates every {days} days; this environment allows at most "
            f"{limit}. Fix: set rotation_rules.automatically_after_days <= {limit} (roadmap "
            "credentials[].rotation_days)."
        )


SECRET_ROTATION_WITHIN_LIMIT = resource_policy(
    "secret-rotation-within-limit",
    "Secrets rotate automatically no slower than the environment allows.",
    secret_rotation_within_limit,
    SECRETS_MANAGER_SECRET_ROTATION,
    config=MAX_ROTATION_DAYS.schema(),
)
