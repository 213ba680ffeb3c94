"""Stack policies: each integration's credentials and permissions stay its own."""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import ReportViolation, StackValidationArgs

from contract.aws_types import (
    IAM_POLICY,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_ROLE_POLICY_ATTACHMENT,
    KMS_KEY,
    LAMBDA_FUNCTION,
    SECRETS_MANAGER_SECRET,
    SECRETS_MANAGER_SECRET_ROTATION,
)
from contract.metrics import namespace
from contract.phases import ENVIRONMENTS

from ._common import (
    IDENTITY,
    as_list,
    condition_values,
    config_int,
    documents,
    integration_from_name,
    is_wildcard_resource,
    label,
    statements,
)
from ._declare import stack_policy
from ._stack import Res, StackView, strings
from .chatbot import chatbot_only_roles
from .stage import storage_integration_roles

_CREDENTIAL_TYPES = {IAM_ROLE: "role", KMS_KEY: "KMS key", SECRETS_MANAGER_SECRET: "secret"}
_POLICY_FIELDS = {"policy", "inlinePolicies", "assumeRolePolicy"}


def integration_isolation(args: StackValidationArgs, report: ReportViolation) -> None:
    """One service-account role and one KMS key per integration; none shared with another.

    Rationale: AWS Well-Architected Security pillar SEC03 ("Grant least access", separate
    workload identities) and Salesforce's integration-user guidance (one integration user and
    connected app per integration): when one flow's service account, key or credential is
    compromised or rotated, no other flow is affected, and access reviews stay per owner team.
    A resource of integration A that references B's role, key or secret (a function's role, a
    secret's kmsKeyId, a trigger, an environment variable) is a violation; IAM documents are
    checked by `cross-integration-access`. A role used only by the integration's rotation
    function is not a service account: keeping rotation rights (PutSecretValue) out of the
    sync role is what Secrets Manager's rotation guidance asks for, so it is not counted.

    Config:
      rolesPerIntegration (integer): exact number of service-account roles; default 1.
      keysPerIntegration (integer): exact number of KMS keys; default 1.
    """
    view = StackView.shared(args, report)
    config = args.get_config()
    wanted = {
        IAM_ROLE: config_int(config, "rolesPerIntegration", 1),
        KMS_KEY: config_int(config, "keysPerIntegration", 1),
    }
    # Nor is a role only an AWS Chatbot channel uses, granted nothing (chatbot.py).
    # Nor is the role an outside warehouse assumes to load the stage (stage.py).
    rotation_roles = (
        _rotation_only_roles(view) | chatbot_only_roles(view) | storage_integration_roles(view)
    )
    for integ, members in sorted(view.groups.items()):
        if (view.phase(integ) or 0) < 2:
            continue
        for rtype, count in wanted.items():
            found = [r for r in members if r.type == rtype and r.urn not in rotation_roles]
            if len(found) != count:
                what = _CREDENTIAL_TYPES[rtype]
                names = ", ".join(r.name for r in found) or "none"
                report(
                    f"{label(integ)}has {len(found)} {what}(s) ({names}); "
                    f"exactly {count} expected. "
                    f"Fix: give the integration its own single {what} and use it for every "
                    "function and secret of the integration.",
                    found[1].urn if len(found) > 1 else None,
                )
    for res in view.resources:
        if res.integration is None:
            continue
        for key, value in res.props.items():
            if key in _POLICY_FIELDS:
                continue
            for text in strings(value):
                target = view.find(text, *_CREDENTIAL_TYPES)
                if target is not None and target.integration not in (None, res.integration):
                    report(
                        f"{res.who}.{key} uses "
                        f"{target.integration}'s {_CREDENTIAL_TYPES[target.type]} {target.name}. "
                        f"Fix: use {res.integration}'s own {_CREDENTIAL_TYPES[target.type]}.",
                        res.urn,
                    )


def _rotation_only_roles(view: StackView) -> set[str]:
    """URNs of roles whose only users are functions that a SecretRotation invokes."""
    rotation_functions = {
        f.urn
        for r in view.of_type(SECRETS_MANAGER_SECRET_ROTATION)
        if (f := view.find(r.get("rotationLambdaArn"), LAMBDA_FUNCTION))
    }
    users: dict[str, set[str]] = {}
    for function in view.of_type(LAMBDA_FUNCTION):
        role = view.find(function.get("role"), IAM_ROLE)
        if role is not None:
            users.setdefault(role.urn, set()).add(function.urn)
    return {role for role, fns in users.items() if fns <= rotation_functions}


INTEGRATION_ISOLATION = stack_policy(
    "integration-isolation",
    "One role and key per integration; roles, keys and secrets are never shared.",
    integration_isolation,
    config={
        "rolesPerIntegration": {"type": "integer", "minimum": 1, "default": 1},
        "keysPerIntegration": {"type": "integer", "minimum": 1, "default": 1},
    },
)


def _role_documents(view: StackView) -> list[tuple[Res, str, Res, dict[str, Any]]]:
    """(role, where, carrier, document) for every identity policy attached to a role."""
    found = []
    for res in view.resources:
        if res.type == IAM_ROLE:
            for where, kind, doc in documents(res.type, res.props):
                if kind == IDENTITY and isinstance(doc, dict):
                    found.append((res, f"{res.name}.{where}", res, doc))
        elif res.type == IAM_ROLE_POLICY:
            role = view.find(res.get("role"), IAM_ROLE)
            for where, _, doc in documents(res.type, res.props):
                if role is not None and isinstance(doc, dict):
                    found.append((role, f"{res.name}.{where}", res, doc))
        elif res.type == IAM_ROLE_POLICY_ATTACHMENT:
            role = view.find(res.get("role"), IAM_ROLE)
            policy = view.find(res.get("policyArn"), IAM_POLICY)
            if role is not None and policy is not None:
                for where, _, doc in documents(policy.type, policy.props):
                    if isinstance(doc, dict):
                        found.append((role, f"{policy.name}.{where}", policy, doc))
    return found


def _named_integration(view: StackView, arn: str, environment: str | None) -> str | None:
    """The integration an ARN belongs to: a known resource, or `{env}-{integration}-...` names."""
    target = view.find(arn)
    if target is not None and target.integration:
        return target.integration
    for segment in re.split(r"[:/]", arn.split(":", 5)[-1]):
        for env in [environment] if environment else list(ENVIRONMENTS):
            if segment.startswith(f"{env}-"):
                found = integration_from_name(segment[len(env) + 1 :], view.integrations)
                if found:
                    return found
    return None


def cross_integration_access(args: StackValidationArgs, report: ReportViolation) -> None:
    """An integration role's policies name only that integration's resources.

    Rationale: AWS IAM best practices ("Apply least-privilege permissions", scope `Resource`
    to specific ARNs): a role that can read another integration's queue or secret can move or
    leak that flow's records and credentials. Resources are matched by ARN to the resources
    in the stack and by the physical-name convention `{environment}-{integration}-{role}`
    (docs/contracts.md), so wildcards such as `...:dev-other-flow-*` are caught too. The
    `cloudwatch:PutMetricData` namespace condition must be `Integrations/<own integration>`.

    Config: none.
    """
    view = StackView.shared(args, report)
    for role, where, carrier, doc in _role_documents(view):
        own = role.integration
        if own is None:
            continue
        env = role.tags.get("environment")
        for i, statement in enumerate(statements(doc)):
            if statement.get("Effect") != "Allow":
                continue
            for arn in as_list(statement.get("Resource")):
                if not isinstance(arn, str) or is_wildcard_resource(arn):
                    continue
                other = _named_integration(view, arn, env)
                if other and other != own:
                    report(
                        f"{label(own)}{where} Statement[{i}] grants access to {other}'s "
                        f"resource {arn}. Fix: name only {own}'s own resources; {other}'s "
                        "data is reached through its own integration.",
                        carrier.urn,
                    )
            for published in condition_values(statement, "cloudwatch:namespace"):
                if published != namespace(own):
                    report(
                        f"{label(own)}{where} Statement[{i}] may publish metrics to namespace "
                        f"{published!r}. Fix: use {namespace(own)!r}.",
                        carrier.urn,
                    )


CROSS_INTEGRATION_ACCESS = stack_policy(
    "cross-integration-access",
    "An integration's role names no other integration's resource.",
    cross_integration_access,
)
