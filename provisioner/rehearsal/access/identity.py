"""Who a principal is in the emulator: its temporary credentials and its identity policies.

Usage::

    credentials = assume(aws, role_arn)
    documents = identity_policies(aws, "role", "dev-quote-to-order-role")
"""

from __future__ import annotations

import json
from typing import Any

from provisioner.rehearsal.emulator import Emulator

__all__ = ["Credentials", "assume", "identity_policies", "role_policies"]

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
    for attached in listed:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(
            PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
        )
        documents.append(version["PolicyVersion"]["Document"])
    return [json.loads(d) if isinstance(d, str) else d for d in documents]


def role_policies(aws: Emulator, role_name: str) -> list[dict[str, Any]]:
    """Every identity policy document of the role (inline and attached), from the emulator."""
    return identity_policies(aws, "role", role_name)
