"""Defence in depth in what the components create: each integration's key encrypts its logs,
function environments and topic; the key admits exactly the services that need it; every
secret is fenced; failed scheduled runs are kept.

Read from runs of the real program under the mock runtime (whose caller is
`arn:aws:iam::<account>:user/deployer`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from program_runs import stack_run

from components.credential_policies import secret_policy
from components.function import ASYNC_MAX_EVENT_AGE_SECONDS, ASYNC_RETRY_ATTEMPTS
from integration_policies.fence import SECRET_ACTIONS, denies, secret_fence_problems
from provisioner.program import run_program
from provisioner.records import ProgramRun, RecordedResource
from roadmap.stack_config import StackSettingsError, load_stack_settings

ROOT = Path(__file__).resolve().parents[1]

KEY, LOG_GROUP = "aws:kms/key:Key", "aws:cloudwatch/logGroup:LogGroup"
FUNCTION, TOPIC = "aws:lambda/function:Function", "aws:sns/topic:Topic"
SECRET, ROLE = "aws:secretsmanager/secret:Secret", "aws:iam/role:Role"
USER = "aws:iam/user:User"
ENCRYPTED_BY = {LOG_GROUP: "kmsKeyId", FUNCTION: "kmsKeyArn", TOPIC: "kmsMasterKeyId"}


def own(run: ProgramRun, integration: str, type_: str) -> list[RecordedResource]:
    return [r for r in run.by_type(type_) if run.integration_of(r) == integration]


def key_statements(run: ProgramRun, integration: str) -> list[dict[str, Any]]:
    [key] = own(run, integration, KEY)
    return list(json.loads(key.inputs["policy"])["Statement"])


def service_grants(run: ProgramRun, integration: str) -> dict[str, dict[str, Any]]:
    return {
        s["Principal"]["Service"]: s
        for s in key_statements(run, integration)
        if "Service" in s["Principal"]
    }


def test_logs_environments_and_topics_are_encrypted_with_their_integrations_key(
    prod: ProgramRun,
) -> None:
    checked = 0
    for type_, field in ENCRYPTED_BY.items():
        for resource in prod.by_type(type_):
            integration = prod.integration_of(resource)
            [key] = own(prod, str(integration), KEY)
            assert resource.inputs[field] == key.outputs["arn"], resource.name
            checked += 1
    assert checked >= 3 * 6  # every active integration has at least a rotator and its logs


def test_key_lets_cloudwatch_logs_use_it_for_exactly_its_own_log_groups(prod: ProgramRun) -> None:
    for integration in {prod.integration_of(k) for k in prod.by_type(KEY)} - {None}:
        logs = service_grants(prod, str(integration))["logs.eu-west-1.amazonaws.com"]
        context = logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
        groups = own(prod, str(integration), LOG_GROUP)
        assert sorted(context) == sorted(g.outputs["arn"] for g in groups)
        assert "kms:ScheduleKeyDeletion" not in logs["Action"]


def test_alarms_and_eventbridge_may_use_the_key_only_where_a_topic_exists(
    prod: ProgramRun,
) -> None:
    seen = set()
    for integration in {prod.integration_of(k) for k in prod.by_type(KEY)} - {None}:
        grants = service_grants(prod, str(integration))
        topics = own(prod, str(integration), TOPIC)
        publishers = {"cloudwatch.amazonaws.com", "events.amazonaws.com"}
        assert set(grants) - {"logs.eu-west-1.amazonaws.com"} == (publishers if topics else set())
        for service in publishers & set(grants):
            condition = grants[service]["Condition"]
            assert condition["StringEquals"] == {"aws:SourceAccount": "333333333333"}
            assert grants[service]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
        seen.add(bool(topics))
    assert seen == {True, False}  # prod has integrations at phase 2 and at phase >= 3


def test_every_secret_is_fenced_for_its_roles_and_the_deploying_principal(
    prod: ProgramRun,
) -> None:
    deployer = "arn:aws:iam::333333333333:user/deployer"
    fences = {
        p.inputs["secretArn"]: json.loads(p.inputs["policy"])
        for p in prod.by_type("aws:secretsmanager/secretPolicy:SecretPolicy")
    }
    for secret in prod.by_type(SECRET):
        integration = str(prod.integration_of(secret))
        document = fences[secret.outputs["arn"]]
        roles = {
            r.name.removeprefix(f"{integration}-"): r.outputs["arn"]
            for r in own(prod, integration, ROLE)
        }
        users = {u.inputs["name"]: u.outputs["arn"] for u in own(prod, integration, USER)}
        assert (
            secret_fence_problems(
                document,
                integration=integration,
                account="333333333333",
                own_roles=roles.values(),
                rotator=roles["rotation-role"],
                pusher=users.get(secret.inputs["name"]),
            )
            == []
        )
        assert denies(document, "secretsmanager:PutResourcePolicy", deployer) is False
        stranger = "arn:aws:iam::333333333333:role/prod-other-integration-role"
        assert all(denies(document, action, stranger) for action in SECRET_ACTIONS)


STAGE = "secretsmanager:VersionStage"


def test_a_pushers_access_key_is_read_by_its_rotator_and_by_the_pusher_at_awscurrent_only(
    prod: ProgramRun,
) -> None:
    policy = prod.find("lead-to-account-cred-marketo-pusher-resource-policy")
    document = json.loads(policy.inputs["policy"])
    role = prod.find("lead-to-account-role", ROLE).outputs["arn"]
    rotator = prod.find("lead-to-account-rotation-role", ROLE).outputs["arn"]
    pusher = prod.find("lead-to-account-cred-marketo-pusher", USER).outputs["arn"]
    read = "secretsmanager:GetSecretValue"
    assert denies(document, read, role) is True
    assert denies(document, read, rotator) is False
    assert denies(document, read, pusher, {STAGE: "AWSCURRENT"}) is False
    for stage in ("AWSPENDING", "AWSPREVIOUS", None):
        assert denies(document, read, pusher, {STAGE: stage}) is True
    for action in SECRET_ACTIONS:
        if action != read:
            assert denies(document, action, pusher) is True, action
    # Another integration's pusher gets nothing from this exception.
    other = pusher.replace("lead-to-account", "quote-to-order")
    assert denies(document, read, other, {STAGE: "AWSCURRENT"}) is True


def _fence_problems(document: dict[str, Any], pusher: str) -> list[str]:
    return [
        problem
        for problem, _ in secret_fence_problems(
            document,
            integration="lead",
            account="1",
            own_roles=["arn:aws:iam::1:role/p-lead-role", "arn:aws:iam::1:role/p-lead-rotation"],
            rotator="arn:aws:iam::1:role/p-lead-rotation",
            pusher=pusher,
        )
    ]


PUSHER = "arn:aws:iam::1:user/p-lead-cred-pusher"


def test_the_fence_exception_for_a_pusher_is_that_user_that_secret_and_awscurrent_only() -> None:
    rotator, admin = "arn:aws:iam::1:role/p-lead-rotation", "arn:aws:iam::1:user/deployer"
    narrow = json.loads(secret_policy([], rotator, [admin], current_reader=PUSHER))
    assert _fence_problems(narrow, PUSHER) == []
    # Exempt from the read fence without the stage condition: every version is readable.
    broad = json.loads(secret_policy([PUSHER], rotator, [admin]))
    assert any(
        "may read versions other than AWSCURRENT" in p for p in _fence_problems(broad, PUSHER)
    )
    # The exception names a user whose key this secret does not hold.
    stranger = "arn:aws:iam::1:user/p-other-cred-pusher"
    foreign = json.loads(secret_policy([], rotator, [admin], current_reader=stranger))
    found = _fence_problems(foreign, PUSHER)
    assert any(p.startswith(f"{stranger} may read the credential") for p in found)
    assert any("cannot read its current key" in p for p in found)
    # The sync role among the readers of a pusher's key.
    synced = json.loads(
        secret_policy(["arn:aws:iam::1:role/p-lead-role"], rotator, [admin], current_reader=PUSHER)
    )
    assert any("p-lead-role may read the access key" in p for p in _fence_problems(synced, PUSHER))


def test_a_secret_policy_needs_an_administrator() -> None:
    with pytest.raises(ValueError, match="deploying principal"):
        secret_policy(
            readers=["arn:aws:iam::1:role/r"], rotator="arn:aws:iam::1:role/x", administrators=[""]
        )


def test_scheduled_jobs_send_failed_runs_to_their_dlq_after_deliberate_retries(
    prod: ProgramRun,
) -> None:
    configs = prod.by_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    scheduled = [f for f in prod.by_type(FUNCTION) if f.name.endswith(("-batch", "-reconcile"))]
    # A rotation function retiring pushers' keys on a schedule, too (components/credential.py).
    scheduled += [
        prod.find(r.name.removesuffix("-schedule"), FUNCTION)
        for r in prod.by_type("aws:cloudwatch/eventRule:EventRule")
        if r.name.endswith("-rotation-schedule")
    ]
    assert any(f.name.endswith("-rotation") for f in scheduled)
    assert scheduled and len(configs) == len(scheduled)
    for config in configs:
        integration = str(prod.integration_of(config))
        dlq = prod.find(f"{integration}-dlq", "aws:sqs/queue:Queue")
        assert config.inputs["destinationConfig"] == {
            "onFailure": {"destination": dlq.outputs["arn"]}
        }
        assert config.inputs["maximumRetryAttempts"] == ASYNC_RETRY_ATTEMPTS
        assert config.inputs["maximumEventAgeInSeconds"] == ASYNC_MAX_EVENT_AGE_SECONDS
        assert (
            "deadLetterConfig" not in prod.find(config.name.removesuffix("-async"), FUNCTION).inputs
        )


def test_protected_state_tables_refuse_deletion_only_where_the_stack_protects(
    prod: ProgramRun,
) -> None:
    dev = stack_run("dev")
    tables = "aws:dynamodb/table:Table"
    assert all(t.inputs["deletionProtectionEnabled"] is True for t in prod.by_type(tables))
    assert all(t.inputs["deletionProtectionEnabled"] is False for t in dev.by_type(tables))


def test_every_stack_administrator_keeps_the_fence_but_never_reads() -> None:
    ci = "arn:aws:iam::111111111111:role/ci/deploy-integrations"
    run = run_program("dev", config={"secretAdministratorArns": json.dumps([ci])})
    for fence in run.by_type("aws:secretsmanager/secretPolicy:SecretPolicy"):
        document = json.loads(fence.inputs["policy"])
        for admin in (ci, "arn:aws:iam::111111111111:user/deployer"):
            assert denies(document, "secretsmanager:PutResourcePolicy", admin) is False
            assert denies(document, "secretsmanager:GetSecretValue", admin) is True


def test_a_secret_administrator_must_be_an_iam_role_or_user_arn(tmp_path: Path) -> None:
    stack = (ROOT / "stacks/Pulumi.dev.yaml").read_text()
    (tmp_path / "Pulumi.dev.yaml").write_text(
        stack + '  integration-provisioner:secretAdministratorArns: ["ci-role"]\n'
    )
    with pytest.raises(StackSettingsError, match=r"secretAdministratorArns\[0\]"):
        load_stack_settings(tmp_path, "dev")
