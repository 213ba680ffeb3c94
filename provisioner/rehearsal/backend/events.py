"""EventBridge: rules (a schedule or an event pattern) and their targets.

Usage::

    RESOURCES[CLOUDWATCH_EVENT_RULE].create(ctx, "quote-to-order-batch-schedule", inputs)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from contract import aws_types
from provisioner.rehearsal.backend import base
from provisioner.rehearsal.backend.base import Created, Ctx, Inputs, Outputs, Planned, Resource

__all__ = ["RESOURCES"]


def _rule(c: Ctx, name: str, i: Inputs) -> Created:
    rule_name = base.physical(name, i)
    rule_state = i.get("state")
    if rule_state is None and "isEnabled" in i:
        rule_state = "ENABLED" if i["isEnabled"] else "DISABLED"
    bus = i.get("eventBusName")
    arn = c("events").put_rule(
        **base.drop_none(
            Name=rule_name,
            ScheduleExpression=i.get("scheduleExpression"),
            EventPattern=i.get("eventPattern"),
            State=rule_state,
            Description=i.get("description"),
            RoleArn=i.get("roleArn"),
            EventBusName=bus,
            Tags=base.tag_list(i),
        )
    )["RuleArn"]
    rule_id = f"{bus}/{rule_name}" if bus and bus != "default" else rule_name
    return rule_id, base.state(i, name=rule_name, arn=arn)


def _rule_described(c: Ctx, rid: str, o: Outputs) -> object:
    bus = {"EventBusName": o["eventBusName"]} if o.get("eventBusName") else {}
    return c("events").describe_rule(Name=o["name"], **bus)


def _rules_listed(c: Ctx, planned: Sequence[Planned]) -> Iterator[str]:
    """The planned rules ListRules shows, one listing per event bus, filtered by the shared
    prefix of the rules' names on it; answered as the rules' ids (``{bus}/{name}`` off the
    default bus)."""
    buses: dict[str, list[str]] = defaultdict(list)
    for _, o in planned:
        buses[o.get("eventBusName") or "default"].append(o["name"])
    for bus, names in buses.items():
        named = base.by_prefix("NamePrefix", names)
        for name in base.pages(
            c, "events", "list_rules", "Rules[].Name", EventBusName=bus, **named
        ):
            yield name if bus == "default" else f"{bus}/{name}"


def _target(c: Ctx, name: str, i: Inputs) -> Created:
    target_id = str(i.get("targetId") or name)
    sqs = i.get("sqsTarget") or {}
    dlq = i.get("deadLetterConfig") or {}
    target = base.drop_none(
        Id=target_id,
        Arn=i["arn"],
        Input=i.get("input"),
        InputPath=i.get("inputPath"),
        RoleArn=i.get("roleArn"),
        SqsParameters={"MessageGroupId": sqs["messageGroupId"]} if sqs else None,
        DeadLetterConfig={"Arn": dlq["arn"]} if dlq.get("arn") else None,
        RetryPolicy=base.retry_policy(i.get("retryPolicy") or {}),
    )
    response = c("events").put_targets(
        **base.drop_none(Rule=i["rule"], EventBusName=i.get("eventBusName"), Targets=[target])
    )
    if response.get("FailedEntryCount"):
        raise base.CreationFailed(
            f"EventBridge refused target {target_id}: {response['FailedEntries']}"
        )
    return f"{i['rule']}-{target_id}", base.state(i, targetId=target_id)


def _target_listed(c: Ctx, rid: str, o: Outputs) -> object:
    targets = c("events").list_targets_by_rule(Rule=o["rule"])["Targets"]
    if o["targetId"] not in {t["Id"] for t in targets}:
        raise LookupError(f"target {o['targetId']} is not on rule {o['rule']}")
    return targets


RESOURCES: dict[str, Resource] = {
    aws_types.CLOUDWATCH_EVENT_RULE: Resource(_rule, _rule_described, base.listing(_rules_listed)),
    aws_types.CLOUDWATCH_EVENT_TARGET: Resource(_target, _target_listed),
}
