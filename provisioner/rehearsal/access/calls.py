"""Calls a principal makes, evaluated against its policies on the resource each one names.

Usage::

    calls = EvaluatedCalls(aws, "role dev-q-rotation", role_policies(aws, "dev-q-rotation"))
    denial = calls.judge("secretsmanager", "GetSecretValue", {"SecretId": arn})
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from provisioner.pack_modules import pack_module
from provisioner.rehearsal.access.evaluation import ArnIndex, evaluate
from provisioner.rehearsal.emulator import Emulator

__all__ = ["EvaluatedCalls"]

# The KMS permission a service needs from the caller on the key of what a call names, taken
# through that service (``kms:ViaService``), per (IAM action prefix, operation): Secrets
# Manager's for a secret's value (Secrets Manager user guide, "Secret encryption and
# decryption": the caller's identity is what KMS evaluates for GetSecretValue and
# PutSecretValue on a customer-managed key), and SQS's for a receive from a queue under
# such a key (SQS developer guide, "Key management": receiving needs kms:Decrypt).
_KMS_ON_CALLERS_BEHALF = {
    ("secretsmanager", "GetSecretValue"): "kms:Decrypt",
    ("secretsmanager", "PutSecretValue"): "kms:GenerateDataKey",
    ("sqs", "ReceiveMessage"): "kms:Decrypt",
}
# Where the key of what a call names is found, by prefix: the request parameter naming it.
_KEYED_BY = {"secretsmanager": "SecretId", "sqs": "QueueUrl"}


class EvaluatedCalls:
    """Evaluates each call a principal makes against its policies, on the resource it names.

    moto's IAM enforcement checks Secrets Manager calls, and IAM calls on users, against the
    resource ``"*"`` instead of the secret's or user's ARN (and a switch of it holds for every
    caller of the emulator at once), so a correctly scoped role would be denied there.
    Instead, each call's action is evaluated on the ARN it names (and, for secret values and
    queue receives, the KMS action on its key) with ``evaluate``, the evaluator of
    the access matrix; ``judge`` answers why a denied call is refused, naming the action and
    resource (the emulator's recorder then refuses it as AWS would, and moto never serves
    it). Given the principal's ARN, a call on a secret is also judged by the secret's
    resource policy, whose explicit Deny wins over any Allow (IAM user guide, "Policy
    evaluation logic"); moto stores that policy but ignores it.

    Usage::

        calls = EvaluatedCalls(aws, "role dev-q-rotation", role_policies(aws, "dev-q-rotation"))
        with aws.recorder.judging(role_arn, calls): ...  # the role's requests, judged
        calls.evaluated  # [(action, resource), ...] in call order
    """

    def __init__(
        self,
        aws: Emulator,
        label: str,
        policies: list[dict[str, Any]],
        principal_arn: str | None = None,
    ) -> None:
        self.aws = aws
        self.label = label
        self.policies = policies
        self.principal_arn = principal_arn
        self._fences: dict[str, dict[str, Any] | None] = {}
        self.evaluated: list[tuple[str, str]] = []
        self._context = {"aws:SecureTransport": "true", "aws:PrincipalAccount": aws.account_id}
        self._arns: dict[tuple[str, str], str] = {}
        self._keys: dict[tuple[str, str], str | None] = {}

    def identity_allows(self, action: str, resource: str, via: str = "secretsmanager") -> bool:
        """What the principal's own policies allow, whatever resource policies say."""
        context = self._context
        if action.startswith("kms:"):
            # The KMS calls evaluated here are those a service (Secrets Manager by default,
            # or SQS) makes on the caller's behalf, so KMS sees them through that service
            # (KMS developer guide, "kms:ViaService"); the roles' key grants are bound to it.
            context = {**context, "kms:ViaService": f"{via}.{self.aws.region}.amazonaws.com"}
        return evaluate(self.policies, action, resource, context)

    def identity_allowed(
        self, resources: Sequence[str], actions: Sequence[str]
    ) -> list[tuple[str, str]]:
        """The (action, resource) pairs the principal's own policies allow, resource by
        resource; evaluated only on the resources a statement can name (`ArnIndex`)."""
        nameable = ArnIndex(resources).nameable(self.policies, actions)
        return [
            (action, resource)
            for resource in resources
            if resource in nameable
            for action in actions
            if self.identity_allows(action, resource)
        ]

    def allows(self, action: str, resource: str, via: str = "secretsmanager") -> bool:
        return self.identity_allows(action, resource, via) and not self._fenced(action, resource)

    def _fenced(self, action: str, resource: str) -> bool:
        """The secret's resource policy denies (or may deny) the principal this action."""
        if self.principal_arn is None or not resource.startswith("arn:aws:secretsmanager:"):
            return False
        if resource not in self._fences:
            found = self.aws.admin("secretsmanager").get_resource_policy(SecretId=resource)
            policy = found.get("ResourcePolicy")
            self._fences[resource] = json.loads(policy) if policy else None
        document = self._fences[resource]
        fence = pack_module("fence")
        return (
            document is not None and fence.denies(document, action, self.principal_arn) is not False
        )

    def judge(self, prefix: str, operation: str, params: Mapping[str, Any]) -> str | None:
        """Evaluate one call (``prefix`` the IAM action prefix, ``operation`` the API name,
        ``params`` its request parameters); None when allowed, else why it is refused. Every
        (action, resource) evaluated is appended to ``evaluated``."""
        # (action, resource, the service a KMS action is taken through): the call itself, then
        # the KMS action its service takes on the caller's behalf, if any.
        checks = [(f"{prefix}:{operation}", self._resource(prefix, params), "secretsmanager")]
        implied = _KMS_ON_CALLERS_BEHALF.get((prefix, operation))
        key = self._key_of(prefix, str(params[_KEYED_BY[prefix]])) if implied else None
        if implied and key:
            checks.append((implied, key, prefix))
        for action, resource, via in checks:
            self.evaluated.append((action, resource))
            if not self.allows(action, resource, via):
                why = (
                    "its policies, evaluated"
                    if not self.identity_allows(action, resource, via)
                    else "an explicit deny in the secret's resource policy, evaluated"
                )
                return f"{self.label} is not authorized to perform {action} on {resource} ({why})"
        return None

    def _resource(self, prefix: str, params: Mapping[str, Any]) -> str:
        if prefix == "secretsmanager" and "SecretId" in params:
            return self._lookup("secret", str(params["SecretId"]))
        if prefix == "iam" and "UserName" in params:
            return self._lookup("user", str(params["UserName"]))
        if prefix == "sqs" and "QueueUrl" in params:
            # The URL's path is /{account}/{queue name}: the queue's ARN, as AWS resolves it.
            account, _, queue = urlsplit(str(params["QueueUrl"])).path.strip("/").partition("/")
            return f"arn:aws:sqs:{self.aws.region}:{account}:{queue}"
        if prefix == "iam" and "AccessKeyId" in params:
            # A call naming only a key (GetAccessKeyLastUsed) acts on the user who owns it
            # (Service Authorization Reference, IAM: resource type "user").
            return self._lookup("key-owner", str(params["AccessKeyId"]))
        return "*"

    def _lookup(self, kind: str, name: str) -> str:
        """The ARN of a secret (by name or ARN), a user, or a key's user, read as the deployer;
        cached."""
        if (kind, name) not in self._arns:
            try:
                if kind == "secret":
                    arn = self.aws.admin("secretsmanager").describe_secret(SecretId=name)["ARN"]
                elif kind == "key-owner":
                    owner = self.aws.admin("iam").get_access_key_last_used(AccessKeyId=name)
                    arn = self.aws.admin("iam").get_user(UserName=owner["UserName"])["User"]["Arn"]
                else:
                    arn = self.aws.admin("iam").get_user(UserName=name)["User"]["Arn"]
            except ClientError:
                arn = name  # evaluated as named; the call itself will fail as not found
            self._arns[(kind, name)] = arn
        return str(self._arns[(kind, name)])

    def _key_of(self, prefix: str, name: str) -> str | None:
        """The ARN of the customer-managed key of a secret (``secretsmanager``, by id) or a
        queue (``sqs``, by URL); None for an AWS-managed key or none; cached."""
        if (prefix, name) not in self._keys:
            if prefix == "secretsmanager":
                meta = self.aws.admin("secretsmanager").describe_secret(SecretId=name)
                key_id = meta.get("KmsKeyId")
            else:
                found = self.aws.admin("sqs").get_queue_attributes(
                    QueueUrl=name, AttributeNames=["KmsMasterKeyId"]
                )
                key_id = found.get("Attributes", {}).get("KmsMasterKeyId")
            managed = not key_id or str(key_id).startswith("alias/aws/")
            self._keys[(prefix, name)] = (
                None
                if managed
                else str(self.aws.admin("kms").describe_key(KeyId=key_id)["KeyMetadata"]["Arn"])
            )
        return self._keys[(prefix, name)]
