"""Secrets Manager: credential secrets, their versions, rotation and resource policy (fence).

Usage::

    RESOURCES[SECRETS_MANAGER_SECRET].create(ctx, "quote-to-order-cred-netsuite", inputs)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from contract import aws_types
from provisioner.rehearsal.backend import base
from provisioner.rehearsal.backend.base import Created, Ctx, Inputs, Outputs, Planned, Resource

__all__ = ["RESOURCES"]


def _secret(c: Ctx, name: str, i: Inputs) -> Created:
    secret = c("secretsmanager").create_secret(
        **base.drop_none(
            Name=base.physical(name, i),
            Description=i.get("description"),
            KmsKeyId=i.get("kmsKeyId"),
            Tags=base.tag_list(i),
        )
    )
    if i.get("policy"):
        c("secretsmanager").put_resource_policy(SecretId=secret["ARN"], ResourcePolicy=i["policy"])
    return secret["ARN"], base.state(i, name=secret["Name"], arn=secret["ARN"])


def _version(c: Ctx, name: str, i: Inputs) -> Created:
    version = c("secretsmanager").put_secret_value(
        **base.drop_none(
            SecretId=i["secretId"],
            SecretString=i.get("secretString"),
            SecretBinary=i.get("secretBinary"),
            VersionStages=list(i.get("versionStages") or []) or None,
        )
    )
    return f"{version['ARN']}|{version['VersionId']}", base.state(
        i,
        arn=version["ARN"],
        versionId=version["VersionId"],
        versionStages=version.get("VersionStages", ["AWSCURRENT"]),
    )


def _rotation(c: Ctx, name: str, i: Inputs) -> Created:
    rules = i.get("rotationRules") or {}
    sm = c("secretsmanager")
    # Configure without rotating: moto cannot run the rotation function, and a rotation that
    # moto "completes" without it would leave an empty AWSCURRENT version. The rotation
    # check sends the steps to the deployed function instead (rehearsal/secrets_rotation.py).
    sm.rotate_secret(
        SecretId=i["secretId"],
        RotationLambdaARN=i["rotationLambdaArn"],
        RotationRules=base.drop_none(
            AutomaticallyAfterDays=base.int_or_none(rules, "automaticallyAfterDays"),
            ScheduleExpression=rules.get("scheduleExpression"),
            Duration=rules.get("duration"),
        ),
        RotateImmediately=False,
    )
    # Secrets Manager's configuration test "creates an AWSPENDING version of the secret and
    # then removes it" (RotateSecret API reference, RotateImmediately); moto keeps it.
    stages = sm.describe_secret(SecretId=i["secretId"]).get("VersionIdsToStages", {})
    for version_id, labels in stages.items():
        if "AWSPENDING" in labels and "AWSCURRENT" not in labels:
            sm.update_secret_version_stage(
                SecretId=i["secretId"], VersionStage="AWSPENDING", RemoveFromVersionId=version_id
            )
    return str(i["secretId"]), base.state(i, rotationEnabled=True)


def _rotation_on(c: Ctx, rid: str, o: Outputs) -> object:
    secret = c("secretsmanager").describe_secret(SecretId=rid)
    if not secret.get("RotationEnabled"):
        raise LookupError(f"rotation is not enabled on {rid}")
    return secret


def _name(secret_id: str) -> str:
    """A secret's name from its id: "Secrets Manager automatically adds a hyphen and six
    random characters after the secret name at the end of the ARN" (Secrets Manager API
    reference, CreateSecret, Name)."""
    if not secret_id.startswith("arn:"):
        return secret_id
    return secret_id.split(":secret:", 1)[-1].rsplit("-", 1)[0]


def _listed(
    secret_of: Callable[[str, Outputs], str],
    seen: Callable[[Mapping[str, Any]], Iterator[str]],
    identity: Callable[[str, Outputs], str] = lambda rid, o: rid,
) -> base.Listed:
    """What ListSecrets shows of the planned resources, filtered by their secrets' shared
    name prefix (``secret_of`` gives a resource's secret id); ``seen`` answers what one
    listed secret shows (by ARN and by name, as a secret id may be either)."""

    def read(c: Ctx, planned: Sequence[Planned]) -> Iterator[str]:
        names = [_name(secret_of(rid, o)) for rid, o in planned]
        # The "name" filter matches names by prefix (Secrets Manager API reference, Filter).
        named = base.by_prefix("name", names)
        filters = [{"Key": "name", "Values": [named["name"]]}] if named else []
        for secret in base.pages(
            c, "secretsmanager", "list_secrets", "SecretList[]", Filters=filters
        ):
            yield from seen(secret)

    return base.listing(read, identity)


def _ids(secret: Mapping[str, Any]) -> tuple[str, str]:
    return secret["ARN"], secret["Name"]


def _versions(secret: Mapping[str, Any]) -> Iterator[str]:
    """Each version of the secret that carries a staging label: ListSecrets shows "the
    currently assigned" labels (Secrets Manager API reference, SecretListEntry), and moto
    5.2.5 also lists versions with none, which AWS deprecates; their own lookup decides."""
    for version, stages in (secret.get("SecretVersionsToStages") or {}).items():
        if stages:
            yield from (f"{secret_id}|{version}" for secret_id in _ids(secret))


def _rotating(secret: Mapping[str, Any]) -> Iterator[str]:
    if secret.get("RotationEnabled"):
        yield from _ids(secret)


RESOURCES: dict[str, Resource] = {
    aws_types.SECRETS_MANAGER_SECRET: Resource(
        _secret,
        base.described("secretsmanager", "describe_secret", "SecretId"),
        _listed(lambda rid, o: rid, lambda secret: iter(_ids(secret))),
    ),
    aws_types.SECRETS_MANAGER_SECRET_VERSION: Resource(
        _version,
        lambda c, rid, o: c("secretsmanager").get_secret_value(
            SecretId=o["secretId"], VersionId=o["versionId"]
        ),
        _listed(
            lambda rid, o: str(o["secretId"]),
            _versions,
            lambda rid, o: f"{o['secretId']}|{o['versionId']}",
        ),
    ),
    aws_types.SECRETS_MANAGER_SECRET_ROTATION: Resource(
        _rotation, _rotation_on, _listed(lambda rid, o: rid, _rotating)
    ),
    aws_types.SECRETS_MANAGER_SECRET_POLICY: Resource(
        base.setting(
            "secretArn",
            lambda c, i: c("secretsmanager").put_resource_policy(
                SecretId=i["secretArn"], ResourcePolicy=i["policy"]
            ),
        ),
        lambda c, rid, o: c("secretsmanager").get_resource_policy(SecretId=rid)["ResourcePolicy"],
    ),
}
