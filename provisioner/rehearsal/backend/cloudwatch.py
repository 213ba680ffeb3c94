"""CloudWatch: metric alarms, dashboards and (CloudWatch Logs) log groups.

Usage::

    RESOURCES[CLOUDWATCH_METRIC_ALARM].create(ctx, "quote-to-order-alarm-dlq-depth", inputs)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from contract import aws_types
from provisioner.rehearsal.backend import base
from provisioner.rehearsal.backend.base import Created, Ctx, Inputs, Outputs, Planned, Resource

__all__ = ["RESOURCES"]


def _dimensions(dimensions: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return [{"Name": k, "Value": v} for k, v in (dimensions or {}).items()]


def _metric(query: Mapping[str, Any]) -> dict[str, Any]:
    """One of an alarm's ``metricQueries`` (a metric or a math expression) as the API takes it."""
    metric = query.get("metric")
    stat = None
    if metric:
        stat = base.drop_none(
            Metric=base.drop_none(
                Namespace=metric.get("namespace"),
                MetricName=metric.get("metricName"),
                Dimensions=_dimensions(metric.get("dimensions")),
            ),
            Period=base.as_int(metric["period"]),
            Stat=metric["stat"],
            Unit=metric.get("unit"),
        )
    return base.drop_none(
        Id=query["id"],
        Expression=query.get("expression"),
        Label=query.get("label"),
        ReturnData=query.get("returnData"),
        Period=base.as_int(query["period"]) if query.get("period") else None,
        MetricStat=stat,
    )


def _metric_alarm(c: Ctx, name: str, i: Inputs) -> Created:
    alarm_name = base.physical(name, i)
    c("cloudwatch").put_metric_alarm(
        **base.drop_none(
            AlarmName=alarm_name,
            AlarmDescription=i.get("alarmDescription"),
            ActionsEnabled=i.get("actionsEnabled"),
            AlarmActions=list(i.get("alarmActions") or []),
            OKActions=list(i.get("okActions") or []),
            InsufficientDataActions=list(i.get("insufficientDataActions") or []),
            MetricName=i.get("metricName"),
            Namespace=i.get("namespace"),
            Statistic=i.get("statistic"),
            ExtendedStatistic=i.get("extendedStatistic"),
            Dimensions=_dimensions(i.get("dimensions")),
            Period=base.int_or_none(i, "period"),
            Unit=i.get("unit"),
            EvaluationPeriods=base.as_int(i["evaluationPeriods"]),
            DatapointsToAlarm=base.int_or_none(i, "datapointsToAlarm"),
            Threshold=float(i["threshold"]) if "threshold" in i else None,
            ComparisonOperator=i["comparisonOperator"],
            TreatMissingData=i.get("treatMissingData"),
            EvaluateLowSampleCountPercentile=i.get("evaluateLowSampleCountPercentile"),
            Metrics=[_metric(q) for q in i.get("metricQueries") or []],
            ThresholdMetricId=i.get("thresholdMetricId"),
            Tags=base.tag_list(i),
        )
    )
    return alarm_name, base.state(
        i, name=alarm_name, arn=c.arn("cloudwatch", f"alarm:{alarm_name}")
    )


def _alarm_listed(c: Ctx, rid: str, o: Outputs) -> object:
    alarms = c("cloudwatch").describe_alarms(AlarmNames=[rid])["MetricAlarms"]
    if not alarms:
        raise LookupError(f"no alarm named {rid}")
    return alarms


# DescribeAlarms takes at most 100 AlarmNames (CloudWatch API reference, DescribeAlarms).
_ALARM_NAMES_PER_CALL = 100


def _alarm_names(c: Ctx, planned: Sequence[Planned]) -> Iterator[str]:
    """The planned alarms' names that DescribeAlarms knows, asked by name, 100 at a time."""
    names = [rid for rid, _ in planned]
    for start in range(0, len(names), _ALARM_NAMES_PER_CALL):
        chunk = names[start : start + _ALARM_NAMES_PER_CALL]
        yield from base.pages(
            c, "cloudwatch", "describe_alarms", "MetricAlarms[].AlarmName", AlarmNames=chunk
        )


def _by_prefix(service: str, operation: str, path: str, prefix: str) -> base.Listed:
    """A listing filtered by the planned names' shared prefix (the ids are the names)."""

    def read(c: Ctx, planned: Sequence[Planned]) -> Iterator[str]:
        named = base.by_prefix(prefix, (rid for rid, _ in planned))
        return base.pages(c, service, operation, path, **named)

    return base.listing(read)


def _dashboard(c: Ctx, name: str, i: Inputs) -> Created:
    dashboard_name = base.physical(name, i, "dashboardName")
    c("cloudwatch").put_dashboard(DashboardName=dashboard_name, DashboardBody=i["dashboardBody"])
    arn = c.arn("cloudwatch", f"dashboard/{dashboard_name}", region=False)
    return dashboard_name, base.state(i, dashboardName=dashboard_name, dashboardArn=arn)


def _log_group(c: Ctx, name: str, i: Inputs) -> Created:
    group = base.physical(name, i)
    c("logs").create_log_group(
        **base.drop_none(
            logGroupName=group,
            kmsKeyId=i.get("kmsKeyId"),
            tags=base.tags(i),
            logGroupClass=i.get("logGroupClass"),
        )
    )
    if i.get("retentionInDays"):
        c("logs").put_retention_policy(
            logGroupName=group, retentionInDays=base.as_int(i["retentionInDays"])
        )
    return group, base.state(i, name=group, arn=c.arn("logs", f"log-group:{group}"))


def _log_group_listed(c: Ctx, rid: str, o: Outputs) -> object:
    groups = c("logs").describe_log_groups(logGroupNamePrefix=rid)["logGroups"]
    if rid not in {g["logGroupName"] for g in groups}:
        raise LookupError(f"no log group named {rid}")
    return groups


RESOURCES: dict[str, Resource] = {
    aws_types.CLOUDWATCH_METRIC_ALARM: Resource(
        _metric_alarm, _alarm_listed, base.listing(_alarm_names)
    ),
    aws_types.CLOUDWATCH_DASHBOARD: Resource(
        _dashboard,
        base.described("cloudwatch", "get_dashboard", "DashboardName"),
        _by_prefix(
            "cloudwatch",
            "list_dashboards",
            "DashboardEntries[].DashboardName",
            "DashboardNamePrefix",
        ),
    ),
    aws_types.CLOUDWATCH_LOG_GROUP: Resource(
        _log_group,
        _log_group_listed,
        _by_prefix("logs", "describe_log_groups", "logGroups[].logGroupName", "logGroupNamePrefix"),
    ),
}
