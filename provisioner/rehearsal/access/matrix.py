"""The access matrix: each integration's principals reach their own resources and nobody else's.

SQS is tested live and evaluated. Each role is assumed through STS, then, with moto's IAM
enforcement on, its credentials call SQS on its own queues and on a fixed-seed sample of
other integrations' queues; every foreign queue is also judged by evaluating the
principal's policies and the queue's resource policy, so the live calls grow linearly with
the roadmap while no pair goes unchecked. Probes are built to pass
authorisation and then fail validation (``DelaySeconds=901``, ``MaxNumberOfMessages=11``,
a made-up receipt handle), so an allowed probe changes nothing in any queue: "AccessDenied"
means denied, any other answer means IAM let the call through.

For Secrets Manager, KMS and DynamoDB moto enforces actions but not resources, so the
same matrix is evaluated on the role's attached and inline policies (read back from the
emulator) with moto's IAM policy evaluator, the code moto's server uses to enforce SQS.

Usage::

    checks = sqs_matrix(aws, inventory) + evaluated_matrix(aws, inventory)
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from contract.aws_types import (
    DYNAMODB_TABLE,
    IAM_ACCESS_KEY,
    IAM_USER,
    KMS_KEY,
    LAMBDA_FUNCTION,
    SECRETS_MANAGER_SECRET,
)
from provisioner.rehearsal.access.evaluation import ArnIndex, could_allow, evaluate, statements_of
from provisioner.rehearsal.access.identity import (
    Credentials,
    IdentityPolicies,
    SigningClient,
    assume,
)
from provisioner.rehearsal.backend import CreatedResource
from provisioner.rehearsal.emulator import Emulator
from provisioner.rehearsal.inventory import Deployed, Inventory
from provisioner.rehearsal.result import Check

__all__ = ["FOREIGN_LIVE_SAMPLE", "evaluated_matrix", "sqs_matrix"]

Probe = Callable[[Any, str], object]

# Each probe passes IAM and then fails SQS's own validation, so it never changes a queue.
_SQS_PROBES: dict[str, Probe] = {
    "sqs:SendMessage": lambda sqs, url: sqs.send_message(
        QueueUrl=url, MessageBody="probe", DelaySeconds=901
    ),
    "sqs:ReceiveMessage": lambda sqs, url: sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=11
    ),
    "sqs:DeleteMessage": lambda sqs, url: sqs.delete_message(
        QueueUrl=url, ReceiptHandle="rehearsal-probe"
    ),
    "sqs:ChangeMessageVisibility": lambda sqs, url: sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle="rehearsal-probe", VisibilityTimeout=0
    ),
    "sqs:GetQueueAttributes": lambda sqs, url: sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["QueueArn"]
    ),
}
# What the integration's role needs on its own queues: the Lambda SQS trigger polls with
# the function's role (ReceiveMessage, DeleteMessage, GetQueueAttributes: Lambda developer
# guide, "Execution role permissions" for SQS), and the consumer sends permanent failures
# to its DLQ itself (docs/contracts.md, DLQ_URL).
_ROLE_NEEDS = {
    "queue": ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"),
    "dlq": ("sqs:SendMessage",),
}
# An external pusher's access key only ever sends to its integration's queue.
_PUSHER_NEEDS = {"queue": ("sqs:SendMessage",)}
# What other integrations' principals must never do, on any of this integration's resources.
_EVALUATED_ACTIONS = {
    SECRETS_MANAGER_SECRET: ("secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"),
    KMS_KEY: ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"),
    DYNAMODB_TABLE: ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"),
}


@dataclass(frozen=True)
class _Principal:
    integration: str
    label: str  # role or user name, for messages
    credentials: Credentials
    needs: Mapping[str, tuple[str, ...]]
    arn: str
    policies: tuple[dict[str, Any], ...]  # its identity policies, as IAM holds them

    def granted_in(self, resource_policy: dict[str, Any] | None) -> bool:
        """Whether an Allow of the resource policy names this principal (or everyone): only
        such a statement can let it in; a Deny (every queue's plain-HTTP one names
        everyone) only takes away."""
        return any(
            s.get("Effect") != "Deny" and self._named(s) for s in statements_of(resource_policy)
        )

    def may(self, action: str, resource: str, resource_policy: dict[str, Any] | None) -> bool:
        """Whether any request could let this principal call `action` on `resource`.

        Within one account a call is allowed when the identity policies or the resource
        policy allow it and nothing denies it (IAM user guide, "Policy evaluation logic");
        only resource-policy statements naming this principal (or everyone) count.
        """
        statements = [s for s in statements_of(resource_policy) if self._named(s)]
        found = [*self.policies, {"Statement": statements}]
        return could_allow(found, action, resource)

    def _named(self, statement: Mapping[str, Any]) -> bool:
        principal = statement.get("Principal")
        if principal == "*":
            return True
        names = principal.get("AWS", []) if isinstance(principal, dict) else []
        names = [names] if isinstance(names, str) else names
        root = f"arn:aws:iam::{self.arn.split(':')[4]}:root"
        return any(n in ("*", self.arn, root) for n in names)


def _outcome(call: Callable[[], Any]) -> str:
    """'allowed', 'denied', or 'error: ...' when IAM itself rejected the caller."""
    try:
        call()
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "")
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("AccessDenied", "AccessDeniedException") or "AccessDenied" in str(err):
            return "denied"
        if code in ("InvalidClientTokenId", "SignatureDoesNotMatch") or status == 403:
            return f"error: {code or status}: {err}"
    return "allowed"


def _principals(aws: Emulator, inventory: Inventory) -> list[_Principal]:
    policies = IdentityPolicies(aws)
    found = []
    for deployed in inventory:
        for role in deployed.roles:
            needs = _ROLE_NEEDS if role is deployed.role else {}
            found.append(
                _Principal(
                    deployed.name,
                    f"role {role.id}",
                    assume(aws, role.outputs["arn"], f"rehearsal-{deployed.name}"[:64]),
                    needs,
                    role.outputs["arn"],
                    tuple(policies("role", role.id)),
                )
            )
        for key in deployed.of_type(IAM_ACCESS_KEY):
            user = key.outputs["user"]
            found.append(
                _Principal(
                    deployed.name,
                    f"user {user}",
                    {"aws_access_key_id": key.id, "aws_secret_access_key": key.outputs["secret"]},
                    _PUSHER_NEEDS,
                    f"arn:aws:iam::{aws.account_id}:user/{user}",
                    tuple(policies("user", user)),
                )
            )
    return found


def _queue_kind(deployed_name: str, queue: CreatedResource) -> str:
    return queue.name.removeprefix(f"{deployed_name}-")


# Foreign queues each principal also probes live (a fixed-seed sample, the same on every run
# of a stack): every other foreign pair is proven denied by evaluation, so the live calls
# grow with the number of integrations, not with its square.
FOREIGN_LIVE_SAMPLE = 2


def sqs_matrix(aws: Emulator, inventory: Inventory) -> list[Check]:
    """One check per integration: its principals' SQS access against every queue.

    Live, with IAM enforced: every action a principal needs on its own queues, and every
    action on `FOREIGN_LIVE_SAMPLE` foreign queues drawn with a fixed seed. Evaluated: every
    action on every foreign queue, with the principal's identity policies and the queue's
    resource policy (read back from the emulator), so no foreign pair goes unjudged.
    """
    principals = _principals(aws, inventory)
    queues = [(d.name, q) for d in inventory for q in d.queues]
    queue_policies = {q.id: _queue_policy(aws, q.id) for _, q in queues}
    index = ArnIndex(q.outputs["arn"] for _, q in queues)
    problems: dict[str, list[str]] = {d.name: [] for d in inventory}
    live: dict[str, int] = dict.fromkeys(problems, 0)
    evaluated: dict[str, int] = dict.fromkeys(problems, 0)
    signing = SigningClient(aws, "sqs")
    with aws.iam_enforced():
        for principal in principals:
            sqs = signing.sign_as(principal.credentials)
            foreign = [(o, q) for o, q in queues if o != principal.integration]
            sample = random.Random(f"{aws.account_id}:{principal.label}").sample(
                foreign, min(FOREIGN_LIVE_SAMPLE, len(foreign))
            )
            own = [(o, q) for o, q in queues if o == principal.integration]
            for owner, queue in own + sample:
                mine = owner == principal.integration
                needed = principal.needs.get(_queue_kind(owner, queue), ()) if mine else ()
                for action, probe in _SQS_PROBES.items():
                    if mine and action not in needed:
                        continue  # least privilege on its own queues is the policy pack's job
                    outcome = _outcome(partial(probe, sqs, queue.id))
                    live[principal.integration] += 1
                    problem = _judged(principal, owner, queue, action, outcome, mine)
                    if problem:
                        problems[principal.integration].append(problem)
            nameable = index.nameable(principal.policies, _SQS_PROBES)
            for owner, queue in foreign:
                evaluated[principal.integration] += len(_SQS_PROBES)
                policy = queue_policies[queue.id]
                if queue.outputs["arn"] not in nameable and not principal.granted_in(policy):
                    continue  # nothing can allow it any action on this queue
                for action in _SQS_PROBES:
                    if principal.may(action, queue.outputs["arn"], policy):
                        problems[principal.integration].append(
                            f"{principal.label} may {action} on {owner}'s queue "
                            f"{queue.outputs['name']} (evaluated)"
                        )
    return [
        _matrix_check(
            f"access-matrix:sqs:{name}",
            problems[name],
            live[name] + evaluated[name],
            f"SQS permissions ({live[name]} live calls, {evaluated[name]} evaluated)",
        )
        for name in problems
        if live[name] or evaluated[name] or problems[name]
    ]


def _judged(
    principal: _Principal, owner: str, queue: CreatedResource, action: str, outcome: str, mine: bool
) -> str | None:
    """What is wrong with one live call's outcome, if anything."""
    if outcome.startswith("error"):
        return f"{principal.label} could not call {action} on {queue.id}: {outcome}"
    if mine and outcome == "denied":
        return (
            f"{principal.label} is denied {action} on its own "
            f"{_queue_kind(owner, queue)} {queue.outputs['name']}"
        )
    if not mine and outcome == "allowed":
        return f"{principal.label} may {action} on {owner}'s queue {queue.outputs['name']}"
    return None


def _queue_policy(aws: Emulator, url: str) -> dict[str, Any] | None:
    attributes = aws.admin("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    text = attributes.get("Attributes", {}).get("Policy")
    return json.loads(text) if text else None


def _matrix_check(name: str, problems: list[str], count: int, what: str) -> Check:
    if problems:
        shown = "; ".join(problems[:5])
        more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        return Check(name, False, f"{len(problems)} of {count} {what} wrong: {shown}{more}")
    return Check(name, True, f"{count} {what} as expected (own allowed, others denied)")


def evaluated_matrix(aws: Emulator, inventory: Inventory) -> list[Check]:
    """One check per integration: its roles' policies evaluated on every secret, key and table."""
    targets = [
        (d.name, r, action)
        for d in inventory
        for type_, actions in _EVALUATED_ACTIONS.items()
        for r in d.of_type(type_)
        for action in actions
    ]
    index = ArnIndex(resource.outputs["arn"] for _, resource, _ in targets)
    actions = sorted({action for _, _, action in targets})
    context = {"aws:SecureTransport": "true", "aws:PrincipalAccount": aws.account_id}
    every = IdentityPolicies(aws)
    checks = []
    for deployed in inventory:
        problems: list[str] = []
        count = 0
        policies = {role.id: every("role", role.id) for role in deployed.roles}
        for role in deployed.roles:
            nameable = index.nameable(policies[role.id], actions)
            for owner, resource, action in targets:
                if owner == deployed.name:
                    continue
                count += 1
                arn = resource.outputs["arn"]
                # An ARN none of its statements can name is not allowed (ArnIndex).
                if arn in nameable and evaluate(policies[role.id], action, arn, context):
                    problems.append(f"role {role.id} may {action} on {owner}'s {arn}")
        problems.extend(_own_needs(deployed, policies))
        if count or problems:
            checks.append(
                _matrix_check(
                    f"access-matrix:evaluated:{deployed.name}",
                    problems,
                    count,
                    "evaluated Secrets Manager/KMS/DynamoDB permissions",
                )
            )
    return checks


def _own_needs(deployed: Deployed, policies_of: Mapping[str, list[dict[str, Any]]]) -> list[str]:
    """What the integration's own role must be able to do for its sync function to work."""
    role = deployed.role
    if role is None or (deployed.consumer is None and not deployed.of_type(DYNAMODB_TABLE)):
        return []  # phase 2 provisions no function: nothing runs with the role yet
    policies = policies_of[role.id]
    missing = []
    # Each function reads the secrets its environment names (a pusher's access key and an
    # unused signing secret: none), as itself: the ingress alone may read its signing
    # secret (lambda:SourceFunctionArn).
    by_arn = {s.outputs["arn"]: s for s in deployed.of_type(SECRETS_MANAGER_SECRET)}
    needs: list[tuple[str, CreatedResource, dict[str, str]]] = []
    for function in deployed.of_type(LAMBDA_FUNCTION):
        if function.outputs.get("role") != role.outputs.get("arn"):
            continue  # the rotator runs as the rotation role
        variables = (function.outputs.get("environment") or {}).get("variables") or {}
        caller = {"lambda:SourceFunctionArn": str(function.outputs.get("arn"))}
        needs += [
            ("secretsmanager:GetSecretValue", by_arn[v], caller)
            for v in sorted(set(variables.values()) & by_arn.keys())
        ]
    needs += [("dynamodb:PutItem", t, {}) for t in deployed.of_type(DYNAMODB_TABLE)]
    needs += [("dynamodb:GetItem", t, {}) for t in deployed.of_type(DYNAMODB_TABLE)]
    for action, resource, context in needs:
        if not evaluate(policies, action, resource.outputs["arn"], context):
            missing.append(f"role {role.id} cannot {action} on its own {resource.outputs['arn']}")
    # A pusher's access-key secret shares its IAM user's name; the pusher reads it, the
    # sync role must not.
    pushers = {u.outputs.get("name") for u in deployed.of_type(IAM_USER)}
    for secret in (s for s in by_arn.values() if s.outputs.get("name") in pushers):
        if evaluate(policies, "secretsmanager:GetSecretValue", secret.outputs["arn"]):
            missing.append(
                f"role {role.id} may read the pusher's access key in {secret.outputs['arn']}"
            )
    return missing
