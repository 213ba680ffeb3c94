"""Each deployed log group, function, topic and secret, read back from the emulator: its key
and its policy.

What the policy pack judges in the program's inputs is checked here in what AWS (the
emulator) holds after the deployment, one check per integration and concern:

- ``encryption:{integration}``: every log group, function environment and topic names the
  integration's own key, and the key policy lets CloudWatch Logs use it for exactly those
  log groups and lets CloudWatch alarms and EventBridge publish only where a topic is;
- ``secret-fence:{integration}``: every secret is encrypted with that key and carries a
  resource policy that is a fence (the pack's own evaluator, `integration_policies.fence`);
- ``async-failures:{integration}``: every scheduled function sends failed runs to the
  integration's DLQ, with retries and event age set, and an alarm watches that queue;
- ``public-url-concurrency:{integration}``: every function behind a public function URL
  (authorization NONE) has reserved concurrency above 0 (GetFunctionConcurrency).

moto stores these settings without acting on them (it neither encrypts with the key nor
enforces resource policies), so the checks judge the stored configuration.

Usage::

    checks = hardening_checks(deployment.aws, deployment.inventory)
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from contract.aws_types import (
    CLOUDWATCH_EVENT_TARGET,
    CLOUDWATCH_LOG_GROUP,
    CLOUDWATCH_METRIC_ALARM,
    IAM_USER,
    KMS_KEY,
    LAMBDA_FUNCTION,
    LAMBDA_FUNCTION_URL,
    SECRETS_MANAGER_SECRET,
    SNS_TOPIC,
    SQS_QUEUE,
)
from provisioner.pack_modules import pack_module
from provisioner.rehearsal.emulator import Emulator
from provisioner.rehearsal.inventory import Deployed, Inventory
from provisioner.rehearsal.result import Check

__all__ = ["hardening_checks"]

_LOGS_CONTEXT = "kms:EncryptionContext:aws:logs:arn"
_PUBLISHERS = ("cloudwatch.amazonaws.com", "events.amazonaws.com")


def hardening_checks(aws: Emulator, inventory: Inventory) -> list[Check]:
    checks: list[Check] = []
    for deployed in inventory:
        urls = deployed.of_type(LAMBDA_FUNCTION_URL)
        public = [u.id for u in urls if u.outputs.get("authorizationType") == "NONE"]
        if public:
            checks.append(_public_url_concurrency(aws, deployed.name, public))
        key = deployed.named("key", KMS_KEY)
        if key is None:
            continue
        key_arn = str(key.outputs["arn"])
        checks.append(_encryption(aws, deployed, key_arn))
        checks.append(_secret_fences(aws, deployed, key_arn))
        scheduled = _scheduled_functions(deployed)
        if scheduled:
            checks.append(_async_failures(aws, deployed, scheduled))
    return checks


def _public_url_concurrency(aws: Emulator, integration: str, functions: list[str]) -> Check:
    lam = aws.admin("lambda")
    found = {f: lam.get_function_concurrency(FunctionName=f) for f in functions}
    reserved = {f: int(c.get("ReservedConcurrentExecutions") or 0) for f, c in found.items()}
    problems = [
        f"{f} reserves no concurrency behind its public URL" for f, n in reserved.items() if n <= 0
    ]
    done = ", ".join(f"{f} reserves {n}" for f, n in reserved.items())
    return _check(f"public-url-concurrency:{integration}", problems, done)


def _check(name: str, problems: list[str], passed: str) -> Check:
    if problems:
        return Check(name, False, "; ".join(problems[:6]))
    return Check(name, True, passed)


def _statements(document: str | None) -> list[dict[str, Any]]:
    if not document:
        return []
    statements = json.loads(document).get("Statement", [])
    return [s for s in (statements if isinstance(statements, list) else [statements])]


def _services(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if not isinstance(principal, dict):
        return []
    services = principal.get("Service", [])
    return list(services) if isinstance(services, list) else [services]


def _condition_values(statement: dict[str, Any], key: str) -> set[str]:
    values: set[str] = set()
    for block in (statement.get("Condition") or {}).values():
        for k, v in block.items():
            if k.lower() == key.lower():
                values.update(v if isinstance(v, list) else [v])
    return values


def _encryption(aws: Emulator, deployed: Deployed, key_arn: str) -> Check:
    problems: list[str] = []
    group_arns = _log_groups_encrypted(aws, deployed, key_arn, problems)
    functions = deployed.of_type(LAMBDA_FUNCTION)
    lam = aws.admin("lambda")
    for function in functions:
        stored_key = lam.get_function_configuration(FunctionName=function.id).get("KMSKeyArn")
        if stored_key != key_arn:
            problems.append(f"function {function.id}'s environment is encrypted with {stored_key}")
    topics = deployed.of_type(SNS_TOPIC)
    sns = aws.admin("sns")
    for topic in topics:
        attributes = sns.get_topic_attributes(TopicArn=topic.id)["Attributes"]
        if attributes.get("KmsMasterKeyId") != key_arn:
            problems.append(
                f"topic {topic.id} is encrypted with {attributes.get('KmsMasterKeyId')}"
            )
    problems += _key_grant_problems(aws, key_arn, group_arns, bool(topics))
    return _check(
        f"encryption:{deployed.name}",
        problems,
        f"{len(group_arns)} log group(s), {len(functions)} function environment(s) and "
        f"{len(topics)} topic(s) encrypted with the integration's key; its policy lets "
        f"CloudWatch Logs use it for exactly those log groups"
        + (" and CloudWatch alarms and EventBridge publish to the topic" if topics else ""),
    )


def _log_groups_encrypted(
    aws: Emulator, deployed: Deployed, key_arn: str, problems: list[str]
) -> set[str]:
    """The integration's log group ARNs, each checked to be encrypted with its key."""
    logs = aws.admin("logs")
    group_arns: set[str] = set()
    for group in deployed.of_type(CLOUDWATCH_LOG_GROUP):
        found = logs.describe_log_groups(logGroupNamePrefix=group.id)["logGroups"]
        stored: dict[str, Any] = next((g for g in found if g["logGroupName"] == group.id), {})
        group_arns.add(str(stored.get("arn", "")).removesuffix(":*"))
        if stored.get("kmsKeyId") != key_arn:
            problems.append(f"log group {group.id} is encrypted with {stored.get('kmsKeyId')}")
    return group_arns


def _key_grant_problems(
    aws: Emulator, key_arn: str, group_arns: set[str], has_topic: bool
) -> list[str]:
    """The key policy as stored: CloudWatch Logs for exactly those log groups, the
    publishers only with a topic, and no other service."""
    policy = aws.admin("kms").get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]
    granted: dict[str, set[str]] = {}
    for statement in _statements(policy):
        for service in _services(statement):
            name = "logs" if service.startswith("logs.") else service
            granted[name] = _condition_values(statement, _LOGS_CONTEXT) if name == "logs" else set()
    problems: list[str] = []
    if granted.get("logs") != group_arns:
        problems.append(
            f"the key lets CloudWatch Logs use it for {sorted(granted.get('logs') or [])}, "
            f"not exactly the integration's log groups {sorted(group_arns)}"
        )
    for service in _PUBLISHERS:
        if has_topic != (service in granted):
            problems.append(
                f"the key {'does not let' if has_topic else 'lets'} {service} publish to "
                f"{'its encrypted topic' if has_topic else 'a topic the integration does not have'}"
            )
    if strangers := sorted(set(granted) - {"logs", *_PUBLISHERS}):
        problems.append(f"the key also grants {', '.join(strangers)}")
    return problems


def _secret_fences(aws: Emulator, deployed: Deployed, key_arn: str) -> Check:
    sm, lam, kms = (aws.admin(s) for s in ("secretsmanager", "lambda", "kms"))
    fence = pack_module("fence")
    account = aws.account_id
    own_roles = [str(r.outputs["arn"]) for r in deployed.roles]
    # A pusher's access-key secret has its IAM user's name (docs/contracts.md).
    pushers = {
        str(u.outputs.get("name")): str(u.outputs["arn"]) for u in deployed.of_type(IAM_USER)
    }
    problems: list[str] = []
    secrets = deployed.of_type(SECRETS_MANAGER_SECRET)
    for secret in secrets:
        meta = sm.describe_secret(SecretId=secret.id)
        key_id = meta.get("KmsKeyId")
        stored_key = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"] if key_id else None
        if stored_key != key_arn:
            problems.append(f"{meta['Name']} is encrypted with {stored_key or 'the AWS key'}")
        rotator = None
        if meta.get("RotationLambdaARN"):
            rotator = lam.get_function_configuration(FunctionName=meta["RotationLambdaARN"])["Role"]
        try:
            document = sm.get_resource_policy(SecretId=secret.id).get("ResourcePolicy")
        except ClientError as err:
            document = None
            problems.append(f"{meta['Name']}: reading its resource policy failed: {err}")
        if not document:
            problems.append(f"{meta['Name']} has no resource policy")
            continue
        found = fence.secret_fence_problems(
            json.loads(document),
            integration=deployed.name,
            account=account,
            own_roles=own_roles,
            rotator=rotator,
            pusher=pushers.get(meta["Name"]),
        )
        problems += [f"{meta['Name']}: {problem}" for problem, _ in found]
    return _check(
        f"secret-fence:{deployed.name}",
        problems,
        f"{len(secrets)} secret(s) encrypted with the integration's key, each fenced: every "
        f"principal but its role(s), rotator and administrator is denied all "
        f"{len(fence.SECRET_ACTIONS)} secret actions, and the rotator keeps its four steps",
    )


def _scheduled_functions(deployed: Deployed) -> list[str]:
    arns = {str(t.outputs.get("arn")) for t in deployed.of_type(CLOUDWATCH_EVENT_TARGET)}
    return [f.id for f in deployed.of_type(LAMBDA_FUNCTION) if f.outputs.get("arn") in arns]


def _async_failures(aws: Emulator, deployed: Deployed, functions: list[str]) -> Check:
    lam, cloudwatch = aws.admin("lambda"), aws.admin("cloudwatch")
    dlq = deployed.named("dlq", SQS_QUEUE)
    dlq_arn = str(dlq.outputs["arn"]) if dlq else None
    dlq_name = str(dlq.outputs.get("name") or "") if dlq else ""
    problems: list[str] = []
    for name in functions:
        try:
            config = lam.get_function_event_invoke_config(FunctionName=name)
        except ClientError:
            problems.append(f"{name} keeps no record of failed asynchronous runs")
            continue
        destination = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if destination != dlq_arn:
            problems.append(f"{name} sends failed runs to {destination}, not {dlq_arn}")
        for field in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
            if field not in config:
                problems.append(f"{name} leaves {field} at Lambda's default")
    # The integration's own alarms, not the account's: reading every alarm for every
    # integration made this check quadratic in the roadmap. DescribeAlarms takes at most
    # 100 names a call (CloudWatch API reference, DescribeAlarms: AlarmNames).
    names = [a.outputs["name"] for a in deployed.of_type(CLOUDWATCH_METRIC_ALARM)]
    alarms = [
        alarm
        for at in range(0, len(names), 100)
        for alarm in cloudwatch.describe_alarms(AlarmNames=names[at : at + 100])["MetricAlarms"]
    ]
    watched = [
        a
        for a in alarms
        if {"Name": "QueueName", "Value": dlq_name} in a.get("Dimensions", [])
        and a.get("AlarmActions")
    ]
    if not watched:
        problems.append(f"no alarm watches {dlq_name or 'the DLQ'}, where failed runs go")
    return _check(
        f"async-failures:{deployed.name}",
        problems,
        f"{', '.join(functions)} send failed runs to {dlq_name} after deliberate retries; "
        f"alarm {watched[0]['AlarmName'] if watched else '-'} watches it",
    )
