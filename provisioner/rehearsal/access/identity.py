"""Who a principal is in the emulator: its temporary credentials and its identity policies.

Usage::

    credentials = assume(aws, role_arn)
    documents = identity_policies(aws, "role", "dev-quote-to-order-role")
    every = IdentityPolicies(aws)  # all at once: every("role", "dev-quote-to-order-role")
    sqs = SigningClient(aws, "sqs"); sqs.sign_as(credentials).send_message(...)
"""

from __future__ import annotations

import json
from typing import Any

from provisioner.rehearsal.emulator import Emulator

__all__ = [
    "Credentials",
    "IdentityPolicies",
    "SigningClient",
    "assume",
    "identity_policies",
    "role_policies",
]

Credentials = dict[str, str]


def assume(aws: Emulator, role_arn: str, session: str = "rehearsal") -> Credentials:
    """Temporary credentials for ``role_arn`` from the emulator's STS."""
    # Assumed while enforcement is off: the roles trust lambda.amazonaws.com, not a person,
    # exactly as in AWS; what is under test is what the credentials may do afterwards.
    creds = aws.admin("sts").assume_role(RoleArn=role_arn, RoleSessionName=session)["Credentials"]
    return {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }


def identity_policies(aws: Emulator, kind: str, name: str) -> list[dict[str, Any]]:
    """Every identity policy document of a ``role`` or ``user`` (inline and attached), read
    back from the emulator."""
    iam = aws.admin("iam")
    principal = {f"{kind.capitalize()}Name": name}
    documents: list[Any] = [
        getattr(iam, f"get_{kind}_policy")(**principal, PolicyName=policy)["PolicyDocument"]
        for policy in getattr(iam, f"list_{kind}_policies")(**principal)["PolicyNames"]
    ]
    listed = getattr(iam, f"list_attached_{kind}_policies")(**principal)["AttachedPolicies"]
    documents += [_default_version(iam, attached["PolicyArn"]) for attached in listed]
    return [_parsed(d) for d in documents]


class IdentityPolicies:
    """Every role's and user's identity policy documents, read as `identity_policies` reads
    one principal's, but all in the few pages of GetAccountAuthorizationDetails instead of
    four calls or more a principal.

    A managed policy the answer does not hold (an AWS managed one) is read on its own, and
    so is a principal it does not list (IAM is eventually consistent).

    Usage::

        policies = IdentityPolicies(aws)
        policies("role", "dev-quote-to-order-role")
    """

    def __init__(self, aws: Emulator) -> None:
        self._aws = aws
        iam = aws.admin("iam")
        pages = iam.get_paginator("get_account_authorization_details").paginate(
            Filter=["Role", "User", "LocalManagedPolicy"]
        )
        details: list[tuple[str, dict[str, Any]]] = []
        managed: dict[str, Any] = {}
        for page in pages:
            details += [("role", d) for d in page.get("RoleDetailList", [])]
            details += [("user", d) for d in page.get("UserDetailList", [])]
            for policy in page.get("Policies", []):
                for version in policy.get("PolicyVersionList", []):
                    if version["IsDefaultVersion"]:
                        managed[policy["Arn"]] = version["Document"]
        self._read: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for kind, detail in details:
            title = kind.capitalize()
            documents = [p["PolicyDocument"] for p in detail.get(f"{title}PolicyList") or []]
            for attached in detail.get("AttachedManagedPolicies") or []:
                arn = attached["PolicyArn"]
                documents.append(managed[arn] if arn in managed else _default_version(iam, arn))
            self._read[(kind, detail[f"{title}Name"])] = [_parsed(d) for d in documents]

    def __call__(self, kind: str, name: str) -> list[dict[str, Any]]:
        """The identity policy documents of the ``role`` or ``user`` named ``name``."""
        if (kind, name) not in self._read:
            self._read[(kind, name)] = identity_policies(self._aws, kind, name)
        return self._read[(kind, name)]


def _default_version(iam: Any, policy_arn: str) -> Any:
    """The document of a managed policy's default version."""
    policy = iam.get_policy(PolicyArn=policy_arn)["Policy"]
    version = iam.get_policy_version(PolicyArn=policy_arn, VersionId=policy["DefaultVersionId"])
    return version["PolicyVersion"]["Document"]


def _parsed(document: Any) -> dict[str, Any]:
    # botocore decodes IAM's URL-encoded documents; one that stayed text is parsed here.
    return json.loads(document) if isinstance(document, str) else dict(document)


def role_policies(aws: Emulator, role_name: str) -> list[dict[str, Any]]:
    """Every identity policy document of the role (inline and attached), from the emulator."""
    return identity_policies(aws, "role", role_name)


class SigningClient:
    """One client of the emulator for a service that signs as the principal last named.

    A boto3 client costs ~10 ms to make (it copies its session's event hooks), and the
    access matrix calls SQS as each of a roadmap's principals in turn: one client whose
    credentials are switched replaces one client, and one session, per principal.

    The seam: botocore 1.44.8 signs each request with the Credentials object of the
    session the client came from, frozen as it signs (``RequestSigner.get_auth_instance``
    calls its ``get_frozen_credentials``), which is how refreshed credentials reach a
    client; `sign_as` sets that object's public keys. Not thread-safe: the matrix calls
    from one thread. `tests/test_rehearsal_access_matrix.py` fails if an upgrade changes it.

    Usage::

        sqs = SigningClient(aws, "sqs")
        sqs.sign_as(credentials).get_queue_attributes(QueueUrl=url)
    """

    def __init__(self, aws: Emulator, service: str) -> None:
        session = aws.session()
        self._credentials = session.get_credentials()
        # The emulator's own client settings (endpoint, timeouts, no retries), as every
        # client of the rehearsal has them.
        self._client = session.client(
            service, endpoint_url=aws.endpoint, config=aws.admin(service).meta.config
        )

    def sign_as(self, credentials: Credentials) -> Any:
        """The client, signing as ``credentials`` from now on."""
        self._credentials.access_key = credentials["aws_access_key_id"]
        self._credentials.secret_key = credentials["aws_secret_access_key"]
        self._credentials.token = credentials.get("aws_session_token")
        return self._client
