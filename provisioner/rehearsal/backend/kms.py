"""KMS: an integration's customer-managed key and its alias.

Usage::

    RESOURCES[KMS_KEY].create(ctx, "quote-to-order-key", inputs)
"""

from __future__ import annotations

from contract import aws_types
from provisioner.rehearsal.backend import base
from provisioner.rehearsal.backend.base import Created, Ctx, Inputs, Resource

__all__ = ["RESOURCES"]


def _key(c: Ctx, name: str, i: Inputs) -> Created:
    meta = c("kms").create_key(
        **base.drop_none(
            Description=i.get("description"),
            KeyUsage=i.get("keyUsage"),
            KeySpec=i.get("customerMasterKeySpec"),
            Policy=i.get("policy"),
            MultiRegion=i.get("multiRegion"),
            Tags=base.tag_list(i, "TagKey", "TagValue"),
        )
    )["KeyMetadata"]
    if i.get("enableKeyRotation"):
        c("kms").enable_key_rotation(
            **base.drop_none(
                KeyId=meta["KeyId"],
                RotationPeriodInDays=base.int_or_none(i, "rotationPeriodInDays") or None,
            )
        )
    return meta["KeyId"], base.state(i, arn=meta["Arn"], keyId=meta["KeyId"])


def _alias(c: Ctx, name: str, i: Inputs) -> Created:
    alias = base.physical(name, i)
    # CreateAlias refuses a key that does not exist; the key's ARN is then its id's (the
    # provider's targetKeyId is the key's ARN or id).
    target = str(i["targetKeyId"])
    c("kms").create_alias(AliasName=alias, TargetKeyId=target)
    key_arn = target if target.startswith("arn:") else c.arn("kms", f"key/{target}")
    return alias, base.state(i, name=alias, arn=c.arn("kms", alias), targetKeyArn=key_arn)


_DESCRIBED = ("describe_key", "KeyId")  # an alias is its key's too

RESOURCES: dict[str, Resource] = {
    aws_types.KMS_KEY: base.listable(_key, "kms", _DESCRIBED, ("list_keys", "Keys[].KeyId")),
    # An alias finds its key when it points at one, as DescribeKey by the alias requires.
    aws_types.KMS_ALIAS: base.listable(
        _alias, "kms", _DESCRIBED, ("list_aliases", "Aliases[?TargetKeyId].AliasName")
    ),
}
