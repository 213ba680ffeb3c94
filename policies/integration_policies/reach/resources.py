"""Resource and trust documents: whom each integration's resources admit, and who may
assume its roles."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from contract.aws_types import DYNAMODB_TABLE, IAM_ROLE, SQS_QUEUE

from .._common import as_list, contains_unknown, is_unknown, statements
from .._stack import Res
from .._world import iam_pattern
from ..audit import is_stack_resource
from ..stage import external_trust_allowed
from .base import (
    CONFUSED_DEPUTY_SERVICES,
    DEFAULT_RUNNER,
    KEY_POLICY_TYPES,
    RESOURCE_CARRIERS,
    RUNNERS,
    Analysis,
)
from .statements import (
    KMS_CRYPTO,
    KMS_WRITE_THROUGH_SERVICE,
    TABLE_DATA,
    Doc,
    condition,
    spelled,
    statement_actions,
)


class ResourceChecks(Analysis):
    """Resource policies (queue, topic, key, secret, table, bucket) and trust policies."""

    def resource_documents(self) -> Iterator[tuple[Res | None, Doc]]:
        for res in self.view.resources:
            carrier = RESOURCE_CARRIERS.get(res.type)
            if carrier is None or is_stack_resource(res.name):
                # The stack's audit key and bucket belong to no integration: their policies
                # are judged by audit.py (cloudtrail-hardened, audit-bucket-private).
                continue
            field, ref = carrier
            target = res if ref is None else self.find(res, ref)
            doc = self.document(res, field, res.props.get(field))
            if doc:
                yield target, doc

    def check_resource(self, target: Res | None, doc: Doc) -> None:
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

    def check_guards(self, target: Res, doc: Doc) -> None:
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
            [v.lower() for v in condition(s, "aws:SecureTransport")] == ["false"] for s in denies
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
            missing = TABLE_DATA - covered
            if missing:
                self.report(
                    own,
                    (
                        f"{doc.where} leaves {spelled(frozenset(missing))} on {arn} open to "
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
        doc: Doc,
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
        bound = condition(statement, "aws:PrincipalArn")
        if (
            principal.kind in ("anyone", "root")
            and bound
            and (principal.kind == "anyone" or principal.account == account)
        ):
            for arn in bound:
                self._check_own_principal(own, what, at, self.world.ownership.principal(arn), doc)
            return
        if principal.kind == "root" and principal.account == account and account:
            if is_key and not actions & KMS_CRYPTO:
                return  # the key-administration statement
            via = [v.lower() for v in condition(statement, "kms:ViaService")]
            callers = condition(statement, "kms:CallerAccount")
            if is_key and actions <= KMS_WRITE_THROUGH_SERVICE and via and callers == [account]:
                return  # the deployer encrypts through named services, never reads back
            self.report(
                own,
                (
                    f"{at} grants {spelled(actions)} on {what} to the account root, i.e. to any "
                    "principal of the account that IAM allows. Fix: name the integration's own "
                    "principals (aws:PrincipalArn); the account root keeps only key "
                    "administration."
                ),
                doc.carrier,
            )
            return
        self._check_own_principal(own, what, at, principal, doc)

    def runners(self) -> dict[str, set[str]]:
        """Role URN -> the services that run it in this stack."""
        found: dict[str, set[str]] = {}
        for res in self.view.resources:
            runner = RUNNERS.get(res.type)
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
