"""SQS: queues, and the access, redrive and redrive-allow policies set on them afterwards.

Usage::

    RESOURCES[SQS_QUEUE].create(ctx, "quote-to-order-queue", {"fifoQueue": True, ...})
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from contract import aws_types
from provisioner.rehearsal.backend import base
from provisioner.rehearsal.backend.base import Create, Created, Ctx, Find, Inputs, Outputs, Resource

__all__ = ["RESOURCES"]

# The queue attributes pulumi-aws takes (SQS API reference, CreateQueue "Attributes"), and
# those SQS names otherwise than the input in PascalCase.
_QUEUE_ATTRIBUTES = (
    "delaySeconds",
    "fifoQueue",
    "contentBasedDeduplication",
    "deduplicationScope",
    "fifoThroughputLimit",
    "kmsMasterKeyId",
    "kmsDataKeyReusePeriodSeconds",
    "sqsManagedSseEnabled",
    "redrivePolicy",
    "redriveAllowPolicy",
    "policy",
)
_RENAMED = {
    "visibilityTimeoutSeconds": "VisibilityTimeout",
    "messageRetentionSeconds": "MessageRetentionPeriod",
    "maxMessageSize": "MaximumMessageSize",
    "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
}


def _queue(c: Ctx, name: str, i: Inputs) -> Created:
    queue_name = base.physical(name, i)
    attributes = base.attributes(i, _QUEUE_ATTRIBUTES, _RENAMED)
    if not i.get("fifoQueue"):
        # SQS rejects FIFO-only attributes on standard queues, even when "false".
        attributes.pop("FifoQueue", None)
        attributes.pop("ContentBasedDeduplication", None)
    url = c("sqs").create_queue(
        **base.drop_none(QueueName=queue_name, Attributes=attributes, tags=base.tags(i))
    )["QueueUrl"]
    arn = c.arn("sqs", queue_name)
    return url, base.state(i, name=queue_name, arn=arn, url=url)


def _set_on_queue(input_name: str, attribute: str) -> Create:
    """A policy set on an existing queue: SetQueueAttributes that keeps the access policy.

    moto 5.2.5 clears ``Policy`` on every SetQueueAttributes call that does not carry it
    (``Queue._set_attributes``), which AWS does not; the current one is re-sent alongside.
    """

    def apply(c: Ctx, i: Inputs) -> None:
        url = i["queueUrl"]
        attributes = {attribute: i[input_name]}
        if attribute != "Policy":
            current = c("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
            policy = current.get("Attributes", {}).get("Policy")
            if policy:
                attributes["Policy"] = policy
        c("sqs").set_queue_attributes(QueueUrl=url, Attributes=attributes)

    return base.setting("queueUrl", apply)


def _attribute_set(attribute: str) -> Find:
    def find(c: Ctx, rid: str, o: Outputs) -> object:
        got = c("sqs").get_queue_attributes(QueueUrl=rid, AttributeNames=[attribute])
        if attribute not in got.get("Attributes", {}):
            raise LookupError(f"{rid} has no {attribute}")
        return got

    return find


def _queue_listed(c: Ctx, rid: str, o: Outputs) -> object:
    return c("sqs").get_queue_attributes(QueueUrl=rid, AttributeNames=["QueueArn"])


def _queue_urls(c: Ctx, planned: Sequence[base.Planned]) -> Iterator[str]:
    """The URLs of the queues named like the planned ones (each id is its queue's URL).

    Without MaxResults, ListQueues answers at most 1,000 queues and no NextToken (SQS
    developer guide, "Amazon SQS list queue pagination"), in AWS as in moto 5.2.5: with it,
    the paginator follows every page.
    """
    named = base.by_prefix("QueueNamePrefix", (rid.rsplit("/", 1)[-1] for rid, _ in planned))
    yield from base.pages(c, "sqs", "list_queues", "QueueUrls[]", MaxResults=1000, **named)


RESOURCES: dict[str, Resource] = {
    aws_types.SQS_QUEUE: Resource(_queue, _queue_listed, base.listing(_queue_urls)),
    aws_types.SQS_QUEUE_POLICY: Resource(
        _set_on_queue("policy", "Policy"), _attribute_set("Policy")
    ),
    aws_types.SQS_REDRIVE_POLICY: Resource(
        _set_on_queue("redrivePolicy", "RedrivePolicy"), _attribute_set("RedrivePolicy")
    ),
    # moto 5.2.5 stores RedriveAllowPolicy but does not report it: the queue must exist.
    aws_types.SQS_REDRIVE_ALLOW_POLICY: Resource(
        _set_on_queue("redriveAllowPolicy", "RedriveAllowPolicy"),
        _queue_listed,
        base.listing(_queue_urls),
    ),
}
