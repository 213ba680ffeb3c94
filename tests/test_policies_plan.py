"""A realistic recorded plan (docs/contracts.md format) and the policy pack's verdict on it.

`integration_plan()` builds what the components provision for one integration at a phase,
with AWS-shaped names and ARNs, so the policy tests can mutate one thing at a time. The
tests here prove the clean plan passes every policy and its IAM documents pass two
independent linters (parliament, cloudsplaining).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from integration_policies import POLICIES
from provisioner.policy_harness import PolicyHarness, stack_config

ACCOUNT = {"dev": "111111111111", "staging": "222222222222", "prod": "333333333333"}
REGION = "eu-west-1"
ROTATION_DAYS = {"dev": 30, "staging": 30, "prod": 30}
RETENTION = {"dev": 14, "staging": 30, "prod": 365}
ALARMS: dict[int, tuple[str, ...]] = {3: ("dlq-depth", "oldest-message-age", "errors", "throttles")}
ALARMS[4] = ("reconciliation-gap", "stale-sync")
ALARMS[5] = ("latency-p99", "api-budget")


def resource(
    env: str, rtype: str, name: str, inputs: dict[str, Any], **outputs: Any
) -> dict[str, Any]:
    return {
        "type": rtype,
        "name": name,
        "urn": f"urn:pulumi:{env}::integration-provisioner::{rtype}::{name}",
        "parent": None,
        "inputs": inputs,
        "outputs": {"id": outputs.pop("id", inputs.get("name", name)), **outputs},
    }


def via(*services: str) -> dict[str, Any]:
    """The kms:ViaService condition of an integration principal's key grant."""
    return {"StringEquals": {"kms:ViaService": [f"{s}.{REGION}.amazonaws.com" for s in services]}}


def statement(actions: list[str], resources: list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def integration_plan(
    integ: str = "quote-to-order",
    env: str = "dev",
    phase: int = 3,
    *,
    queued: bool = True,
    credentials: tuple[str, ...] = ("salesforce-jwt", "netsuite-m2m"),
    alert_path: str = "pagerduty:revops-oncall",
) -> list[dict[str, Any]]:
    """Every resource of one integration at `phase` in `env`, as the mock runner records them."""
    acct = ACCOUNT[env]
    arn = f"arn:aws:{{}}:{REGION}:{acct}:{{}}"
    phys = f"{env}-{integ}"
    tags = {
        "integration": integ,
        "owner": "revenue-operations",
        "phase": str(phase),
        "environment": env,
        "runbook": f"https://wiki.northwind.example/runbooks/{integ}",
        "alert-path": alert_path,
    }
    out: list[dict[str, Any]] = []

    def add(rtype: str, role: str, inputs: dict[str, Any], **outputs: Any) -> dict[str, Any]:
        taggable = rtype.split(":")[-1] not in (
            "RolePolicy",
            "SecretRotation",
            "Permission",
            "QueuePolicy",
            "EventTarget",
            "Dashboard",
            "TopicSubscription",
            "SecretPolicy",
            "FunctionEventInvokeConfig",
        )
        extra = {"tags": dict(tags, **inputs.pop("extra_tags", {}))} if taggable else {}
        res = resource(env, rtype, f"{integ}-{role}", {**inputs, **extra}, **outputs)
        out.append(res)
        return res

    role_arn = f"arn:aws:iam::{acct}:role/{phys}-role"
    kinds_with_logs = ["rotation"]
    if phase >= 3:
        kinds_with_logs += ["consumer" if queued else "batch"] + (["reconcile"] * (phase >= 4))
    key_id = f"0000{abs(hash(phys)) % 10**8:08d}-aaaa-bbbb-cccc-000000000000"
    key_arn = arn.format("kms", f"key/{key_id}")
    add(
        "aws:iam/role:Role",
        "role",
        {
            "name": f"{phys}-role",
            "assumeRolePolicy": json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "sts:AssumeRole",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                        }
                    ],
                }
            ),
        },
        arn=role_arn,
        id=f"{phys}-role",
    )
    add(
        "aws:kms/key:Key",
        "key",
        {
            "description": f"{integ} credentials and queues",
            "enableKeyRotation": True,
            "policy": json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        statement(
                            ["kms:DescribeKey", "kms:EnableKeyRotation", "kms:PutKeyPolicy"],
                            ["*"],
                            Principal={"AWS": f"arn:aws:iam::{acct}:root"},
                        ),
                        statement(
                            ["kms:Decrypt", "kms:GenerateDataKey"],
                            ["*"],
                            Principal={"AWS": f"arn:aws:iam::{acct}:root"},
                            Condition={
                                "ArnEquals": {
                                    "aws:PrincipalArn": [role_arn, f"{role_arn[:-5]}-rotation"]
                                }
                            },
                        ),
                        *service_statements(env, phys, phase, kinds_with_logs),
                    ],
                }
            ),
        },
        arn=key_arn,
        id=key_id,
        keyId=key_id,
    )
    secret_arns = []
    rotation_fn = f"{phys}-rotation"
    rotation_arn = arn.format("lambda", f"function:{rotation_fn}")
    for cred in credentials:
        secret_arn = arn.format("secretsmanager", f"secret:{phys}-cred-{cred}-AbCdEf")
        secret_arns.append(secret_arn)
        add(
            "aws:secretsmanager/secret:Secret",
            f"cred-{cred}",
            {"name": f"{phys}-cred-{cred}", "kmsKeyId": key_arn},
            arn=secret_arn,
            id=secret_arn,
        )
        add(
            "aws:secretsmanager/secretPolicy:SecretPolicy",
            f"cred-{cred}-resource-policy",
            {"secretArn": secret_arn, "policy": fence(acct, phys)},
        )
        add(
            "aws:secretsmanager/secretRotation:SecretRotation",
            f"cred-{cred}-rotation",
            {
                "secretId": secret_arn,
                "rotationLambdaArn": rotation_arn,
                "rotationRules": {"automaticallyAfterDays": ROTATION_DAYS[env]},
            },
        )

    def function(role: str, handler: str, timeout: int, execution_role: str = role_arn) -> str:
        fn_name = f"{phys}-{role}"
        fn_arn = arn.format("lambda", f"function:{fn_name}")
        add(
            "aws:lambda/function:Function",
            role,
            {
                "name": fn_name,
                "role": execution_role,
                "handler": handler,
                "runtime": "python3.12",
                "timeout": timeout,
                "memorySize": 256,
                "environment": {"variables": {"INTEGRATION": integ, "ENVIRONMENT": env}},
                "kmsKeyArn": key_arn,
            },
            arn=fn_arn,
            id=fn_name,
        )
        add(
            "aws:cloudwatch/logGroup:LogGroup",
            f"{role}-logs",
            {
                "name": f"/aws/lambda/{fn_name}",
                "retentionInDays": RETENTION[env],
                "kmsKeyId": key_arn,
            },
            arn=arn.format("logs", f"log-group:/aws/lambda/{fn_name}"),
        )
        return fn_arn

    # The rotation function runs as its own role: only it may write new secret versions.
    rotation_role_arn = f"arn:aws:iam::{acct}:role/{rotation_fn}"
    add(
        "aws:iam/role:Role",
        "rotation-role",
        {"name": rotation_fn, "assumeRolePolicy": out[0]["inputs"]["assumeRolePolicy"]},
        arn=rotation_role_arn,
        id=rotation_fn,
    )
    function("rotation", "credential_rotation.handler.lambda_handler", 30, rotation_role_arn)
    rotation_statements = [
        statement(
            [
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:UpdateSecretVersionStage",
            ],
            secret_arns,
        ),
        statement(
            ["kms:Decrypt", "kms:GenerateDataKey"], [key_arn], Condition=via("secretsmanager")
        ),
        statement(["secretsmanager:GetRandomPassword"], ["*"]),
        statement(
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [arn.format("logs", f"log-group:/aws/lambda/{rotation_fn}:*")],
        ),
    ]
    add(
        "aws:iam/rolePolicy:RolePolicy",
        "rotation-policy",
        {
            "name": rotation_fn,
            "role": rotation_fn,
            "policy": json.dumps({"Version": "2012-10-17", "Statement": rotation_statements}),
        },
    )
    add(
        "aws:lambda/permission:Permission",
        "rotation-permission",
        {
            "action": "lambda:InvokeFunction",
            "function": rotation_fn,
            "principal": "secretsmanager.amazonaws.com",
            "sourceAccount": acct,
        },
    )
    statements = [
        statement(["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], secret_arns),
        statement(
            ["kms:Decrypt", "kms:GenerateDataKey"],
            [key_arn],
            Condition=via("sqs", "secretsmanager", "dynamodb"),
        ),
        statement(
            ["cloudwatch:PutMetricData"],
            ["*"],
            Condition={"StringEquals": {"cloudwatch:namespace": f"Integrations/{integ}"}},
        ),
        statement(
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [
                arn.format("logs", f"log-group:/aws/lambda/{phys}-{kind}:*")
                for kind in ("consumer", "batch", "reconcile")
            ],
        ),
    ]
    if phase >= 3:
        topic_arn = arn.format("sns", f"{phys}-alerts")
        add(
            "aws:sns/topic:Topic",
            "alerts",
            {"name": f"{phys}-alerts", "kmsMasterKeyId": key_arn},
            arn=topic_arn,
            id=topic_arn,
        )
        table_arn = arn.format("dynamodb", f"table/{phys}-state")
        add(
            "aws:dynamodb/table:Table",
            "state",
            {
                "name": f"{phys}-state",
                "hashKey": "pk",
                "billingMode": "PAY_PER_REQUEST",
                "deletionProtectionEnabled": True,
                "pointInTimeRecovery": {"enabled": True},
            },
            arn=table_arn,
        )
        statements.append(
            statement(
                [
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                ],
                [table_arn],
            )
        )
        kinds = [k for p, ks in ALARMS.items() if p <= phase for k in ks]
        q_arn, dlq_arn = arn.format("sqs", f"{phys}-queue"), arn.format("sqs", f"{phys}-dlq")
        queues: list[tuple[str, str, int, dict[str, Any] | None]] = [
            ("dlq", dlq_arn, 1_209_600, None)
        ]
        if queued:
            redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}
            queues.append(("queue", q_arn, 345_600, redrive))
        for role, q_arn_, retention, redrive_ in queues:
            url = f"https://sqs.{REGION}.amazonaws.com/{acct}/{phys}-{role}"
            inputs = {
                "name": f"{phys}-{role}",
                "kmsMasterKeyId": key_arn,
                "visibilityTimeoutSeconds": 360,
                "messageRetentionSeconds": retention,
            }
            if redrive_:
                inputs["redrivePolicy"] = json.dumps(redrive_)
            add("aws:sqs/queue:Queue", role, inputs, arn=q_arn_, id=url, url=url)
            add(
                "aws:sqs/queuePolicy:QueuePolicy",
                f"{role}-policy",
                {
                    "queueUrl": url,
                    "policy": json.dumps(
                        {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Sid": "DenyInsecureTransport",
                                    "Effect": "Deny",
                                    "Principal": "*",
                                    "Action": "sqs:*",
                                    "Resource": q_arn_,
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                }
                            ],
                        }
                    ),
                },
            )
        if queued:
            consumer = function("consumer", "integration_sync.consumer.handler", 60)
            add(
                "aws:lambda/eventSourceMapping:EventSourceMapping",
                "consumer-trigger",
                {
                    "eventSourceArn": q_arn,
                    "functionName": consumer,
                    "batchSize": 10,
                    "enabled": True,
                    "functionResponseTypes": ["ReportBatchItemFailures"],
                    "scalingConfig": {"maximumConcurrency": 5},
                },
            )
            statements.append(
                statement(
                    [
                        "sqs:ReceiveMessage",
                        "sqs:DeleteMessage",
                        "sqs:ChangeMessageVisibility",
                        "sqs:GetQueueAttributes",
                    ],
                    [q_arn],
                )
            )
        else:
            scheduled(
                "batch", function("batch", "integration_sync.batch.handler", 300), add, phys, arn
            )
            failures_to(add, "batch", phys, dlq_arn)
        if phase >= 4:
            scheduled(
                "reconcile",
                function("reconcile", "integration_sync.reconcile.handler", 300),
                add,
                phys,
                arn,
            )
            failures_to(add, "reconcile", phys, dlq_arn)
            add(
                "aws:cloudwatch/dashboard:Dashboard",
                "dashboard",
                {"dashboardName": f"{phys}-dashboard", "dashboardBody": "{}"},
            )
        for kind in kinds:
            add(
                "aws:cloudwatch/metricAlarm:MetricAlarm",
                f"alarm-{kind}",
                {
                    "name": f"{phys}-alarm-{kind}",
                    "comparisonOperator": "GreaterThanThreshold",
                    "evaluationPeriods": 1,
                    "threshold": 0,
                    "alarmActions": [topic_arn],
                    "extra_tags": {"alarm": kind},
                    **({"dimensions": {"QueueName": f"{phys}-dlq"}} if kind == "dlq-depth" else {}),
                },
                arn=arn.format("cloudwatch", f"alarm:{phys}-{kind}"),
            )
        rule = add(
            "aws:cloudwatch/eventRule:EventRule",
            "alarm-rotation-failure",
            {
                "name": f"{phys}-alarm-rotation-failure",
                "eventPattern": json.dumps(
                    {
                        "source": ["aws.secretsmanager"],
                        "detail-type": ["AWS API Call via CloudTrail"],
                    }
                ),
                "extra_tags": {"alarm": "rotation-failure"},
            },
            arn=arn.format("events", f"rule/{phys}-alarm-rotation-failure"),
        )
        add(
            "aws:cloudwatch/eventTarget:EventTarget",
            "alarm-rotation-failure-target",
            {"rule": rule["inputs"]["name"], "arn": topic_arn},
        )
    add(
        "aws:iam/rolePolicy:RolePolicy",
        "policy",
        {
            "name": f"{phys}-policy",
            "role": f"{phys}-role",
            "policy": json.dumps({"Version": "2012-10-17", "Statement": statements}),
        },
    )
    return out


def service_statements(env: str, phys: str, phase: int, kinds: list[str]) -> list[dict[str, Any]]:
    """The key's grants to the services that use it: logs for the log groups, publishers."""
    acct = ACCOUNT[env]
    groups = [f"arn:aws:logs:{REGION}:{acct}:log-group:/aws/lambda/{phys}-{k}" for k in kinds]
    found = [
        statement(
            ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
            ["*"],
            Principal={"Service": f"logs.{REGION}.amazonaws.com"},
            Condition={"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": groups}},
        )
    ]
    if phase >= 3:
        found += [
            statement(
                ["kms:Decrypt", "kms:GenerateDataKey"],
                ["*"],
                Principal={"Service": service},
                Condition={"StringEquals": {"aws:SourceAccount": acct}},
            )
            for service in ("cloudwatch.amazonaws.com", "events.amazonaws.com")
        ]
    return found


def fence(acct: str, phys: str) -> str:
    """A secret's resource policy: read by the role and rotator, written by the rotator."""
    role, rotator = (f"arn:aws:iam::{acct}:role/{phys}-{r}" for r in ("role", "rotation"))
    admin = f"arn:aws:iam::{acct}:role/deployer"
    deny = {"Effect": "Deny", "Principal": "*", "Resource": "*"}
    read, write = "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"
    stage = "secretsmanager:UpdateSecretVersionStage"
    describe = "secretsmanager:DescribeSecret"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {**deny, "Action": read, "Condition": _unless([role, rotator])},
                {**deny, "Action": [write, stage], "Condition": _unless([rotator, admin])},
                {**deny, "Action": describe, "Condition": _unless([role, rotator, admin])},
                {
                    **deny,
                    "NotAction": [read, write, stage, describe],
                    "Condition": _unless([admin]),
                },
            ],
        }
    )


def _unless(arns: list[str]) -> dict[str, Any]:
    return {"ArnNotEquals": {"aws:PrincipalArn": arns}}


def failures_to(add: Any, role: str, phys: str, dlq_arn: str) -> None:
    add(
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
        f"{role}-async",
        {
            "functionName": f"{phys}-{role}",
            "maximumRetryAttempts": 1,
            "maximumEventAgeInSeconds": 3600,
            "destinationConfig": {"onFailure": {"destination": dlq_arn}},
        },
    )


def scheduled(role: str, fn_arn: str, add: Any, phys: str, arn: str) -> None:
    rule_arn = arn.format("events", f"rule/{phys}-{role}-schedule")
    add(
        "aws:cloudwatch/eventRule:EventRule",
        f"{role}-schedule",
        {"name": f"{phys}-{role}-schedule", "scheduleExpression": "rate(15 minutes)"},
        arn=rule_arn,
    )
    add(
        "aws:cloudwatch/eventTarget:EventTarget",
        f"{role}-schedule-target",
        {"rule": f"{phys}-{role}-schedule", "arn": fn_arn},
    )
    add(
        "aws:lambda/permission:Permission",
        f"{role}-schedule-permission",
        {
            "action": "lambda:InvokeFunction",
            "function": fn_arn,
            "principal": "events.amazonaws.com",
            "sourceArn": rule_arn,
        },
    )


def example_stack(env: str = "dev") -> list[dict[str, Any]]:
    """Three integrations: queued at phase 5, scheduled at phase 4, credentials-only phase 2."""
    return (
        integration_plan("quote-to-order", env, 5)
        + integration_plan(
            "order-to-invoice",
            env,
            4,
            queued=False,
            credentials=("netsuite-m2m", "xero-m2m"),
            alert_path="pagerduty:finance-systems",
        )
        + integration_plan(
            "support-health-to-crm",
            env,
            2,
            queued=False,
            alert_path="email:support-ops@northwind.example",
        )
    )


def role_documents(resources: list[dict[str, Any]]) -> list[str]:
    return [
        r["inputs"]["policy"] for r in resources if r["type"] == "aws:iam/rolePolicy:RolePolicy"
    ]


# ---------------------------------------------------------------------------- tests

ORG_TRAIL = "arn:aws:cloudtrail:us-east-1:999999999999:trail/organisation"


@pytest.mark.slow
@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_clean_plan_has_no_violation_in_any_environment(env: str) -> None:
    resources = example_stack(env)
    # The hand-built plan has the integrations only: it relies on an organisation trail
    # (the stack's own trail is judged on the program's plan in test_policies_audit.py).
    config = {**stack_config(env), "integration-provisioner:auditTrail": ORG_TRAIL}
    with PolicyHarness(stack=env, config=config) as pack:
        result = pack.check(resources)
    assert result.resources_analyzed == len(resources)
    assert result.policies == [p.name for p in POLICIES]
    assert [v.as_dict() for v in result.violations] == []


def test_generated_role_policies_pass_parliament() -> None:
    parliament = pytest.importorskip("parliament")
    for document in role_documents(example_stack("prod")):
        findings = parliament.analyze_policy_string(document).findings
        assert [(f.issue, f.detail) for f in findings] == []


def test_generated_role_policies_pass_cloudsplaining() -> None:
    scan_policy = pytest.importorskip("cloudsplaining.command.scan_policy_file").scan_policy
    for document in role_documents(example_stack("prod")):
        results = scan_policy(json.loads(document))
        findings = {k: v["findings"] for k, v in results.items() if isinstance(v, dict)}
        assert {k: v for k, v in findings.items() if v} == {}
        assert results["ServicesAffected"] == []
