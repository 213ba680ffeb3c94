"""The rules each component's resources follow: queues, functions, IAM, keys, secrets, state.

Read from runs of the real program (`__main__.py`) under the mock runtime.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from program_runs import stack_run

from provisioner.program import run_program
from provisioner.records import ProgramRun, RecordedResource, iter_secret_values
from roadmap.io import load_roadmap

ROOT = Path(__file__).resolve().parent.parent
ROADMAP = load_roadmap(ROOT / "roadmap.yaml")
QUEUE = "aws:sqs/queue:Queue"
FUNCTION = "aws:lambda/function:Function"


def statements(resource: RecordedResource, key: str = "policy") -> list[dict[str, Any]]:
    return list(json.loads(resource.inputs[key])["Statement"])


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --------------------------------------------------------------------------- SyncQueue


def test_ordered_integrations_get_fifo_queues_and_others_standard(dev: ProgramRun) -> None:
    quote = dev.find("quote-to-order-queue")  # ordering: strict
    assert quote.inputs["fifoQueue"] is True
    assert quote.inputs["name"].endswith(".fifo")
    assert dev.find("quote-to-order-dlq").inputs["fifoQueue"] is True
    inventory = dev.find("inventory-to-promise-queue")  # ordering: none
    assert "fifoQueue" not in inventory.inputs
    assert not inventory.inputs["name"].endswith(".fifo")


def _source_queues(run: ProgramRun) -> list[RecordedResource]:
    """Every queue a consumer reads: each direction's `queue` (a bidirectional flow's way
    back reads its `reverse-queue`)."""
    return [q for q in run.by_type(QUEUE) if q.name.endswith("-queue")]


def _consumer_of(run: ProgramRun, queue: RecordedResource) -> RecordedResource:
    """The function whose SQS trigger reads `queue`."""
    [trigger] = [
        t
        for t in run.by_type("aws:lambda/eventSourceMapping:EventSourceMapping")
        if t.inputs["eventSourceArn"] == queue.outputs["arn"]
    ]
    [function] = [
        f for f in run.by_type(FUNCTION) if f.outputs["arn"] == trigger.inputs["functionName"]
    ]
    return function


def test_visibility_timeout_is_at_least_six_times_the_consumer_timeout(dev: ProgramRun) -> None:
    sources = _source_queues(dev)
    # One per queued integration at phase 3 or more in dev, plus campaign-sync's way back.
    assert len(sources) == 7
    for queue in sources:
        consumer = _consumer_of(dev, queue)
        visibility = queue.inputs["visibilityTimeoutSeconds"]
        assert isinstance(visibility, int)  # Struct doubles turned back into ints
        assert visibility >= 6 * consumer.inputs["timeout"]


def test_redrive_to_own_dlq_after_at_least_five_receives(dev: ProgramRun) -> None:
    for queue in _source_queues(dev):
        dlq = dev.find(f"{queue.name.removesuffix('queue')}dlq")
        redrive = json.loads(queue.inputs["redrivePolicy"])
        assert redrive["deadLetterTargetArn"] == dlq.outputs["arn"]
        assert redrive["maxReceiveCount"] >= 5
        assert dlq.inputs["messageRetentionSeconds"] > queue.inputs["messageRetentionSeconds"]
        allow = json.loads(dev.find(f"{dlq.name}-redrive-allow").inputs["redriveAllowPolicy"])
        assert allow == {"redrivePermission": "byQueue", "sourceQueueArns": [queue.outputs["arn"]]}


def test_every_queue_is_encrypted_with_its_integrations_key(dev: ProgramRun) -> None:
    for queue in dev.by_type(QUEUE):
        key = dev.find(f"{dev.integration_of(queue)}-key")
        assert queue.inputs["kmsMasterKeyId"] == key.outputs["arn"]


def test_every_queue_has_an_https_only_policy(dev: ProgramRun) -> None:
    policies = {p.inputs["queueUrl"]: p for p in dev.by_type("aws:sqs/queuePolicy:QueuePolicy")}
    for queue in dev.by_type(QUEUE):
        [statement] = statements(policies[queue.outputs["url"]])
        assert statement["Effect"] == "Deny"
        assert statement["Resource"] == queue.outputs["arn"]
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_scheduled_patterns_get_a_dlq_but_no_source_queue(dev: ProgramRun) -> None:
    names = {q.name for q in dev.by_type(QUEUE)}
    assert "order-to-invoice-dlq" in names and "order-to-invoice-queue" not in names
    batch = dev.find("order-to-invoice-batch-async")
    assert (
        batch.inputs["destinationConfig"]["onFailure"]["destination"]
        == (dev.find("order-to-invoice-dlq").outputs["arn"])
    )


def test_batch_functions_get_the_stacks_overlap_window(dev: ProgramRun) -> None:
    from provisioner.paths import STACKS_DIR
    from roadmap.stack_config import load_stack_settings

    window = load_stack_settings(STACKS_DIR, "dev").batch_overlap_seconds
    batch = dev.find("order-to-invoice-batch", FUNCTION)
    assert batch.inputs["environment"]["variables"]["BATCH_OVERLAP_SECONDS"] == str(window)
    consumer = dev.find("quote-to-order-consumer", FUNCTION)
    assert "BATCH_OVERLAP_SECONDS" not in consumer.inputs["environment"]["variables"]


# --------------------------------------------------------------------------- SyncFunction


def test_queue_triggers_report_batch_item_failures_with_maximum_concurrency(
    dev: ProgramRun,
) -> None:
    triggers = dev.by_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    assert len(triggers) == len(_source_queues(dev))
    for trigger in triggers:
        assert trigger.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
        assert trigger.inputs["scalingConfig"]["maximumConcurrency"] >= 2


def test_only_the_public_webhook_ingress_reserves_concurrency(dev: ProgramRun) -> None:
    from contract.naming import WEBHOOK_INGRESS_ROLE
    from roadmap.concurrency import reserved_concurrency

    reserving = {
        str(f.inputs["name"]): f.inputs["reservedConcurrentExecutions"]
        for f in dev.by_type(FUNCTION)
        if "reservedConcurrentExecutions" in f.inputs
    }
    expected = reserved_concurrency(ROADMAP, "dev")
    assert expected == {"refund-capture": 5}
    assert reserving == {
        f"dev-{name}-{WEBHOOK_INGRESS_ROLE}": count for name, count in expected.items()
    }


def test_maximum_concurrency_follows_the_tightest_api_limit(dev: ProgramRun) -> None:
    def concurrency(name: str) -> int:
        return int(
            dev.find(f"{name}-consumer-trigger").inputs["scalingConfig"]["maximumConcurrency"]
        )

    # netsuite 10 rps and shopify 20 rps: 10 concurrent consumers.
    assert concurrency("inventory-to-promise") == 10
    # 60,000 Salesforce calls a day average 0.7/s: the floor of 2.
    assert concurrency("quote-to-order") == 2


def test_every_function_has_a_log_group_with_the_stack_retention(prod: ProgramRun) -> None:
    groups = {g.inputs["name"]: g for g in prod.by_type("aws:cloudwatch/logGroup:LogGroup")}
    for function in prod.by_type(FUNCTION):
        group = groups[f"/aws/lambda/{function.inputs['name']}"]
        assert group.inputs["retentionInDays"] == 365


def test_handlers_and_timeouts_follow_the_contract(dev: ProgramRun) -> None:
    expected = {
        "consumer": ("integration_sync.consumer.handler", 60),
        "batch": ("integration_sync.batch.handler", 300),
        "reconcile": ("integration_sync.reconcile.handler", 300),
        "rotation": ("credential_rotation.handler.lambda_handler", 300),
        "webhook": ("integration_sync.webhook.handler", 5),
    }
    for function in dev.by_type(FUNCTION):
        kind = function.inputs["name"].rsplit("-", 1)[1]
        assert (function.inputs["handler"], function.inputs["timeout"]) == expected[kind]
        assert function.inputs["code"]["archive"]["path"].endswith(".zip")


def test_environment_carries_names_and_arns_never_secret_values(dev: ProgramRun) -> None:
    secrets = set(iter_secret_values(dev))
    assert len(secrets) == len(dev.by_type("aws:secretsmanager/secretVersion:SecretVersion"))
    consumer = dev.find("quote-to-order-consumer", FUNCTION)
    env = consumer.inputs["environment"]["variables"]
    assert (
        env["TARGET_CREDENTIAL_SECRET_ARN"]
        == (dev.find("quote-to-order-cred-netsuite-m2m").outputs["arn"])
    )
    assert env["SOURCE_CREDENTIAL_SECRET_ARN"].startswith("arn:aws:secretsmanager:")
    assert env["QUEUE_URL"] == dev.find("quote-to-order-queue").outputs["url"]
    assert env["FIFO"] == "true" and env["METRICS_NAMESPACE"] == "Integrations/quote-to-order"
    mapping = json.loads(env["FIELD_MAPPING"])
    assert mapping["quote"]["external_id"] == "externalId"
    for function in dev.by_type(FUNCTION):
        values = json.dumps(function.inputs.get("environment", {}))
        assert not [s for s in secrets if s in values or s.split("-")[-1] in values]


# --------------------------------------------------------------------------- ServiceAccount


def test_role_policies_use_no_wildcard_actions_and_star_only_for_put_metric_data(
    dev: ProgramRun,
) -> None:
    policies = dev.by_type("aws:iam/rolePolicy:RolePolicy") + dev.by_type(
        "aws:iam/userPolicy:UserPolicy"
    )
    for policy in policies:
        for statement in statements(policy):
            assert statement["Effect"] == "Allow"
            for action in as_list(statement["Action"]):
                assert "*" not in action, f"{policy.name}: {action}"
            if "*" in as_list(statement["Resource"]):
                assert statement["Action"] == ["cloudwatch:PutMetricData"]
                namespace = statement["Condition"]["StringEquals"]["cloudwatch:namespace"]
                assert namespace == f"Integrations/{dev.integration_of(policy)}"


def test_one_lambda_role_per_integration_with_lambda_trust(dev: ProgramRun) -> None:
    # The stage role is assumed by the warehouse, not run by Lambda (test_stage.py).
    roles = [
        r
        for r in dev.by_type("aws:iam/role:Role")
        if r.name.endswith("-role") and not r.name.endswith("-stage-role")
    ]
    main_roles = [r for r in roles if not r.name.endswith("-rotation-role")]
    assert sorted(dev.integration_of(r) or "" for r in main_roles) == sorted(
        i.name for i in ROADMAP.active("dev")
    )
    for role in roles:
        [trust] = statements(role, "assumeRolePolicy")
        assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_pusher_user_may_only_send_to_its_queue_from_the_roadmap_ranges(
    prod: ProgramRun,
) -> None:
    users = prod.by_type("aws:iam/user:User")
    assert [u.inputs["name"] for u in users] == ["prod-lead-to-account-cred-marketo-pusher"]
    send, encrypt, _, _ = statements(prod.find("lead-to-account-cred-marketo-pusher-policy"))
    assert send["Action"] == ["sqs:SendMessage"]
    assert send["Resource"] == [prod.find("lead-to-account-queue").outputs["arn"]]
    ranges = ["192.28.144.0/20", "199.15.212.0/22"]
    assert send["Condition"] == {"IpAddress": {"aws:SourceIp": ranges}}
    assert encrypt["Condition"]["IpAddress"] == {"aws:SourceIp": ranges}
    assert encrypt["Condition"]["StringEquals"] == {"kms:ViaService": "sqs.eu-west-1.amazonaws.com"}


def test_pusher_reads_only_its_own_current_key_and_the_sync_role_never(prod: ProgramRun) -> None:
    _, _, read, decrypt = statements(prod.find("lead-to-account-cred-marketo-pusher-policy"))
    secret = prod.find(
        "lead-to-account-cred-marketo-pusher", "aws:secretsmanager/secret:Secret"
    ).outputs["arn"]
    ranges = {"aws:SourceIp": ["192.28.144.0/20", "199.15.212.0/22"]}
    assert (read["Action"], read["Resource"]) == (["secretsmanager:GetSecretValue"], [secret])
    assert read["Condition"] == {
        "StringEquals": {"secretsmanager:VersionStage": "AWSCURRENT"},
        "IpAddress": ranges,
    }
    assert decrypt["Action"] == ["kms:Decrypt"]
    assert decrypt["Condition"]["StringEquals"] == {
        "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"
    }
    role_policy = prod.find("lead-to-account-policy")
    readable = [
        arn
        for statement in statements(role_policy)
        if "secretsmanager:GetSecretValue" in statement["Action"]
        for arn in as_list(statement["Resource"])
    ]
    assert readable and secret not in readable


# --------------------------------------------------------------------------- ScopedCredential


def test_keys_rotate_and_their_policy_admits_only_own_roles(prod: ProgramRun) -> None:
    for key in prod.by_type("aws:kms/key:Key"):
        integration = prod.integration_of(key)
        assert key.inputs["enableKeyRotation"] is True
        if integration is None:  # the stack's audit-trail key: tests/test_policies_audit.py
            assert key.name.startswith("stack-audit"), key.name
            continue
        allowed: set[str] = set()
        for statement in statements(key):
            if "Service" in statement["Principal"]:  # test_components_hardening.py
                continue
            assert statement["Principal"] == {"AWS": "arn:aws:iam::333333333333:root"}
            assert not [a for a in statement["Action"] if a.endswith("*")]
            arns = statement.get("Condition", {}).get("ArnEquals", {}).get("aws:PrincipalArn")
            allowed |= set(arns or ())
        own = {
            f"arn:aws:iam::333333333333:role/prod-{integration}-{r}" for r in ("role", "rotation")
        }
        assert own <= allowed
        assert all(f"prod-{integration}-" in arn for arn in allowed)


def test_rotation_schedule_never_exceeds_the_stack_maximum(tmp_path: Path) -> None:
    # The roadmap asks 60 days for the pusher key; dev allows 90, prod only 30.
    text = (ROOT / "roadmap.yaml").read_text()
    slower = text.replace("        rotation_days: 30\n", "        rotation_days: 60\n", 1)
    assert slower != text
    roadmap = tmp_path / "roadmap.yaml"
    roadmap.write_text(slower)

    def days(stack: str) -> dict[str, int]:
        run = run_program(stack, roadmap=roadmap)
        return {
            r.name: int(r.inputs["rotationRules"]["automaticallyAfterDays"])
            for r in run.by_type("aws:secretsmanager/secretRotation:SecretRotation")
        }

    dev, prod = days("dev"), days("prod")
    assert dev["lead-to-account-cred-marketo-pusher-rotation"] == 60
    assert prod["lead-to-account-cred-marketo-pusher-rotation"] == 30
    assert max(prod.values()) <= 30


def test_rotation_function_is_invocable_only_by_secrets_manager_and_its_retirement_schedule(
    prod: ProgramRun,
) -> None:
    rotations = [f for f in prod.by_type(FUNCTION) if f.name.endswith("-rotation")]
    permissions: dict[str, list[RecordedResource]] = {}
    for p in prod.by_type("aws:lambda/permission:Permission"):
        permissions.setdefault(p.inputs["function"], []).append(p)
    rules = {r.outputs["arn"]: r for r in prod.by_type("aws:cloudwatch/eventRule:EventRule")}
    for function in rotations:
        by_secrets, *by_schedule = permissions[function.inputs["name"]]
        assert by_secrets.inputs["principal"] == "secretsmanager.amazonaws.com"
        assert by_secrets.inputs["sourceAccount"] == "333333333333"
        assert by_secrets.inputs["action"] == "lambda:InvokeFunction"
        for permission in by_schedule:  # only where the integration has pushers
            assert permission.inputs["principal"] == "events.amazonaws.com"
            rule = rules[permission.inputs["sourceArn"]]
            assert rule.name == function.name.replace("-rotation", "-rotation-schedule")


def test_pushers_superseded_keys_are_retired_by_the_rotation_function_on_a_schedule(
    prod: ProgramRun,
) -> None:
    from components.credential import RETIRE_GRACE_SECONDS, RETIRE_SCHEDULE

    rule = prod.find("lead-to-account-rotation-schedule")
    assert rule.inputs["scheduleExpression"] == RETIRE_SCHEDULE
    target = prod.find("lead-to-account-rotation-target")
    assert target.inputs["arn"] == prod.find("lead-to-account-rotation", FUNCTION).outputs["arn"]
    secret = prod.find("lead-to-account-cred-marketo-pusher", "aws:secretsmanager/secret:Secret")
    assert json.loads(target.inputs["input"]) == {
        "retirePreviousKeys": {
            "SecretIds": [secret.outputs["arn"]],
            "GraceSeconds": RETIRE_GRACE_SECONDS,
        }
    }
    dlq = prod.find("lead-to-account-dlq").outputs["arn"]
    config = prod.find("lead-to-account-rotation-async").inputs
    assert config["destinationConfig"]["onFailure"]["destination"] == dlq
    send, encrypt = statements(prod.find("lead-to-account-rotation-retire-policy"))
    assert (send["Action"], send["Resource"]) == (["sqs:SendMessage"], [dlq])
    assert encrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": "sqs.eu-west-1.amazonaws.com"}
    }
    rekey = next(
        s
        for s in statements(prod.find("lead-to-account-rotation-policy"))
        if s["Sid"] == "RekeyOwnPushers"
    )
    assert "iam:GetAccessKeyLastUsed" in rekey["Action"]
    assert rekey["Resource"] == [
        "arn:aws:iam::333333333333:user/prod-lead-to-account-cred-marketo-pusher"
    ]
    # Integrations without a pusher get no schedule.
    schedules = [r.name for r in prod.by_type("aws:cloudwatch/eventRule:EventRule")]
    assert [n for n in schedules if n.endswith("-rotation-schedule")] == [
        "lead-to-account-rotation-schedule"
    ]


def test_pushers_secret_fence_lets_the_pusher_read_its_current_version_only(
    prod: ProgramRun,
) -> None:
    policy = json.loads(
        prod.find("lead-to-account-cred-marketo-pusher-resource-policy").inputs["policy"]
    )
    pusher = "arn:aws:iam::333333333333:user/prod-lead-to-account-cred-marketo-pusher"
    read, current_only = policy["Statement"][:2]
    assert pusher in read["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
    assert (
        "arn:aws:iam::333333333333:role/prod-lead-to-account-role"
        not in (read["Condition"]["ArnNotEquals"]["aws:PrincipalArn"])
    )
    assert current_only["Effect"] == "Deny"
    assert current_only["Condition"] == {
        "ArnEquals": {"aws:PrincipalArn": pusher},
        "StringNotEquals": {"secretsmanager:VersionStage": "AWSCURRENT"},
    }


def test_secrets_are_encrypted_with_own_key_and_versions_left_to_rotation(
    dev: ProgramRun,
) -> None:
    for secret in dev.by_type("aws:secretsmanager/secret:Secret"):
        key = dev.find(f"{dev.integration_of(secret)}-key")
        assert secret.inputs["kmsKeyId"] == key.outputs["arn"]
    for version in dev.by_type("aws:secretsmanager/secretVersion:SecretVersion"):
        assert ("secretString",) in version.secret_paths  # a Pulumi secret
        assert "secretString" in version.options["ignoreChanges"]


def test_bootstrap_versions_match_the_rotation_bundles_formats(dev: ProgramRun) -> None:
    sys.path.insert(0, str(ROOT / "secrets"))
    try:
        from credential_rotation.formats import parse_secret
    finally:
        sys.path.remove(str(ROOT / "secrets"))
    versions = dev.by_type("aws:secretsmanager/secretVersion:SecretVersion")
    kinds = set()
    for version in versions:
        document = parse_secret(version.inputs["secretString"])
        assert document["bootstrap"] is True
        kinds.add(document["kind"])
    assert kinds == {c.kind.value for i in ROADMAP.active("dev") for c in i.credentials}
    assert {"salesforce_jwt_bearer", "iam_access_key", "webhook_signing_secret"} <= kinds


@pytest.mark.parametrize(
    ("type_", "name"),
    [
        ("aws:kms/key:Key", "quote-to-order-key"),
        ("aws:secretsmanager/secret:Secret", "quote-to-order-cred-salesforce-jwt"),
        (QUEUE, "quote-to-order-queue"),
        (QUEUE, "quote-to-order-dlq"),
        ("aws:dynamodb/table:Table", "quote-to-order-state"),
    ],
)
def test_stateful_resources_are_protected_only_where_the_stack_says(
    dev: ProgramRun, prod: ProgramRun, type_: str, name: str
) -> None:
    assert prod.find(name, type_).options["protect"] is True
    assert dev.find(name, type_).options["protect"] is False


# --------------------------------------------------------------------------- IdempotencyStore


def test_state_table_is_encrypted_expires_records_and_admits_only_own_role(
    dev: ProgramRun,
) -> None:
    table = dev.find("quote-to-order-state")
    assert table.inputs["hashKey"] == "id"
    assert table.inputs["ttl"] == {"attributeName": "expiration", "enabled": True}
    key = dev.find("quote-to-order-key")
    assert table.inputs["serverSideEncryption"] == {
        "enabled": True,
        "kmsKeyArn": key.outputs["arn"],
    }
    [deny] = statements(dev.find("quote-to-order-state-policy"))
    assert deny["Effect"] == "Deny" and deny["Resource"] == table.outputs["arn"]
    role = dev.find("quote-to-order-role")
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": role.outputs["arn"]}}


def test_role_policy_statement_ids_are_unique_at_every_phase() -> None:
    """IAM rejects a policy whose statements share a Sid (MalformedPolicyDocument)."""
    for stack in ("dev", "staging", "prod"):
        run = stack_run(stack)
        for resource in run.by_type("aws:iam/rolePolicy:RolePolicy"):
            sids = [s.get("Sid") for s in json.loads(resource.inputs["policy"])["Statement"]]
            sids = [sid for sid in sids if sid]
            assert len(sids) == len(set(sids)), (resource.name, sids)


def test_permissions_boundary_applies_to_every_role_and_user() -> None:
    boundary = "arn:aws:iam::111111111111:policy/integration-boundary"
    run = run_program("dev", config={"permissionsBoundaryArn": boundary})
    principals = run.by_type("aws:iam/role:Role") + run.by_type("aws:iam/user:User")
    assert {r.name for r in principals} >= {"quote-to-order-role", "quote-to-order-rotation-role"}
    for principal in principals:
        assert principal.inputs.get("permissionsBoundary") == boundary, principal.name


def test_https_alert_subscriptions_wait_for_the_endpoint_to_confirm(prod: ProgramRun) -> None:
    subscription = prod.find("quote-to-order-alerts-subscription")
    assert subscription.inputs["protocol"] == "https"  # pagerduty:revops-oncall in prod
    assert subscription.inputs["endpointAutoConfirms"] is True
    assert subscription.inputs["confirmationTimeoutInMinutes"] >= 1
    dev = stack_run("dev")  # slack: paths go to the fallback e-mail on purpose there
    email = dev.find("lead-to-account-alerts-subscription")
    assert email.inputs["protocol"] == "email" and "endpointAutoConfirms" not in email.inputs


def test_slack_paths_post_through_an_aws_chatbot_channel_that_can_change_nothing(
    prod: ProgramRun,
) -> None:
    from contract.alerting import CHATBOT_GUARDRAILS
    from contract.aws_types import CHATBOT_SLACK_CHANNEL_CONFIGURATION

    config = prod.find("lead-to-account-alerts-chatbot", CHATBOT_SLACK_CHANNEL_CONFIGURATION).inputs
    assert (config["slackTeamId"], config["slackChannelId"]) == ("T07EA123LEP", "C07EZ1MOPS1")
    assert config["snsTopicArns"] == [prod.find("lead-to-account-alerts").outputs["arn"]]
    assert config["guardrailPolicyArns"] == list(CHATBOT_GUARDRAILS)
    assert config["userAuthorizationRequired"] is True
    role = prod.find("lead-to-account-alerts-chatbot-role", "aws:iam/role:Role")
    assert config["iamRoleArn"] == role.outputs["arn"]
    (trust,) = statements(role, "assumeRolePolicy")
    assert trust["Principal"] == {"Service": "chatbot.amazonaws.com"}
    granting = [
        r.name
        for r in prod.resources
        if r.type.startswith("aws:iam/rolePolicy") and "chatbot" in str(r.inputs.get("role"))
    ]
    assert granting == [] and "managedPolicyArns" not in role.inputs
    # The alerts reach Slack, not an e-mail nobody reads.
    assert not [r for r in prod.resources if r.name == "lead-to-account-alerts-subscription"]
    channels = {
        r.inputs["configurationName"] for r in prod.by_type(CHATBOT_SLACK_CHANNEL_CONFIGURATION)
    }
    assert channels == {f"prod-{i}-alerts-chatbot" for i in ("lead-to-account", "warehouse-export")}
