"""Integration: what each phase provisions, isolation between integrations, tags, kill switch.

Every test runs the real program (`__main__.py`) under the mock runtime
(provisioner/program.py) on the example roadmap and stacks.
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from contract.metrics import CREDENTIAL_AGE_DAYS, namespace
from contract.phases import ALARMS_BY_PHASE, SECRET_AGE_ALARM
from provisioner.program import run_program
from provisioner.records import ProgramError, ProgramRun, RecordedResource
from roadmap.io import load_roadmap

ROOT = Path(__file__).resolve().parent.parent
ROADMAP = load_roadmap(ROOT / "roadmap.yaml")

# The metric alarms each phase adds (contract.phases); rotation failure is an EventBridge rule.
ALARM_KINDS = {p: set(kinds) - {"rotation-failure"} for p, kinds in ALARMS_BY_PHASE.items()}


def secret_age(name: str) -> set[str]:
    """The secret-age alarm kind when the integration has a credential rotated by hand."""
    manual = [
        c for c in ROADMAP.integration(name).credentials if ROADMAP.rotation_mode(c) == "manual"
    ]
    return {SECRET_AGE_ALARM} if manual else set()


def owned(run: ProgramRun, integration: str) -> list[RecordedResource]:
    return [r for r in run.resources if run.integration_of(r) == integration]


def of_type(resources: list[RecordedResource], short: str) -> list[RecordedResource]:
    return [r for r in resources if r.type.endswith(f":{short}")]


def taggable(type_: str) -> bool:
    """True when the pulumi-aws resource class accepts `tags` (introspected, not listed)."""
    if not type_.startswith("aws:"):
        return False
    _, module, cls = type_.split(":")
    package = module.split("/")[0]
    mod = importlib.import_module(f"pulumi_aws.{'lambda_' if package == 'lambda' else package}")
    return "tags" in inspect.signature(getattr(mod, cls)._internal_init).parameters


def test_phase_1_integrations_create_nothing(prod: ProgramRun) -> None:
    resting = {i.name for i in ROADMAP.integrations if i.phase("prod") == 1}
    assert resting == {
        "support-health-to-crm",
        "campaign-sync",
        "web-order-capture",
        "refund-capture",
    }
    for name in resting:
        assert owned(prod, name) == []
        assert not [r for r in prod.resources if name in r.name]
    assert sorted(prod.stack_outputs["discovery"]) == sorted(resting)


@pytest.mark.parametrize("name", ["inventory-to-promise", "credit-status-to-crm"])
def test_phase_2_has_role_key_and_rotated_secrets_but_no_queue(prod: ProgramRun, name: str) -> None:
    resources = owned(prod, name)
    types = Counter(r.type for r in resources)
    assert types["aws:sqs/queue:Queue"] == 0
    assert types["aws:lambda/eventSourceMapping:EventSourceMapping"] == 0
    assert types["aws:cloudwatch/metricAlarm:MetricAlarm"] == 0
    assert types["aws:dynamodb/table:Table"] == 0
    assert [r.name for r in of_type(resources, "Function")] == [f"{name}-rotation"]
    assert {r.name for r in of_type(resources, "Role")} == {f"{name}-role", f"{name}-rotation-role"}
    assert types["aws:kms/key:Key"] == 1
    credentials = ROADMAP.integration(name).credentials
    assert types["aws:secretsmanager/secret:Secret"] == len(credentials)
    assert types["aws:secretsmanager/secretRotation:SecretRotation"] == len(credentials)


def test_phase_3_adds_queue_function_state_and_its_alarms(prod: ProgramRun) -> None:
    resources = owned(prod, "quote-to-order")
    names = {r.name for r in resources}
    assert {"quote-to-order-queue", "quote-to-order-dlq", "quote-to-order-state"} <= names
    assert {"quote-to-order-consumer", "quote-to-order-consumer-trigger"} <= names
    alarms = {r.inputs["tags"]["alarm"] for r in of_type(resources, "MetricAlarm")}
    assert alarms == ALARM_KINDS[3] | secret_age("quote-to-order")
    rules = [r for r in of_type(resources, "EventRule") if "alarm" in r.inputs["tags"]]
    assert [r.inputs["tags"]["alarm"] for r in rules] == ["rotation-failure"]
    assert not of_type(resources, "Dashboard")
    assert "quote-to-order-reconcile" not in names


def test_a_credential_rotated_by_hand_pages_once_older_than_its_rotation_days(
    prod: ProgramRun,
) -> None:
    resources = owned(prod, "quote-to-order")
    ages = [
        r
        for r in of_type(resources, "MetricAlarm")
        if r.inputs["tags"]["alarm"] == SECRET_AGE_ALARM
    ]
    assert [r.name for r in ages] == ["quote-to-order-alarm-secret-age-netsuite-m2m"]
    (age,) = ages
    secret = prod.find("quote-to-order-cred-netsuite-m2m", "aws:secretsmanager/secret:Secret")
    assert secret.inputs["tags"]["rotation"] == "manual"
    jwt = prod.find("quote-to-order-cred-salesforce-jwt", "aws:secretsmanager/secret:Secret")
    assert "rotation" not in jwt.inputs["tags"]
    assert age.inputs["metricName"] == CREDENTIAL_AGE_DAYS
    assert age.inputs["namespace"] == namespace("quote-to-order")
    assert age.inputs["dimensions"] == {
        "service": "quote-to-order",
        "secret": secret.inputs["name"],
    }
    assert age.inputs["threshold"] == 30  # netsuite-m2m's rotation_days
    assert age.inputs["comparisonOperator"] == "GreaterThanThreshold"
    assert age.inputs["period"] == 86_400


def test_phase_4_adds_reconciliation_dashboard_and_gap_alarms(prod: ProgramRun) -> None:
    resources = owned(prod, "lead-to-account")
    alarms = {r.inputs["tags"]["alarm"] for r in of_type(resources, "MetricAlarm")}
    assert alarms == ALARM_KINDS[3] | ALARM_KINDS[4] | secret_age("lead-to-account")
    assert [r.name for r in of_type(resources, "Dashboard")] == ["lead-to-account-dashboard"]
    reconcile = prod.find("lead-to-account-reconcile", "aws:lambda/function:Function")
    assert reconcile.inputs["handler"] == "integration_sync.reconcile.handler"
    schedule = prod.find("lead-to-account-reconcile-schedule")
    assert schedule.inputs["scheduleExpression"].startswith(("cron(", "rate("))


def test_phase_5_adds_latency_and_api_budget_alarms(prod: ProgramRun) -> None:
    resources = owned(prod, "warehouse-export")
    alarms = {r.inputs["tags"]["alarm"]: r for r in of_type(resources, "MetricAlarm")}
    assert set(alarms) == (
        ALARM_KINDS[3] | ALARM_KINDS[4] | ALARM_KINDS[5] | secret_age("warehouse-export")
    )
    # p99 duration above 80% of the batch function's 300 s timeout, in milliseconds.
    assert alarms["latency-p99"].inputs["extendedStatistic"] == "p99"
    assert alarms["latency-p99"].inputs["threshold"] == 240_000
    # Half again the 40 Salesforce calls a day warehouse-export spends: a 150,000-record
    # Bulk API 2.0 query job each night (create, describe, 3 polls, 15 result pages), and the
    # same for its reconciliation (roadmap.budget).
    assert alarms["api-budget"].inputs["threshold"] == 60
    assert alarms["api-budget"].inputs["metricName"] == "ApiCallsUsed"


def test_every_alarm_notifies_its_own_integrations_topic(dev: ProgramRun) -> None:
    for topic in dev.by_type("aws:sns/topic:Topic"):
        integration = dev.integration_of(topic)
        assert integration is not None
        for alarm in of_type(owned(dev, integration), "MetricAlarm"):
            assert alarm.inputs["alarmActions"] == [topic.outputs["arn"]]
        targets = [
            r
            for r in of_type(owned(dev, integration), "EventTarget")
            if r.name.endswith("rotation-failure-target")
        ]
        assert [t.inputs["arn"] for t in targets] == [topic.outputs["arn"]]


def test_rotation_failure_rule_matches_only_own_secrets(dev: ProgramRun) -> None:
    rule = dev.find("quote-to-order-alarm-rotation-failure")
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["detail"]["eventName"] == ["RotationFailed"]
    own = {s.outputs["arn"] for s in of_type(owned(dev, "quote-to-order"), "Secret")}
    assert set(pattern["detail"]["additionalEventData"]["SecretId"]) == own


def test_alert_path_routing_follows_the_stack(prod: ProgramRun) -> None:
    paged = prod.find("quote-to-order-alerts-subscription")
    assert paged.inputs["protocol"] == "https"
    assert "revops-oncall" in paged.inputs["endpoint"]
    # A slack: path posts through its AWS Chatbot channel (alarmRouting.slack), fed by the
    # integration's own alert topic, and nothing falls back to e-mail.
    slack = prod.find("lead-to-account-alerts-chatbot")
    topic = prod.find("lead-to-account-alerts", "aws:sns/topic:Topic")
    assert slack.inputs["snsTopicArns"] == [topic.outputs["arn"]]
    assert (slack.inputs["slackTeamId"], slack.inputs["slackChannelId"]) == (
        "T07EA123LEP",
        "C07EZ1MOPS1",
    )
    assert not [
        r
        for r in prod.descendants(prod.find("lead-to-account", "provisioner:index:Integration").urn)
        if r.type == "aws:sns/topicSubscription:TopicSubscription"
    ]


def test_every_taggable_resource_carries_the_contract_tags(dev: ProgramRun) -> None:
    checked = 0
    for resource in dev.resources:
        if not taggable(resource.type):
            continue
        integration = dev.integration_of(resource)
        assert integration is not None, resource.urn
        entry = ROADMAP.integration(integration)
        tags = resource.inputs.get("tags")
        assert tags is not None, f"{resource.name} ({resource.type}) has no tags"
        expected = {
            "integration": integration,
            "owner": entry.owner_team,
            "phase": str(entry.phase("dev")),
            "environment": "dev",
            "runbook": str(entry.runbook),
            "alert-path": entry.alert_path,
        }
        assert {k: tags[k] for k in expected} == expected, resource.name
        checked += 1
    assert checked > 150


def test_physical_names_follow_environment_integration_role(prod: ProgramRun) -> None:
    expected = {
        "quote-to-order-queue": "prod-quote-to-order-queue.fifo",
        "quote-to-order-dlq": "prod-quote-to-order-dlq.fifo",
        "quote-to-order-role": "prod-quote-to-order-role",
        "quote-to-order-cred-salesforce-jwt": "prod-quote-to-order-cred-salesforce-jwt",
        "quote-to-order-state": "prod-quote-to-order-state",
        "quote-to-order-alerts": "prod-quote-to-order-alerts",
        "quote-to-order-alarm-dlq-depth": "prod-quote-to-order-alarm-dlq-depth",
    }
    for logical, physical in expected.items():
        assert prod.find(logical).inputs["name"] == physical
    function = prod.find("quote-to-order-consumer", "aws:lambda/function:Function")
    assert function.inputs["name"] == "prod-quote-to-order-consumer"


def test_kill_switch_disables_only_the_listed_integrations_triggers(dev: ProgramRun) -> None:
    run = run_program("dev", config={"killSwitch": ["quote-to-order", "order-to-invoice"]})
    assert run.find("quote-to-order-consumer-trigger").inputs["enabled"] is False
    assert run.find("order-to-invoice-batch-schedule").inputs["state"] == "DISABLED"
    assert run.find("order-to-invoice-reconcile-schedule").inputs["state"] == "DISABLED"
    assert run.find("lead-to-account-consumer-trigger").inputs["enabled"] is True
    assert run.find("warehouse-export-batch-schedule").inputs["state"] == "ENABLED"
    # Rollback stops work and deletes nothing: the same resources exist either way.
    assert sorted(r.urn for r in run.resources) == sorted(r.urn for r in dev.resources)


def _resource_arns(run: ProgramRun, integration: str) -> set[str]:
    arns = set()
    for r in owned(run, integration):
        for key in ("arn", "dashboardArn"):
            if isinstance(r.outputs.get(key), str):
                arns.add(r.outputs[key])
    return arns


def _in_own_bucket(resource: str, arns: set[str]) -> bool:
    """An object ARN under one of the integration's buckets (its stage's prefixes)."""
    return any(resource.startswith(f"{arn}/") for arn in arns if arn.startswith("arn:aws:s3:::"))


def _policy_resources(document: str) -> list[str]:
    found: list[str] = []
    for statement in json.loads(document)["Statement"]:
        resources = statement.get("Resource", [])
        found += [resources] if isinstance(resources, str) else resources
    return found


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_role_policy_names_only_its_own_integrations_resources(
    stack: str, request: pytest.FixtureRequest
) -> None:
    run: ProgramRun = request.getfixturevalue(stack)
    integrations = [i.name for i in ROADMAP.active(stack)]
    arns = {name: _resource_arns(run, name) for name in integrations}
    for name in integrations:
        others = set().union(*(arns[o] for o in integrations if o != name))
        log_prefix = f"log-group:/aws/lambda/{stack}-{name}-"
        for policy in of_type(owned(run, name), "RolePolicy"):
            for resource in _policy_resources(policy.inputs["policy"]):
                assert resource not in others, f"{policy.name} names {resource}"
                if resource == "*":
                    continue
                own = resource in arns[name] or _in_own_bucket(resource, arns[name])
                assert own or log_prefix in resource, (
                    f"{policy.name} names {resource}, which is not {name}'s"
                )


def test_a_missing_lambda_bundle_folder_fails_the_program_with_a_clear_message(
    tmp_path: Path,
) -> None:
    (tmp_path / "__main__.py").write_text((ROOT / "__main__.py").read_text())
    with pytest.raises(ProgramError, match=r"the sync Lambda bundle: bundle folder .*functions"):
        run_program("dev", program=tmp_path / "__main__.py", roadmap=ROOT / "roadmap.yaml")


def test_the_program_reads_built_bundles_only_and_names_the_build_step_when_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import provisioner.bundles

    def no_pip(*args: Any) -> None:
        raise AssertionError("the program ran pip")

    monkeypatch.setattr(provisioner.bundles, "_pip_install", no_pip)
    roadmap = ROOT / "roadmap.yaml"
    assert run_program("dev", roadmap=roadmap, build=False).resources  # built by setup
    monkeypatch.setattr(provisioner.bundles, "BUILD_DIR", tmp_path)
    with pytest.raises(ProgramError) as caught:
        run_program("dev", roadmap=roadmap, build=False)
    message = str(caught.value)
    assert "the sync Lambda bundle: functions-" in message
    assert "is not built" in message and "run `provisioner build`" in message


def test_integration_outputs_are_exported_per_integration(dev: ProgramRun) -> None:
    exported: dict[str, Any] = dev.stack_outputs["quote-to-order"]
    assert exported["phase"] == 5
    assert exported["queueUrl"].endswith("/dev-quote-to-order-queue.fifo")
    assert exported["roleArn"] == "arn:aws:iam::111111111111:role/dev-quote-to-order-role"
    assert set(exported["secretArns"]) == {"salesforce-jwt", "netsuite-m2m"}
    assert exported["dlqUrl"].endswith("/dev-quote-to-order-dlq.fifo")
    assert exported["functionNames"] == {
        "consumer": "dev-quote-to-order-consumer",
        "reconcile": "dev-quote-to-order-reconcile",
        "rotation": "dev-quote-to-order-rotation",
    }
    assert exported["dashboardUrl"] == (
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"
        "#dashboards/dashboard/dev-quote-to-order-dashboard"
    )
    assert exported["alertTopicArn"].endswith(":dev-quote-to-order-alerts")
    assert exported["rotationRoleArn"].endswith(":role/dev-quote-to-order-rotation")


def test_secrets_delete_at_once_outside_prod_and_stay_recoverable_and_protected_in_prod(
    dev: ProgramRun, prod: ProgramRun
) -> None:
    # A deleted secret keeps its name through its recovery window: dev must re-create now.
    for secret in dev.by_type("aws:secretsmanager/secret:Secret"):
        assert secret.inputs["recoveryWindowInDays"] == 0, secret.name
        assert not secret.options["protect"]
    for secret in prod.by_type("aws:secretsmanager/secret:Secret"):
        assert secret.inputs["recoveryWindowInDays"] == 30, secret.name
        assert secret.options["protect"]
