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

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pulumi_policy import ReportViolation, StackValidationArgs
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

from contract.alerting import CHATBOT_SERVICE, CHATBOT_TYPE
from contract.aws_types import (
    CLOUDWATCH_EVENT_TARGET,
    DYNAMODB_RESOURCE_POLICY,
    DYNAMODB_TABLE,
    IAM_GROUP,
    IAM_GROUP_POLICY,
    IAM_GROUP_POLICY_ATTACHMENT,
    IAM_POLICY,
    IAM_POLICY_ATTACHMENT,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_ROLE_POLICY_ATTACHMENT,
    IAM_USER,
    IAM_USER_POLICY,
    IAM_USER_POLICY_ATTACHMENT,
    KMS_KEY,
    KMS_KEY_POLICY,
    LAMBDA_FUNCTION,
    LAMBDA_FUNCTION_EVENT_INVOKE_CONFIG,
    LAMBDA_FUNCTION_URL,
    LAMBDA_PERMISSION,
    S3_BUCKET_POLICY,
    SCHEDULER_SCHEDULE,
    SECRETS_MANAGER_SECRET,
    SECRETS_MANAGER_SECRET_POLICY,
    SFN_STATE_MACHINE,
    SNS_TOPIC,
    SNS_TOPIC_POLICY,
    SQS_QUEUE,
    SQS_QUEUE_POLICY,
    SQS_REDRIVE_ALLOW_POLICY,
)
from contract.naming import SECRET as REDACTED
from contract.naming import WEBHOOK_INGRESS_ROLE
from contract.ownership import Principal, Reach, is_pattern

from ._catalogue import ACTIONS, expand, matching
from ._common import (
    as_list,
    condition_values,
    contains_unknown,
    is_unknown,
    label,
    parse_document,
    statements,
)
from ._declare import stack_policy
from ._stack import Res, StackView
from ._world import StackWorld, iam_pattern
from .audit import is_stack_resource
from .stage import external_trust_allowed

# Where identity documents sit: type -> (document field, field naming the principal, type).
_IDENTITY_CARRIERS: dict[str, tuple[str, str, str]] = {
    IAM_ROLE_POLICY: ("policy", "role", IAM_ROLE),
    IAM_USER_POLICY: ("policy", "user", IAM_USER),
    IAM_GROUP_POLICY: ("policy", "group", IAM_GROUP),
}
_ATTACHMENTS: dict[str, tuple[str, str]] = {
    IAM_ROLE_POLICY_ATTACHMENT: ("role", IAM_ROLE),
    IAM_USER_POLICY_ATTACHMENT: ("user", IAM_USER),
    IAM_GROUP_POLICY_ATTACHMENT: ("group", IAM_GROUP),
}
# Resource policies: type -> (document field, field naming the resource or None for itself).
_RESOURCE_CARRIERS: dict[str, tuple[str, str | None]] = {
    SQS_QUEUE: ("policy", None),
    SQS_QUEUE_POLICY: ("policy", "queueUrl"),
    SNS_TOPIC: ("policy", None),
    SNS_TOPIC_POLICY: ("policy", "arn"),
    SECRETS_MANAGER_SECRET_POLICY: ("policy", "secretArn"),
    KMS_KEY: ("policy", None),
    KMS_KEY_POLICY: ("policy", "keyId"),
    DYNAMODB_RESOURCE_POLICY: ("policy", "resourceArn"),
    S3_BUCKET_POLICY: ("policy", "bucket"),
}
KEY_POLICY_TYPES = frozenset({KMS_KEY, KMS_KEY_POLICY})
# Who runs a role, by the resource that names it (Service principal of its trust policy).
_RUNNERS: dict[str, tuple[str, str]] = {
    LAMBDA_FUNCTION: ("role", "lambda.amazonaws.com"),
    CLOUDWATCH_EVENT_TARGET: ("roleArn", "events.amazonaws.com"),
    SFN_STATE_MACHINE: ("roleArn", "states.amazonaws.com"),
    SCHEDULER_SCHEDULE: ("target", "scheduler.amazonaws.com"),
    CHATBOT_TYPE: ("iamRoleArn", CHATBOT_SERVICE),
}
# docs/contracts.md, "IAM principals per integration": every integration role is the
# execution role of Lambda functions, even before its functions exist (phase 2).
DEFAULT_RUNNER = "lambda.amazonaws.com"
# Services whose trust AWS documents with aws:SourceAccount/aws:SourceArn (IAM user guide,
# "The confused deputy problem"; EventBridge, Scheduler and Step Functions user guides).
# Lambda does not: its execution role is assumed only for the function that names it.
CONFUSED_DEPUTY_SERVICES = frozenset(
    {"events.amazonaws.com", "scheduler.amazonaws.com", "states.amazonaws.com"}
)
TYPES = frozenset(
    {
        IAM_ROLE,
        IAM_USER,
        IAM_POLICY,
        LAMBDA_FUNCTION,
        LAMBDA_PERMISSION,
        LAMBDA_FUNCTION_URL,
        SQS_REDRIVE_ALLOW_POLICY,
        IAM_POLICY_ATTACHMENT,
        LAMBDA_FUNCTION_EVENT_INVOKE_CONFIG,
        *_IDENTITY_CARRIERS,
        *_ATTACHMENTS,
        *_RESOURCE_CARRIERS,
    }
)

# KMS "cryptographic operations" (KMS developer guide, "AWS KMS cryptographic operations").
_KMS_CRYPTO = expand(
    [
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey*",
        "kms:ReEncrypt*",
        "kms:Sign",
        "kms:Verify*",
        "kms:GenerateMac",
        "kms:DeriveSharedSecret",
    ]
)
# The deployer writes a secret's bootstrap version through Secrets Manager; it can never
# read it back (no Decrypt).
_KMS_WRITE_THROUGH_SERVICE = expand(["kms:Encrypt", "kms:GenerateDataKey"])
# Record-level deletes are the sync function's job (a consumed message, an expired
# idempotency record); everything else named Delete/Purge/... destroys state.
_RECORD_DELETES = expand(
    ["sqs:DeleteMessage", "sqs:DeleteMessageBatch", "dynamodb:DeleteItem", "dynamodb:PartiQLDelete"]
)
_DESTRUCTIVE = re.compile(
    r":(delete|purge|schedule\w*deletion|disable|remove|terminate|detach|deregister|cancel)"
)
_SECRET_READS = expand(["secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue"])
# Every action that reads or writes a table's items, PartiQL included (DynamoDB developer
# guide, "IAM policies with PartiQL for DynamoDB").
_TABLE_DATA = expand(["dynamodb:*Item", "dynamodb:Query", "dynamodb:Scan", "dynamodb:PartiQL*"])
# What credential material looks like: PEM blocks, AWS access keys (IAM user guide,
# "Access key IDs", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html),
# JWTs; and variable names that announce one. A value the SDK marked secret shows as
# `REDACTED` in the plans `provisioner check` sends; the engine hands the pack secrets in
# clear, so there only the shape and the name can tell.
_CREDENTIAL_SHAPES = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----|\b(AKIA|ASIA)[0-9A-Z]{16}\b"
    r"|\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\."
)
_CREDENTIAL_NAMES = re.compile(r"SECRET|TOKEN|PASSWORD|PRIVATE_KEY|API_KEY|CLIENT_SECRET", re.I)
# Actions that mint access besides the catalogue's "Permissions management" level.
_MINTING_EXTRA = expand(["sts:AssumeRole*", "sts:GetFederationToken", "sts:GetSessionToken"])
DEFAULT_JOB_ACTIONS = {
    # Secrets Manager rotation of IAM access keys (components/credential.py, RekeyOwnPushers).
    "rotation": ["iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:DeleteAccessKey"],
}


def mints_access(action: str) -> bool:
    known = ACTIONS.get(action)
    return (known is not None and known.level == "Permissions management") or (
        action in _MINTING_EXTRA
    )


def destroys(action: str) -> bool:
    return _DESTRUCTIVE.search(action) is not None and action not in _RECORD_DELETES


def writes_credentials(action: str) -> bool:
    known = ACTIONS.get(action)
    return action.startswith("secretsmanager:") and (
        known is None or known.level in ("Write", "Permissions management")
    )


def _spelled(actions: frozenset[str] | set[str], limit: int = 4) -> str:
    names = sorted(ACTIONS[a].name if a in ACTIONS else a for a in actions)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _condition(statement: dict[str, Any], key: str) -> list[str]:
    """Values of a condition key under any operator (key compared case-insensitively)."""
    return [str(value) for value in condition_values(statement, key)]


def _condition_keys(statement: dict[str, Any]) -> set[str]:
    condition = statement.get("Condition")
    keys: set[str] = set()
    if isinstance(condition, dict):
        for operator, block in condition.items():
            # IfExists and ForAnyValue variants do not bind when the key is absent.
            if isinstance(block, dict) and "ifexists" not in str(operator).lower():
                keys.update(k.lower() for k in block)
    return keys


def statement_actions(statement: dict[str, Any]) -> frozenset[str]:
    if "NotAction" in statement:
        return expand([str(a) for a in as_list(statement["NotAction"])], negated=True)
    return expand([str(a) for a in as_list(statement.get("Action"))])


@dataclass
class _Doc:
    where: str  # `name.field`, for messages
    carrier: Res
    document: dict[str, Any]


# What a sync role may never do, and why, as the message ends.
_SYNC_FORBIDS: tuple[tuple[Callable[[str], bool], str], ...] = (
    (destroys, ", which destroys state. Fix: remove them; deleting is the deployer's."),
    (
        writes_credentials,
        " on secrets. Fix: only the integration's rotation role writes its credentials.",
    ),
)


@dataclass(frozen=True)
class _Grant:
    """One Allow statement of an identity policy, as the checks of a principal read it."""

    own: str | None  # the principal's integration
    job: str | None  # its job (sync, rotation, pusher, ...)
    who: str
    at: str  # where the statement is, for messages
    statement: dict[str, Any]
    actions: frozenset[str]
    patterns: list[str]  # its resource patterns
    reaches: dict[str, Reach]  # whose resources each pattern reaches
    doc: _Doc


class _Analysis:
    """One run over the stack; `report` is the SDK's, `unknown` collects unjudgeable paths."""

    def __init__(self, args: StackValidationArgs, report: ReportViolation) -> None:
        self.view = StackView.shared(args, report)
        self.world = StackWorld(self.view)
        self.report_violation = report
        self.unknown: list[str] = []
        config = args.get_config()
        # A pusher's access-key secret has the pusher user's physical name (`cred-{c}`).
        users = {r.props.get("name") for r in self.view.resources if r.type == IAM_USER} - {None}
        self.pusher_secrets = {
            arn: r.props["name"]
            for r in self.view.resources
            if r.type == SECRETS_MANAGER_SECRET
            and r.props.get("name") in users
            and isinstance(arn := r.props.get("arn"), str)
        }
        jobs = config.get("jobActions", DEFAULT_JOB_ACTIONS)
        self.job_actions = {
            job: expand([str(a) for a in as_list(actions)])
            for job, actions in (jobs.items() if isinstance(jobs, dict) else ())
        }

    def report(self, integration: str | None, message: str, res: Res) -> None:
        self.report_violation(f"{label(integration)}{message}", res.urn)

    def document(self, res: Res, field: str, value: Any) -> _Doc | None:
        if value is None or value == "":
            return None
        if contains_unknown(value):
            self.unknown.append(f"{res.name}.{field}")
            return None
        parsed = parse_document(value)
        if isinstance(parsed, str):
            self.report(
                res.integration,
                f"{res.name}.{field}: {parsed}. Fix: emit the document with json.dumps.",
                res,
            )
            return None
        return _Doc(f"{res.name}.{field}", res, parsed) if parsed else None

    def find(self, res: Res, field: str, *types: str) -> Res | None:
        ref = res.props.get(field)
        if is_unknown(ref):
            self.unknown.append(f"{res.name}.{field}")
            return None
        return self.view.find(ref, *types) if isinstance(ref, str) else None

    # ---------------------------------------------------------------- identity documents

    def identity_documents(self) -> Iterator[tuple[Res, _Doc]]:
        """(principal, document) for every identity policy that applies to a principal."""
        for res in self.view.resources:
            if res.type == IAM_ROLE:
                yield from self._role_documents(res)
            yield from self._carried_document(res)
            yield from self._attached_document(res)
            if res.type == IAM_POLICY_ATTACHMENT:
                yield from self._shared_attachment_documents(res)

    def _role_documents(self, res: Res) -> Iterator[tuple[Res, _Doc]]:
        """A role's inline policies and the stack's own managed policies it lists."""
        # The stack's own customer-managed policies listed on the role itself (any other
        # managed policy is closed-world's to refuse).
        for i, ref in enumerate(as_list(res.props.get("managedPolicyArns"))):
            if is_unknown(ref):
                self.unknown.append(f"{res.name}.managedPolicyArns[{i}]")
                continue
            policy = self.view.find(ref, IAM_POLICY) if isinstance(ref, str) else None
            if policy is None:
                continue
            doc = self.document(policy, "policy", policy.props.get("policy"))
            if doc:
                where = f"{res.name}.managedPolicyArns[{i}] -> {doc.where}"
                yield res, _Doc(where, res, doc.document)
        for i, inline in enumerate(as_list(res.props.get("inlinePolicies"))):
            if isinstance(inline, dict):
                doc = self.document(res, f"inlinePolicies[{i}].policy", inline.get("policy"))
                if doc:
                    yield res, doc

    def _carried_document(self, res: Res) -> Iterator[tuple[Res, _Doc]]:
        """A policy resource that carries its own document for one principal (RolePolicy)."""
        carrier = _IDENTITY_CARRIERS.get(res.type)
        if carrier:
            field, ref, rtype = carrier
            principal = self.find(res, ref, rtype)
            doc = self.document(res, field, res.props.get(field))
            if doc:
                yield principal or res, doc

    def _attached_document(self, res: Res) -> Iterator[tuple[Res, _Doc]]:
        """A managed policy attached to one principal (RolePolicyAttachment and the like)."""
        attachment = _ATTACHMENTS.get(res.type)
        if attachment:
            ref, rtype = attachment
            principal = self.find(res, ref, rtype)
            policy = self.find(res, "policyArn", IAM_POLICY)
            if policy is not None:
                doc = self.document(policy, "policy", policy.props.get("policy"))
                if doc:
                    yield principal or res, _Doc(f"{res.name} -> {doc.where}", res, doc.document)

    def _shared_attachment_documents(self, res: Res) -> Iterator[tuple[Res, _Doc]]:
        """A managed policy a PolicyAttachment gives to several roles, users and groups."""
        policy = self.find(res, "policyArn", IAM_POLICY)
        doc = self.document(policy, "policy", policy.props.get("policy")) if policy else None
        for field, rtype in (("roles", IAM_ROLE), ("users", IAM_USER), ("groups", IAM_GROUP)):
            for ref in as_list(res.props.get(field)):
                target = self.view.find(ref, rtype)
                if doc:
                    yield target or res, _Doc(f"{res.name} -> {doc.where}", res, doc.document)

    def principal_name(self, principal: Res) -> str:
        name = principal.props.get("name")
        return name if isinstance(name, str) and not is_unknown(name) else principal.name

    def check_identity(self, principal: Res, doc: _Doc) -> None:
        own = principal.integration
        job = self.world.ownership.job_of_name(self.principal_name(principal))
        who = f"{principal.name}"
        for i, statement in enumerate(statements(doc.document)):
            if statement.get("Effect") != "Allow":
                continue
            if contains_unknown(statement):
                self.unknown.append(f"{doc.where} Statement[{i}]")
                continue
            at = f"{doc.where} Statement[{i}]" + (
                f" ({statement['Sid']})" if statement.get("Sid") else ""
            )
            actions = statement_actions(statement)
            if not actions:
                continue
            patterns, reaches = self._statement_reach(statement)
            grant = _Grant(own, job, who, at, statement, actions, patterns, reaches, doc)
            self._check_scope(grant)
            self._check_minting(grant)
            if actions & _SECRET_READS and self.pusher_secrets:
                self._check_pusher_secrets(principal, job, at, patterns, doc)
            self._check_job(grant)

    def _statement_reach(self, statement: dict[str, Any]) -> tuple[list[str], dict[str, Reach]]:
        """The statement's resource patterns and whose resources each reaches."""
        if "NotResource" in statement:
            everything = Reach(
                frozenset(self.view.integrations), "every resource except those NotResource lists"
            )
            return ["*"], {"*": everything}
        patterns = [str(r) for r in as_list(statement.get("Resource"))]
        return patterns, {p: self.world.reach(p) for p in patterns}

    def _check_scope(self, grant: _Grant) -> None:
        """Actions that take a resource reach only the principal's own integration."""
        own, who, at, actions, doc = grant.own, grant.who, grant.at, grant.actions, grant.doc
        patterns, reaches = grant.patterns, grant.reaches
        scoped = frozenset(a for a in actions if a not in ACTIONS or ACTIONS[a].resource_scoped)
        if not scoped:
            return
        for pattern in patterns:
            reach = reaches[pattern]
            if own is None or not reach.only(own):
                whose = f"{own}'s own" if own else "its integration's own"
                self.report(
                    own,
                    (
                        f"{at} lets {who} {_spelled(scoped)} on {pattern}, which reaches "
                        f"{'; '.join(reach.others(own or ''))}. Fix: name only {whose} "
                        "resources by their exact ARNs."
                    ),
                    doc.carrier,
                )

    def _check_job(self, grant: _Grant) -> None:
        """What the principal's job forbids: a sync role destroying state or writing
        credentials, a pusher acting from anywhere, any role using its key directly."""
        own, job, who, at, doc = grant.own, grant.job, grant.who, grant.at, grant.doc
        statement, actions = grant.statement, grant.actions
        for forbidden, why in _SYNC_FORBIDS if job == "sync" else ():
            found = {a for a in actions if forbidden(a)}
            if found:
                self.report(
                    own, f"{at} lets the sync role {who} {_spelled(found)}{why}", doc.carrier
                )
        if job == "pusher" and "aws:sourceip" not in _condition_keys(statement):
            self.report(
                own,
                (
                    f"{at} lets the external pusher {who} act from any network address. "
                    'Fix: add IpAddress {"aws:SourceIp": [...]} with the source_ranges the '
                    "roadmap declares for the credential."
                ),
                doc.carrier,
            )
        crypto = actions & _KMS_CRYPTO
        if crypto and own and job:
            keys = _condition_keys(statement)
            if "kms:viaservice" not in keys and not any(
                k.startswith("kms:encryptioncontext") for k in keys
            ):
                self.report(
                    own,
                    (
                        f"{at} lets {who} {_spelled(crypto)} with the key directly. Fix: add "
                        'StringEquals {"kms:ViaService": ["<service>.<region>.amazonaws.com"]} '
                        "for the services that use the key for it (or an encryption context)."
                    ),
                    doc.carrier,
                )

    def _check_pusher_secrets(
        self, principal: Res, job: str | None, at: str, patterns: list[str], doc: _Doc
    ) -> None:
        """A pusher's access key is read by its rotation role and by the pusher alone."""
        name = self.principal_name(principal)
        for arn, user in self.pusher_secrets.items():
            if not any(iam_pattern(p).fullmatch(arn) for p in patterns):
                continue
            secret = self.view.find(arn, SECRETS_MANAGER_SECRET)
            owner = secret.integration if secret else None
            if name == user or (job == "rotation" and principal.integration == owner):
                continue
            self.report(
                principal.integration,
                (
                    f"{at} lets {principal.name} read {arn}, the access key of the pusher {user}. "
                    f"Fix: only {owner}'s rotation role and {user} itself read it; remove the "
                    "secret from this statement."
                ),
                doc.carrier,
            )

    def _check_minting(self, grant: _Grant) -> None:
        own, job, who, at, doc = grant.own, grant.job, grant.who, grant.at, grant.doc
        actions, patterns, reaches = grant.actions, grant.patterns, grant.reaches
        minting = {a for a in actions if mints_access(a)}
        if not minting:
            return
        allowed = self.job_actions.get(job or "", frozenset())
        refused = minting - allowed
        if refused:
            self.report(
                own,
                (
                    f"{at} lets {who} {_spelled(refused)}, which mint access; no "
                    f"{job or 'such'} principal's job needs them. Fix: remove them."
                ),
                doc.carrier,
            )
        inexact = [p for p in patterns if is_pattern(p) or not own or not reaches[p].only(own)]
        if minting & allowed and inexact:
            self.report(
                own,
                (
                    f"{at} lets {who} {_spelled(minting & allowed)} on {', '.join(inexact)}. Fix: "
                    f"name {own}'s own principals by their exact ARNs."
                ),
                doc.carrier,
            )

    # ---------------------------------------------------------------- resource documents

    def resource_documents(self) -> Iterator[tuple[Res | None, _Doc]]:
        for res in self.view.resources:
            carrier = _RESOURCE_CARRIERS.get(res.type)
            if carrier is None or is_stack_resource(res.name):
                # The stack's audit key and bucket belong to no integration: their policies
                # are judged by audit.py (cloudtrail-hardened, audit-bucket-private).
                continue
            field, ref = carrier
            target = res if ref is None else self.find(res, ref)
            doc = self.document(res, field, res.props.get(field))
            if doc:
                yield target, doc

    def check_resource(self, target: Res | None, doc: _Doc) -> None:
        own = target.integration if target else doc.carrier.integration
        what = target.name if target else doc.carrier.name
        is_key = doc.carrier.type in KEY_POLICY_TYPES
        for i, statement in enumerate(statements(doc.document)):
            at = f"{doc.where} Statement[{i}]" + (
                f" ({statement['Sid']})" if statement.get("Sid") else ""
            )
            if contains_unknown(statement):
                self.unknown.append(at)
                continue
            if statement.get("Effect") != "Allow":
                continue
            if "NotPrincipal" in statement:
                self.report(
                    own,
                    (
                        f"{at} allows everyone except NotPrincipal on {what}. Fix: name {own}'s "
                        "own principals in Principal instead."
                    ),
                    doc.carrier,
                )
                continue
            actions = statement_actions(statement)
            principal = statement.get("Principal")
            if principal == "*":
                principal = {"AWS": "*"}
            if not isinstance(principal, dict):
                continue
            for kind, values in principal.items():
                for value in as_list(values):
                    self._check_grantee(
                        own, what, at, str(kind), str(value), statement, actions, is_key, doc
                    )

    def check_guards(self, target: Res, doc: _Doc) -> None:
        """The Deny statements a queue's and a table's policies must hold cover that resource."""
        arn = target.props.get("arn")
        if not isinstance(arn, str) or is_unknown(arn):
            return
        own = target.integration
        denies = [
            s
            for s in statements(doc.document)
            if s.get("Effect") == "Deny"
            and any(iam_pattern(str(r)).fullmatch(arn) for r in as_list(s.get("Resource")))
        ]
        if target.type == SQS_QUEUE and not any(
            [v.lower() for v in _condition(s, "aws:SecureTransport")] == ["false"] for s in denies
        ):
            self.report(
                own,
                (
                    f"{doc.where} has no Deny of non-TLS requests whose Resource is {arn}. Fix: "
                    f'deny sqs:* to Principal "*" on {arn} when aws:SecureTransport is false.'
                ),
                doc.carrier,
            )
        if target.type == DYNAMODB_TABLE:
            covered: set[str] = set()
            for s in denies:
                if s.get("Principal") in ("*", {"AWS": "*"}):
                    covered |= statement_actions(s)
            missing = _TABLE_DATA - covered
            if missing:
                self.report(
                    own,
                    (
                        f"{doc.where} leaves {_spelled(frozenset(missing))} on {arn} open to "
                        f"principals other than {own}'s role. Fix: deny every item action, PartiQL "
                        "included, to everyone but the integration's role."
                    ),
                    doc.carrier,
                )

    def _check_grantee(
        self,
        own: str | None,
        what: str,
        at: str,
        kind: str,
        value: str,
        statement: dict[str, Any],
        actions: frozenset[str],
        is_key: bool,
        doc: _Doc,
    ) -> None:
        account = self.world.account
        if kind == "Service":
            self._check_service(own, what, at, value, statement, doc)
            return
        if kind != "AWS":
            self.report(
                own,
                (
                    f"{at} admits the {kind} principal {value} to {what}. Fix: admit only "
                    f"{own}'s own roles and users."
                ),
                doc.carrier,
            )
            return
        principal = self.world.ownership.principal(value)
        bound = _condition(statement, "aws:PrincipalArn")
        if (
            principal.kind in ("anyone", "root")
            and bound
            and (principal.kind == "anyone" or principal.account == account)
        ):
            for arn in bound:
                self._check_own_principal(own, what, at, self.world.ownership.principal(arn), doc)
            return
        if principal.kind == "root" and principal.account == account and account:
            if is_key and not actions & _KMS_CRYPTO:
                return  # the key-administration statement
            via = [v.lower() for v in _condition(statement, "kms:ViaService")]
            callers = _condition(statement, "kms:CallerAccount")
            if is_key and actions <= _KMS_WRITE_THROUGH_SERVICE and via and callers == [account]:
                return  # the deployer encrypts through named services, never reads back
            self.report(
                own,
                (
                    f"{at} grants {_spelled(actions)} on {what} to the account root, i.e. to any "
                    "principal of the account that IAM allows. Fix: name the integration's own "
                    "principals (aws:PrincipalArn); the account root keeps only key "
                    "administration."
                ),
                doc.carrier,
            )
            return
        self._check_own_principal(own, what, at, principal, doc)

    def _check_own_principal(
        self, own: str | None, what: str, at: str, principal: Principal, doc: _Doc
    ) -> None:
        account = self.world.account
        if principal.kind == "anyone":
            problem = "everyone (Principal '*')"
        elif principal.account and account and principal.account != account:
            problem = f"account {principal.account}, not this stack's"
        elif principal.kind == "root":
            problem = "the whole account (its root)"
        elif is_pattern(principal.arn):
            problem = f"every principal matching {principal.arn}"
        elif principal.integration is None:
            problem = f"{principal.arn}, no integration's principal"
        elif principal.integration != own:
            problem = f"{principal.integration}'s principal {principal.arn}"
        else:
            return
        self.report(
            own,
            (
                f"{at} admits {problem} to {what}. Fix: admit only {own}'s own roles and users "
                "by their exact ARNs."
            ),
            doc.carrier,
        )

    def _check_service(
        self,
        own: str | None,
        what: str,
        at: str,
        service: str,
        statement: dict[str, Any],
        doc: _Doc,
    ) -> None:
        account = self.world.account
        accounts = _condition(statement, "aws:SourceAccount")
        sources = _condition(statement, "aws:SourceArn")
        bound_account = bool(accounts) and all(a == account for a in accounts) and account
        bound_arn = bool(sources) and all(
            own is not None and self.world.reach(s).only(own) for s in sources
        )
        # CloudWatch Logs is bound to the log groups it encrypts for by the encryption
        # context (CloudWatch Logs user guide, "Encrypt log data using AWS KMS").
        contexts = [
            v
            for k in _condition_keys(statement)
            if k.startswith("kms:encryptioncontext:")
            for v in _condition(statement, k)
        ]
        bound_context = bool(contexts) and all(
            own is not None and self.world.reach(c).only(own) for c in contexts
        )
        if not (bound_account or bound_arn or bound_context):
            shown = ", ".join(accounts + sources) or "no aws:SourceAccount or aws:SourceArn"
            self.report(
                own,
                (
                    f"{at} admits {service} to {what} for {shown}. Fix: bind it with "
                    f'StringEquals {{"aws:SourceAccount": "{account}"}} or aws:SourceArn of '
                    f"{own}'s own resource (confused deputy)."
                ),
                doc.carrier,
            )

    # ---------------------------------------------------------------- trust policies

    def runners(self) -> dict[str, set[str]]:
        """Role URN -> the services that run it in this stack."""
        found: dict[str, set[str]] = {}
        for res in self.view.resources:
            runner = _RUNNERS.get(res.type)
            if runner is None:
                continue
            field, service = runner
            value = res.props.get(field)
            refs = [value.get("roleArn")] if isinstance(value, dict) else [value]
            for ref in refs:
                role = self.view.find(ref, IAM_ROLE)
                if role is not None:
                    found.setdefault(role.urn, set()).add(service)
        return found

    def check_trust(self, role: Res, runners: set[str]) -> None:
        doc = self.document(role, "assumeRolePolicy", role.props.get("assumeRolePolicy"))
        if doc is None:
            return
        own = role.integration
        expected = runners or {DEFAULT_RUNNER}
        for i, statement in enumerate(statements(doc.document)):
            at = f"{doc.where} Statement[{i}]"
            if statement.get("Effect") != "Allow":
                continue
            if "NotPrincipal" in statement:
                self.report(
                    own,
                    f"{at} trusts everyone but NotPrincipal. Fix: trust "
                    f"{', '.join(sorted(expected))} only.",
                    role,
                )
                continue
            principal = statement.get("Principal")
            if principal == "*":
                principal = {"AWS": "*"}
            for kind, values in principal.items() if isinstance(principal, dict) else ():
                for value in as_list(values):
                    if kind == "Service" and value in expected:
                        if value in CONFUSED_DEPUTY_SERVICES:
                            self._check_service(own, role.name, at, value, statement, doc)
                        continue
                    if kind == "AWS" and external_trust_allowed(role, statement):
                        continue  # a warehouse's storage integration (external-trust-scoped)
                    self.report(
                        own,
                        (
                            f"{at} lets {kind} {value} assume {role.name}, which only "
                            f"{', '.join(sorted(expected))} runs. Fix: trust that service alone."
                        ),
                        role,
                    )

    # ---------------------------------------------------------------- Lambda access

    def check_permission(self, res: Res) -> None:
        props = res.props
        if any(is_unknown(props.get(k)) for k in ("principal", "sourceAccount", "sourceArn")):
            self.unknown.append(f"{res.name}.principal")
            return
        function = self.find(res, "function", LAMBDA_FUNCTION)
        own = function.integration if function else res.integration
        what = function.name if function else str(props.get("function"))
        at = f"{res.name}"
        principal = str(props.get("principal") or "")
        if props.get("functionUrlAuthType") == "NONE":
            if (
                self.signed_ingress(function, res.integration)
                and principal == "*"
                and props.get("action") == "lambda:InvokeFunctionUrl"
            ):
                return  # what a public URL needs (Lambda guide, "Control access to function URLs")
            self.report(
                own,
                f"{at} makes {what}'s URL callable without authentication. Fix: "
                "use function_url_auth_type AWS_IAM.",
                res,
            )
        statement: dict[str, Any] = {"Condition": {"StringEquals": {}}}
        if props.get("sourceAccount"):
            statement["Condition"]["StringEquals"]["aws:SourceAccount"] = props["sourceAccount"]
        if props.get("sourceArn"):
            statement["Condition"]["StringEquals"]["aws:SourceArn"] = props["sourceArn"]
        doc = _Doc(at, res, {})
        if principal.endswith(".amazonaws.com"):
            self._check_service(own, what, at, principal, statement, doc)
        else:
            self._check_own_principal(own, what, at, self.world.ownership.principal(principal), doc)

    def signed_ingress(self, function: Res | None, integration: str | None) -> bool:
        """`function` is `integration`'s own signed-webhook ingress (contract.naming)."""
        return (
            function is not None
            and integration is not None
            and function.integration == integration
            and function.is_role(WEBHOOK_INGRESS_ROLE)
        )

    def check_function_url(self, res: Res) -> None:
        auth = res.props.get("authorizationType")
        if is_unknown(auth):
            self.unknown.append(f"{res.name}.authorizationType")
        elif auth == "NONE" and self.signed_ingress(
            self.find(res, "functionName", LAMBDA_FUNCTION), res.integration
        ):
            return
        elif auth != "AWS_IAM":
            self.report(
                res.integration,
                f"{res.name} serves a function URL with authorization "
                f"{auth!r}: anyone on the internet can invoke it. Fix: set "
                "authorization_type='AWS_IAM' (only the integration's own signed-webhook "
                f"ingress, role word {WEBHOOK_INGRESS_ROLE!r}, may serve one without).",
                res,
            )

    def check_topic_key(self, res: Res) -> None:
        """Alerts carry names and error details: encrypted with the integration's own key."""
        ref = res.props.get("kmsMasterKeyId")
        if is_unknown(ref):
            self.unknown.append(f"{res.name}.kmsMasterKeyId")
            return
        key = self.view.find(ref, KMS_KEY)
        if key is not None and key.integration == res.integration:
            return
        whose = f"{key.integration}'s key" if key is not None else repr(ref or "no key")
        self.report(
            res.integration,
            f"{res.name} is encrypted with {whose}. Fix: set kms_master_key_id to "
            f"{res.integration}'s own key ARN (and let the publishing services use it in its "
            "key policy, bound by aws:SourceAccount).",
            res,
        )

    def check_destinations(self, res: Res) -> None:
        """Failed asynchronous invocations go only to the integration's own resources."""
        config = res.props.get("destinationConfig")
        if contains_unknown(config):
            self.unknown.append(f"{res.name}.destinationConfig")
            return
        for outcome in ("onFailure", "onSuccess"):
            target = config.get(outcome) if isinstance(config, dict) else None
            arn = target.get("destination") if isinstance(target, dict) else None
            if not isinstance(arn, str):
                continue
            reach = self.world.reach(arn)
            if res.integration is None or not reach.only(res.integration):
                self.report(
                    res.integration,
                    (
                        f"{res.name}.destinationConfig.{outcome} sends invocation records to "
                        f"{arn}, which reaches {'; '.join(reach.others(res.integration or ''))}. "
                        f"Fix: send them to {res.integration}'s own DLQ."
                    ),
                    res,
                )

    def check_environment(self, res: Res) -> None:
        """Function environment variables carry names, ARNs and URLs, never a credential.

        docs/contracts.md, "Sync function environment variables": a value in the environment
        is readable by anyone who may read the function's configuration
        (lambda:GetFunctionConfiguration), bypassing the secret's own policy and key.
        """
        environment = res.props.get("environment")
        variables = environment.get("variables") if isinstance(environment, dict) else None
        for name, value in variables.items() if isinstance(variables, dict) else ():
            if not isinstance(value, str) or is_unknown(value) or value.startswith("arn:"):
                continue
            why = (
                "a Pulumi secret"
                if value == REDACTED
                else "credential material"
                if _CREDENTIAL_SHAPES.search(value)
                else "a value named as a credential"
                if value and _CREDENTIAL_NAMES.search(name)
                else ""
            )
            if why:
                self.report(
                    res.integration,
                    (
                        f"{res.name}.environment.variables.{name} carries {why}. Fix: pass the "
                        "secret's ARN (…_SECRET_ARN) and read the value from Secrets Manager at "
                        "run time."
                    ),
                    res,
                )

    def check_redrive(self, res: Res) -> None:
        doc = self.document(res, "redriveAllowPolicy", res.props.get("redriveAllowPolicy"))
        dlq = self.find(res, "queueUrl")
        own = dlq.integration if dlq else res.integration
        if doc is None:
            return
        permission = doc.document.get("redrivePermission")
        sources = [str(s) for s in as_list(doc.document.get("sourceQueueArns"))]
        if permission != "byQueue":
            self.report(
                own,
                f"{doc.where} lets {permission or 'any'} queue redrive into "
                f"{own}'s DLQ. Fix: redrivePermission 'byQueue' with its own queue.",
                res,
            )
        for arn in sources:
            reach = self.world.reach(arn)
            if own is None or not reach.only(own):
                self.report(
                    own,
                    f"{doc.where} lets {arn} redrive into {own}'s DLQ, which "
                    f"reaches {'; '.join(reach.others(own or ''))}. Fix: name only "
                    f"{own}'s own queue.",
                    res,
                )

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

__all__ = ["LEAST_PRIVILEGE_REACH", "TYPES", "least_privilege_reach", "matching"]
