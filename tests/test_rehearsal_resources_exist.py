"""Every planned resource exists in the emulator: each type read with its list calls, and a
resource missing from the emulator named with its type, whichever type it is."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from components._scope import LAMBDA_TRUST_POLICY, policy_document
from contract.aws_types import (
    CLOUDWATCH_DASHBOARD,
    CLOUDWATCH_EVENT_RULE,
    CLOUDWATCH_LOG_GROUP,
    CLOUDWATCH_METRIC_ALARM,
    DYNAMODB_TABLE,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    KMS_ALIAS,
    KMS_KEY,
    SECRETS_MANAGER_SECRET,
    SECRETS_MANAGER_SECRET_VERSION,
    SNS_TOPIC,
    SNS_TOPIC_SUBSCRIPTION,
    SQS_QUEUE,
)
from provisioner.rehearsal.backend import AwsCreator
from provisioner.rehearsal.backend.registry import RESOURCES
from provisioner.rehearsal.emulator import Emulator
from provisioner.rehearsal.runner import _resources_exist

pytestmark = pytest.mark.slow

INTEGRATIONS = ("quote-to-order", "invoice-sync")


@pytest.fixture
def aws() -> Any:
    with Emulator(region="eu-west-1", account_id="111111111111") as emulator:
        yield emulator


def _integration(creator: AwsCreator, name: str) -> None:
    """One integration's resources of the types that have a list call, as the program names
    them (``dev-{integration}-{role}``)."""
    physical = f"dev-{name}"
    _, queue = creator.create(SQS_QUEUE, f"{name}-queue", {"name": f"{physical}-queue"})
    key_id, _ = creator.create(KMS_KEY, f"{name}-key", {"description": name})
    creator.create(
        KMS_ALIAS, f"{name}-key-alias", {"name": f"alias/{physical}", "targetKeyId": key_id}
    )
    secret, _ = creator.create(
        SECRETS_MANAGER_SECRET, f"{name}-cred", {"name": f"{physical}-cred", "kmsKeyId": key_id}
    )
    creator.create(
        SECRETS_MANAGER_SECRET_VERSION,
        f"{name}-cred-version",
        {"secretId": secret, "secretString": json.dumps({"kind": "api_key"})},
    )
    role, _ = creator.create(
        IAM_ROLE, f"{name}-role", {"name": physical, "assumeRolePolicy": LAMBDA_TRUST_POLICY}
    )
    statement = {"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": queue["arn"]}
    creator.create(
        IAM_ROLE_POLICY,
        f"{name}-role-policy",
        {
            "role": role,
            "name": "sync",
            "policy": policy_document([statement]),
        },
    )
    creator.create(CLOUDWATCH_LOG_GROUP, f"{name}-logs", {"name": f"/aws/lambda/{physical}"})
    creator.create(
        CLOUDWATCH_METRIC_ALARM,
        f"{name}-alarm-dlq-depth",
        {
            "name": f"{physical}-dlq-depth",
            "namespace": "AWS/SQS",
            "metricName": "ApproximateNumberOfMessagesVisible",
            "statistic": "Maximum",
            "period": 60,
            "evaluationPeriods": 1,
            "threshold": 0,
            "comparisonOperator": "GreaterThanThreshold",
        },
    )
    creator.create(
        CLOUDWATCH_DASHBOARD,
        f"{name}-dashboard",
        {"dashboardName": physical, "dashboardBody": json.dumps({"widgets": []})},
    )
    creator.create(
        DYNAMODB_TABLE,
        f"{name}-state",
        {
            "name": f"{physical}-state",
            "hashKey": "pk",
            "attributes": [{"name": "pk", "type": "S"}],
            "billingMode": "PAY_PER_REQUEST",
        },
    )
    topic, _ = creator.create(SNS_TOPIC, f"{name}-alerts", {"name": f"{physical}-alerts"})
    creator.create(
        SNS_TOPIC_SUBSCRIPTION,
        f"{name}-alerts-queue",
        {"topic": topic, "protocol": "sqs", "endpoint": queue["arn"]},
    )
    creator.create(
        CLOUDWATCH_EVENT_RULE,
        f"{name}-schedule",
        {"name": f"{physical}-schedule", "scheduleExpression": "rate(1 hour)"},
    )


def _deployed(aws: Emulator) -> AwsCreator:
    creator = AwsCreator(aws)
    for name in INTEGRATIONS:
        _integration(creator, name)
    return creator


# How a person (or a bug) removes a resource of each type behind the rehearsal's back.
_DELETE: dict[str, Callable[[Emulator, str, dict[str, Any]], object]] = {
    SQS_QUEUE: lambda aws, rid, o: aws.admin("sqs").delete_queue(QueueUrl=rid),
    KMS_ALIAS: lambda aws, rid, o: aws.admin("kms").delete_alias(AliasName=rid),
    SECRETS_MANAGER_SECRET: lambda aws, rid, o: aws.admin("secretsmanager").delete_secret(
        SecretId=rid, ForceDeleteWithoutRecovery=True
    ),
    IAM_ROLE_POLICY: lambda aws, rid, o: aws.admin("iam").delete_role_policy(
        RoleName=o["role"], PolicyName=o["name"]
    ),
    CLOUDWATCH_LOG_GROUP: lambda aws, rid, o: aws.admin("logs").delete_log_group(logGroupName=rid),
    CLOUDWATCH_METRIC_ALARM: lambda aws, rid, o: aws.admin("cloudwatch").delete_alarms(
        AlarmNames=[rid]
    ),
    CLOUDWATCH_DASHBOARD: lambda aws, rid, o: aws.admin("cloudwatch").delete_dashboards(
        DashboardNames=[rid]
    ),
    DYNAMODB_TABLE: lambda aws, rid, o: aws.admin("dynamodb").delete_table(TableName=rid),
    SNS_TOPIC: lambda aws, rid, o: aws.admin("sns").delete_topic(TopicArn=rid),
    CLOUDWATCH_EVENT_RULE: lambda aws, rid, o: aws.admin("events").delete_rule(Name=rid),
}


def _planned(creator: AwsCreator, *never_created: tuple[str, str]) -> Any:
    """What `_resources_exist` reads: the program's resources, and the creator."""
    resources = [
        SimpleNamespace(custom=True, type=t, name=n)
        for t, n in [*((r.type, r.name) for r in creator.created), *never_created]
    ]
    return SimpleNamespace(run=SimpleNamespace(resources=resources), creator=creator)


def test_every_resource_of_every_listed_type_is_found(aws: Emulator) -> None:
    creator = _deployed(aws)
    (check,) = _resources_exist(_planned(creator))
    assert check.ok, check.detail
    assert f"all {len(creator.created)} planned resources found" in check.detail


def test_a_resource_deleted_from_the_emulator_is_named_with_its_type(aws: Emulator) -> None:
    creator = _deployed(aws)
    # One resource of each of these types goes; the other integration's stay, so each
    # listing still answers something. The secret takes its version with it, and the topic
    # its subscription.
    gone = [
        r for r in creator.created if r.name.startswith("quote-to-order-") and r.type in _DELETE
    ]
    for resource in gone:
        _DELETE[resource.type](aws, resource.id, resource.outputs)
    with_them = [
        r
        for r in creator.created
        if r.name in ("quote-to-order-cred-version", "quote-to-order-alerts-queue")
    ]

    (check,) = _resources_exist(_planned(creator, (SQS_QUEUE, "invoice-sync-dlq")))
    absent = creator.absent(creator.created)

    assert sorted((r.type, r.name) for r, _ in absent) == sorted(
        (r.type, r.name) for r in [*gone, *with_them]
    )
    assert not check.ok
    assert check.detail.startswith(
        f"{len(absent) + 1} of {len(creator.created) + 1} planned resources missing: "
        f"{SQS_QUEUE} invoice-sync-dlq was never created; "
    )
    for resource, why in absent[:4]:  # the detail shows the first five
        assert f"{resource.type} {resource.name} ({resource.id}): {why}" in check.detail
        assert why


def test_a_version_its_listing_leaves_out_is_still_found_by_its_own_lookup(aws: Emulator) -> None:
    creator = _deployed(aws)
    version = next(r for r in creator.created if r.type == SECRETS_MANAGER_SECRET_VERSION)
    sm = aws.admin("secretsmanager")
    for value in ("second", "third"):  # the first version ends with no staging label
        sm.put_secret_value(SecretId=version.outputs["secretId"], SecretString=value)

    listed = RESOURCES[version.type].listed
    assert listed is not None
    # ListSecrets shows only labelled versions (Secrets Manager API reference,
    # SecretListEntry.SecretVersionsToStages); GetSecretValue by its id still finds it.
    assert version.id not in listed(creator.ctx, [(version.id, version.outputs)])
    assert creator.absent([version]) == []


def test_a_listing_follows_every_page(aws: Emulator) -> None:
    creator = AwsCreator(aws)
    for n in range(60):  # DescribeLogGroups pages by 50
        creator.create(CLOUDWATCH_LOG_GROUP, f"q-{n}-logs", {"name": f"/aws/lambda/dev-q-{n}"})
    listed = RESOURCES[CLOUDWATCH_LOG_GROUP].listed
    assert listed is not None
    planned = [(r.id, r.outputs) for r in creator.created]
    assert set(listed(creator.ctx, planned)) == {rid for rid, _ in planned}
