"""Creators and finders for what only a warehouse pipeline's stage adds to the S3 resources of
`trail_creators` (bucket, public access block, encryption, lifecycle, policy): its object
ownership controls and its event notification, registered into `creators.CREATORS` and
`FINDERS`.

Usage::

    from provisioner.rehearsal.stage_creators import STAGE_CREATORS, STAGE_FINDERS
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from provisioner.rehearsal.creators import Ctx

__all__ = ["STAGE_CREATORS", "STAGE_FINDERS"]

Inputs = Mapping[str, Any]
Outputs = dict[str, Any]

OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"


def _ownership(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    rule = i.get("rule") or {}
    c("s3").put_bucket_ownership_controls(
        Bucket=i["bucket"],
        OwnershipControls={"Rules": [{"ObjectOwnership": rule.get("objectOwnership")}]},
    )
    return str(i["bucket"]), dict(i)


def _notification(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    queues = [
        {
            "Id": q.get("id") or f"queue-{n}",
            "QueueArn": q["queueArn"],
            "Events": list(q["events"]),
            **(
                {
                    "Filter": {
                        "Key": {"FilterRules": [{"Name": "prefix", "Value": q["filterPrefix"]}]}
                    }
                }
                if q.get("filterPrefix")
                else {}
            ),
        }
        for n, q in enumerate(i.get("queues") or [])
    ]
    c("s3").put_bucket_notification_configuration(
        Bucket=i["bucket"],
        NotificationConfiguration={"QueueConfigurations": queues},
        # The pipe's queue belongs to Snowflake's account: S3 cannot send it a test event
        # from this one (S3 API reference, PutBucketNotificationConfiguration:
        # SkipDestinationValidation).
        SkipDestinationValidation=True,
    )
    return str(i["bucket"]), dict(i)


STAGE_CREATORS: dict[str, Callable[[Ctx, str, Inputs], tuple[str, Outputs]]] = {
    OWNERSHIP: _ownership,
    NOTIFICATION: _notification,
}

STAGE_FINDERS: dict[str, Callable[[Ctx, str, Outputs], object]] = {
    OWNERSHIP: lambda c, rid, o: c("s3").get_bucket_ownership_controls(Bucket=rid)[
        "OwnershipControls"
    ]["Rules"][0]["ObjectOwnership"],
    NOTIFICATION: lambda c, rid, o: c("s3").get_bucket_notification_configuration(Bucket=rid)[
        "QueueConfigurations"
    ],
}
