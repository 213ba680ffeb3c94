"""Least privilege by reach: what every access document allows, against whose resources.

One stack policy reads every document that grants access -- identity policies (role
inline, role/user/group policies, customer-managed policies through their attachments),
resource policies (queue, topic, key, secret, table, bucket, redrive), trust policies and
Lambda invoke permissions and function URLs -- and computes what each statement allows:
its actions expanded from wildcards and `NotAction` with AWS's action catalogue
(`_catalogue`), its resources matched with IAM's `*`/`?` semantics and `NotResource`
against the stack's inventory and against the naming scheme (`contract.ownership`), so a
pattern that could match another integration's present or future name reaches it.

The rules (closed world: what is not shown to be an integration's own is not):
- an integration's principals reach only its own resources;
- its resources admit only its own principals, and AWS service principals only when bound
  to this account by `aws:SourceAccount` or to its own resource by `aws:SourceArn`;
- a role trusts only the service that runs it (with confused-deputy conditions where AWS
  documents them), except an integration's storage-integration role, which trusts its
  warehouse's principal as `external-trust-scoped` (stage.py) allows;
- the only grant to the account root is in the integration's key policy: administration
  without cryptographic use, use by the integration's own principals (`aws:PrincipalArn`),
  or encryption through Secrets Manager by the deployer;
- actions that mint access (access level "Permissions management", `sts:AssumeRole*`) only
  for the principal whose job needs them, on exact own ARNs; destructive actions and
  credential writes never for the sync role; KMS cryptographic use by an integration's
  principal only through the services it serves (`kms:ViaService`) or an encryption
  context.
"""

from __future__ import annotations

from collections.abc import Callable

from pulumi_policy import ReportViolation, StackValidationArgs
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

from contract.aws_types import (
    DYNAMODB_TABLE,
    IAM_ROLE,
    LAMBDA_FUNCTION,
    LAMBDA_FUNCTION_EVENT_INVOKE_CONFIG,
    LAMBDA_FUNCTION_URL,
    LAMBDA_PERMISSION,
    SNS_TOPIC,
    SQS_QUEUE,
    SQS_REDRIVE_ALLOW_POLICY,
)

from .._declare import stack_policy
from .._stack import Res
from .access import AccessChecks
from .base import TYPES
from .identity import IdentityChecks
from .resources import ResourceChecks
from .statements import DEFAULT_JOB_ACTIONS

__all__ = ["LEAST_PRIVILEGE_REACH", "TYPES", "least_privilege_reach"]


class _Analysis(IdentityChecks, ResourceChecks, AccessChecks):
    """One run over the stack: every check, then what could not be judged."""

    def run(self) -> None:
        for principal, doc in self.identity_documents():
            self.check_identity(principal, doc)
        for target, doc in self.resource_documents():
            self.check_resource(target, doc)
            if (
                target is not None
                and target.type in (SQS_QUEUE, DYNAMODB_TABLE)
                and doc.carrier is not target
            ):
                self.check_guards(target, doc)
        runners = self.runners()
        checks: dict[str, Callable[[Res], None]] = {
            LAMBDA_PERMISSION: self.check_permission,
            LAMBDA_FUNCTION_URL: self.check_function_url,
            SQS_REDRIVE_ALLOW_POLICY: self.check_redrive,
            SNS_TOPIC: self.check_topic_key,
            LAMBDA_FUNCTION_EVENT_INVOKE_CONFIG: self.check_destinations,
            LAMBDA_FUNCTION: self.check_environment,
        }
        for res in self.view.resources:
            if res.type == IAM_ROLE:
                self.check_trust(res, runners.get(res.urn, set()))
            elif res.type in checks:
                checks[res.type](res)
        if self.unknown:
            # The SDK reports this as "can't run policy during preview" with the paths; the
            # policy runs again on `pulumi up`, when every value is known.
            raise UnknownValueError(UNKNOWN_STRING_VALUE, [", ".join(self.unknown[:5])])


def least_privilege_reach(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every access document reaches only its integration's own resources and principals.

    Rationale: AWS IAM best practices ("Apply least-privilege permissions"), the IAM user
    guide's policy evaluation logic (wildcards, NotAction, NotResource, NotPrincipal), "The
    confused deputy problem" and the KMS developer guide ("Default key policy",
    "kms:ViaService"). Proven by reach rather than by bad shapes: a statement is compared
    with what it can match, present and future, so a pattern such as `prod-lead-*` (which a
    future `lead-x` would match), `key/*`, `?` wildcards or another region or account is
    caught without being listed. See the module docstring for the rules.

    Config:
      jobActions (object: job -> [action]): actions that mint access and which principal's
        job needs them (jobs: sync, rotation, pusher); default {"rotation":
        ["iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:DeleteAccessKey"]}.
    """
    _Analysis(args, report).run()


LEAST_PRIVILEGE_REACH = stack_policy(
    "least-privilege-reach",
    "Every access document reaches only its integration's own resources.",
    least_privilege_reach,
    config={"jobActions": {"type": "object", "default": DEFAULT_JOB_ACTIONS}},
)
