"""Secrets Manager: each credential secret fenced by a resource policy that shuts out
every principal but the integration's own, locking none of them out."""

from __future__ import annotations

from typing import Any

from pulumi_policy import ReportViolation, StackValidationArgs

from contract.aws_types import (
    IAM_ROLE,
    IAM_USER,
    LAMBDA_FUNCTION,
    SECRETS_MANAGER_SECRET,
    SECRETS_MANAGER_SECRET_POLICY,
    SECRETS_MANAGER_SECRET_ROTATION,
)

from .._common import parse_document
from .._declare import stack_policy
from .._stack import Res, StackView
from ..fence import named_principals, secret_fence_problems


def _account_of(*arns: Any) -> str:
    for arn in arns:
        parts = arn.split(":") if isinstance(arn, str) else []
        if len(parts) >= 6 and parts[4].isdigit():
            return parts[4]
    return "000000000000"  # no ARN known yet: any account stands for "not named"


def _role_arn(role: Res | None, account: str) -> str | None:
    if role is None:
        return None
    arn = role.get("arn")
    if isinstance(arn, str) and arn.startswith("arn:"):
        return arn
    name = role.get("name")
    return f"arn:aws:iam::{account}:role/{name}" if isinstance(name, str) else None


def _pusher_arn(view: StackView, secret: Res, account: str) -> str | None:
    """The external pusher whose access key `secret` holds: its user has the secret's name
    (docs/contracts.md, "IAM principals per integration")."""
    name = secret.get("name")
    for user in view.of(secret.integration or "", IAM_USER):
        if isinstance(name, str) and user.get("name") == name:
            arn = user.get("arn")
            if isinstance(arn, str) and arn.startswith("arn:"):
                return arn
            return f"arn:aws:iam::{account}:user/{name}"
    return None


def _fence_of(view: StackView, secret: Res) -> tuple[Res, Any] | None:
    for policy in view.of_type(SECRETS_MANAGER_SECRET_POLICY):
        if view.find(policy.get("secretArn"), SECRETS_MANAGER_SECRET) is secret:
            return policy, policy.props.get("policy")
    if secret.props.get("policy"):
        return secret, secret.props.get("policy")
    return None


def _rotator_arn(view: StackView, secret: Res, account: str) -> str | None:
    for rotation in view.of_type(SECRETS_MANAGER_SECRET_ROTATION):
        if view.find(rotation.get("secretId"), SECRETS_MANAGER_SECRET) is secret:
            function = view.find(rotation.get("rotationLambdaArn"), LAMBDA_FUNCTION)
            role = view.find(function.get("role"), IAM_ROLE) if function else None
            return _role_arn(role, account) or (
                function.get("role") if function is not None else None
            )
    return None


def secret_fenced(args: StackValidationArgs, report: ReportViolation) -> None:
    """Each credential secret carries a resource policy that shuts out every other principal.

    Rationale: without one, access rests on identity policies alone, so any principal in
    the account granted `secretsmanager:GetSecretValue` on `*` reads every integration's
    credentials (Secrets Manager user guide, "Resource-based policies"). The fence denies
    everyone but the integration's role (read), its rotation role (write) and the stack's
    deploying principal (administration, never the value), and must not lock out the
    rotator's four steps or the administrator's hold on the policy itself: a Deny that
    catches them stops rotation, or can be lifted only by the account's root user.

    Config: none.
    """
    view = StackView.shared(args, report)
    for secret in view.owned(SECRETS_MANAGER_SECRET):
        integ = secret.integration or ""
        found = _fence_of(view, secret)
        base_fix = (
            "Fix: attach an aws.secretsmanager.SecretPolicy that denies every principal but "
            "the integration's role, its rotation role and the deploying principal."
        )
        if found is None:
            report(
                f"{secret.who} has no resource policy: any principal in the account granted "
                f"GetSecretValue on * reads it. {base_fix}",
                secret.urn,
            )
            continue
        holder, raw = found
        document = parse_document(raw)
        if document is None:
            continue  # unknown until the secret exists (preview)
        if isinstance(document, str):
            report(f"{holder.who}: {document}. {base_fix}", holder.urn)
            continue
        account = _account_of(secret.get("arn"), *named_principals(document))
        own_roles = [
            arn for r in view.of(integ, IAM_ROLE) if (arn := _role_arn(r, account)) is not None
        ]
        for problem, fix in secret_fence_problems(
            document,
            integration=integ,
            account=account,
            own_roles=own_roles,
            rotator=_rotator_arn(view, secret, account),
            pusher=_pusher_arn(view, secret, account),
        ):
            report(f"{secret.who}: {problem}. Fix: {fix}.", holder.urn)


SECRET_FENCED = stack_policy(
    "secret-fenced",
    "Secrets have a resource policy shutting out all but their integration's roles.",
    secret_fenced,
)
