"""EventBridge Scheduler: the schedules that start scheduled jobs.

Usage::

    RESOURCES[SCHEDULER_SCHEDULE].create(ctx, "quote-to-order-batch-schedule", inputs)
"""

from __future__ import annotations

from contract import aws_types
from provisioner.rehearsal.backend import base
from provisioner.rehearsal.backend.base import Created, Ctx, Inputs, Resource

__all__ = ["RESOURCES"]


def _schedule(c: Ctx, name: str, i: Inputs) -> Created:
    schedule_name = base.physical(name, i)
    group = i.get("groupName") or "default"
    window = i.get("flexibleTimeWindow") or {"mode": "OFF"}
    target = i["target"]
    dlq = target.get("deadLetterConfig") or {}
    arn = c("scheduler").create_schedule(
        **base.drop_none(
            Name=schedule_name,
            GroupName=group,
            ScheduleExpression=i["scheduleExpression"],
            ScheduleExpressionTimezone=i.get("scheduleExpressionTimezone"),
            Description=i.get("description"),
            State=i.get("state"),
            FlexibleTimeWindow=base.drop_none(
                Mode=window["mode"],
                MaximumWindowInMinutes=base.int_or_none(window, "maximumWindowInMinutes"),
            ),
            Target=base.drop_none(
                Arn=target["arn"],
                RoleArn=target["roleArn"],
                Input=target.get("input"),
                RetryPolicy=base.retry_policy(target.get("retryPolicy") or {}),
                DeadLetterConfig={"Arn": dlq["arn"]} if dlq.get("arn") else None,
            ),
        )
    )["ScheduleArn"]
    return f"{group}/{schedule_name}", base.state(i, name=schedule_name, arn=arn, groupName=group)


RESOURCES: dict[str, Resource] = {
    aws_types.SCHEDULER_SCHEDULE: Resource(
        _schedule,
        lambda c, rid, o: c("scheduler").get_schedule(Name=o["name"], GroupName=o["groupName"]),
    ),
}
