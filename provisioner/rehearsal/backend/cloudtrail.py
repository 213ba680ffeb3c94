"""CloudTrail: the stack's audit trail and its advanced event selectors.

Usage::

    RESOURCES[CLOUDTRAIL_TRAIL].create(ctx, "stack-audit-trail", inputs)
"""

from __future__ import annotations

from typing import Any

from contract import aws_types
from provisioner.pack_modules import pack_module
from provisioner.rehearsal.backend import base
from provisioner.rehearsal.backend.base import Created, Ctx, Inputs, Resource

__all__ = ["RESOURCES"]


def _advanced_selectors(inputs: Inputs) -> list[dict[str, Any]]:
    """pulumi-aws's `advancedEventSelectors` in the shape of the CloudTrail API.

    The operators and their API names are the pack's, which judges what a trail records.
    """
    operators = pack_module("trail_coverage").OPERATORS
    selectors = []
    for selector in inputs.get("advancedEventSelectors") or []:
        fields = []
        for fs in selector.get("fieldSelectors") or []:
            field: dict[str, Any] = {"Field": fs["field"]}
            for key, api in operators.items():
                if fs.get(key):
                    field[api] = list(fs[key])
            fields.append(field)
        selectors.append({"Name": selector.get("name", ""), "FieldSelectors": fields})
    return selectors


def _trail(c: Ctx, name: str, i: Inputs) -> Created:
    trail_name = str(i.get("name") or name)
    trail = c("cloudtrail").create_trail(
        Name=trail_name,
        S3BucketName=i["s3BucketName"],
        IsMultiRegionTrail=bool(i.get("isMultiRegionTrail")),
        IncludeGlobalServiceEvents=bool(i.get("includeGlobalServiceEvents", True)),
        EnableLogFileValidation=bool(i.get("enableLogFileValidation")),
        **base.drop_none(KmsKeyId=i.get("kmsKeyId") or None, TagsList=base.tag_list(i)),
    )
    selectors = _advanced_selectors(i)
    if selectors:
        c("cloudtrail").put_event_selectors(TrailName=trail_name, AdvancedEventSelectors=selectors)
    if i.get("enableLogging", True):
        c("cloudtrail").start_logging(Name=trail_name)
    arn = trail["TrailARN"]
    return arn, base.state(i, arn=arn, name=trail_name, homeRegion=c.region)


RESOURCES: dict[str, Resource] = {
    aws_types.CLOUDTRAIL_TRAIL: Resource(_trail, base.described("cloudtrail", "get_trail", "Name")),
}
