"""Identity documents: what each principal's policies let it do, and on whose resources."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from contract.aws_types import (
    IAM_GROUP,
    IAM_POLICY,
    IAM_POLICY_ATTACHMENT,
    IAM_ROLE,
    IAM_USER,
    SECRETS_MANAGER_SECRET,
)
from contract.ownership import Reach, is_pattern

from .._catalogue import ACTIONS
from .._common import as_list, contains_unknown, is_unknown, statements
from .._stack import Res
from .._world import iam_pattern
from .base import ATTACHMENTS, IDENTITY_CARRIERS, Analysis
from .statements import (
    KMS_CRYPTO,
    SECRET_READS,
    SYNC_FORBIDS,
    Doc,
    Grant,
    bound_keys,
    mints_access,
    spelled,
    statement_actions,
)


class IdentityChecks(Analysis):
    """Every identity policy that applies to a principal, judged statement by statement."""

    def identity_documents(self) -> Iterator[tuple[Res, Doc]]:
        """(principal, document) for every identity policy that applies to a principal."""
        for res in self.view.resources:
            if res.type == IAM_ROLE:
                yield from self._role_documents(res)
            yield from self._carried_document(res)
            yield from self._attached_document(res)
            if res.type == IAM_POLICY_ATTACHMENT:
                yield from self._shared_attachment_documents(res)

    def _role_documents(self, res: Res) -> Iterator[tuple[Res, Doc]]:
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
                yield res, Doc(where, res, doc.document)
        for i, inline in enumerate(as_list(res.props.get("inlinePolicies"))):
            if isinstance(inline, dict):
                doc = self.document(res, f"inlinePolicies[{i}].policy", inline.get("policy"))
                if doc:
                    yield res, doc

    def _carried_document(self, res: Res) -> Iterator[tuple[Res, Doc]]:
        """A policy resource that carries its own document for one principal (RolePolicy)."""
        carrier = IDENTITY_CARRIERS.get(res.type)
        if carrier:
            field, ref, rtype = carrier
            principal = self.find(res, ref, rtype)
            doc = self.document(res, field, res.props.get(field))
            if doc:
                yield principal or res, doc

    def _attached_document(self, res: Res) -> Iterator[tuple[Res, Doc]]:
        """A managed policy attached to one principal (RolePolicyAttachment and the like)."""
        attachment = ATTACHMENTS.get(res.type)
        if attachment:
            ref, rtype = attachment
            principal = self.find(res, ref, rtype)
            policy = self.find(res, "policyArn", IAM_POLICY)
            if policy is not None:
                doc = self.document(policy, "policy", policy.props.get("policy"))
                if doc:
                    yield principal or res, Doc(f"{res.name} -> {doc.where}", res, doc.document)

    def _shared_attachment_documents(self, res: Res) -> Iterator[tuple[Res, Doc]]:
        """A managed policy a PolicyAttachment gives to several roles, users and groups."""
        policy = self.find(res, "policyArn", IAM_POLICY)
        doc = self.document(policy, "policy", policy.props.get("policy")) if policy else None
        for field, rtype in (("roles", IAM_ROLE), ("users", IAM_USER), ("groups", IAM_GROUP)):
            for ref in as_list(res.props.get(field)):
                target = self.view.find(ref, rtype)
                if doc:
                    yield target or res, Doc(f"{res.name} -> {doc.where}", res, doc.document)

    def principal_name(self, principal: Res) -> str:
        name = principal.props.get("name")
        return name if isinstance(name, str) and not is_unknown(name) else principal.name

    def check_identity(self, principal: Res, doc: Doc) -> None:
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
            grant = Grant(own, job, who, at, statement, actions, patterns, reaches, doc)
            self._check_scope(grant)
            self._check_minting(grant)
            if actions & SECRET_READS and self.pusher_secrets:
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

    def _check_scope(self, grant: Grant) -> None:
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
                        f"{at} lets {who} {spelled(scoped)} on {pattern}, which reaches "
                        f"{'; '.join(reach.others(own or ''))}. Fix: name only {whose} "
                        "resources by their exact ARNs."
                    ),
                    doc.carrier,
                )

    def _check_job(self, grant: Grant) -> None:
        """What the principal's job forbids: a sync role destroying state or writing
        credentials, a pusher acting from anywhere, any role using its key directly."""
        own, job, who, at, doc = grant.own, grant.job, grant.who, grant.at, grant.doc
        statement, actions = grant.statement, grant.actions
        for forbidden, why in SYNC_FORBIDS if job == "sync" else ():
            found = {a for a in actions if forbidden(a)}
            if found:
                self.report(
                    own, f"{at} lets the sync role {who} {spelled(found)}{why}", doc.carrier
                )
        if job == "pusher" and "aws:sourceip" not in bound_keys(statement):
            self.report(
                own,
                (
                    f"{at} lets the external pusher {who} act from any network address. "
                    'Fix: add IpAddress {"aws:SourceIp": [...]} with the source_ranges the '
                    "roadmap declares for the credential."
                ),
                doc.carrier,
            )
        crypto = actions & KMS_CRYPTO
        if crypto and own and job:
            keys = bound_keys(statement)
            if "kms:viaservice" not in keys and not any(
                k.startswith("kms:encryptioncontext") for k in keys
            ):
                self.report(
                    own,
                    (
                        f"{at} lets {who} {spelled(crypto)} with the key directly. Fix: add "
                        'StringEquals {"kms:ViaService": ["<service>.<region>.amazonaws.com"]} '
                        "for the services that use the key for it (or an encryption context)."
                    ),
                    doc.carrier,
                )

    def _check_pusher_secrets(
        self, principal: Res, job: str | None, at: str, patterns: list[str], doc: Doc
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

    def _check_minting(self, grant: Grant) -> None:
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
                    f"{at} lets {who} {spelled(refused)}, which mint access; no "
                    f"{job or 'such'} principal's job needs them. Fix: remove them."
                ),
                doc.carrier,
            )
        inexact = [p for p in patterns if is_pattern(p) or not own or not reaches[p].only(own)]
        if minting & allowed and inexact:
            self.report(
                own,
                (
                    f"{at} lets {who} {spelled(minting & allowed)} on {', '.join(inexact)}. Fix: "
                    f"name {own}'s own principals by their exact ARNs."
                ),
                doc.carrier,
            )
