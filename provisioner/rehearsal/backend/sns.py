"""SNS: an integration's alert topic, its subscriptions and its access policy.

Usage::

    RESOURCES[SNS_TOPIC].create(ctx, "quote-to-order-alerts", inputs)
"""

from __future__ import annotations

from contract import aws_types
from provisioner.rehearsal.backend import base
from provisioner.rehearsal.backend.base import Created, Ctx, Inputs, Outputs, Resource

__all__ = ["RESOURCES"]

# The topic attributes pulumi-aws takes (SNS API reference, CreateTopic "Attributes").
_TOPIC_ATTRIBUTES = (
    "kmsMasterKeyId",
    "fifoTopic",
    "contentBasedDeduplication",
    "displayName",
    "policy",
)


def _topic(c: Ctx, name: str, i: Inputs) -> Created:
    topic_name = base.physical(name, i)
    attributes = base.attributes(i, _TOPIC_ATTRIBUTES, unset=(None, "", False))
    arn = c("sns").create_topic(
        **base.drop_none(Name=topic_name, Attributes=attributes, Tags=base.tag_list(i))
    )["TopicArn"]
    return arn, base.state(i, name=topic_name, arn=arn, owner=c.account)


def _subscription(c: Ctx, name: str, i: Inputs) -> Created:
    attributes = base.drop_none(
        RawMessageDelivery=base.attribute_value(i["rawMessageDelivery"])
        if "rawMessageDelivery" in i
        else None,
        FilterPolicy=i.get("filterPolicy"),
    )
    arn = c("sns").subscribe(
        **base.drop_none(
            TopicArn=i["topic"],
            Protocol=i["protocol"],
            Endpoint=i["endpoint"],
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )
    )["SubscriptionArn"]
    return arn, base.state(i, arn=arn)


def _policy(c: Ctx, i: Inputs) -> object:
    return c("sns").set_topic_attributes(
        TopicArn=i["arn"], AttributeName="Policy", AttributeValue=i["policy"]
    )


def _policy_set(c: Ctx, rid: str, o: Outputs) -> object:
    return c("sns").get_topic_attributes(TopicArn=rid)["Attributes"]["Policy"]


RESOURCES: dict[str, Resource] = {
    aws_types.SNS_TOPIC: base.listable(
        _topic, "sns", ("get_topic_attributes", "TopicArn"), ("list_topics", "Topics[].TopicArn")
    ),
    # A subscription pending confirmation is listed without its ARN: its lookup decides.
    aws_types.SNS_TOPIC_SUBSCRIPTION: base.listable(
        _subscription,
        "sns",
        ("get_subscription_attributes", "SubscriptionArn"),
        ("list_subscriptions", "Subscriptions[].SubscriptionArn"),
    ),
    aws_types.SNS_TOPIC_POLICY: Resource(base.setting("arn", _policy), _policy_set),
}
