"""The rehearsal's rotation: the deployed rotation function in a worker process of its own,
its role's requests judged by the emulator's recorder.

One emulator for the module and one pusher's secret (``iam_access_key``: no fake issuer
needed), rotated by the real ``secrets/`` bundle through ``LambdaRunner`` as Secrets Manager
would (``secrets_rotation.rotate``). The role's policy is written per test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import requests
from test_lambda_runner import OWN_VARIABLES, deploy

from provisioner.rehearsal.access import EvaluatedCalls, role_policies
from provisioner.rehearsal.emulator import ADMIN_CREDENTIALS, Emulator
from provisioner.rehearsal.lambda_runner import LambdaRunner, _Zygote
from provisioner.rehearsal.moto_seams import backdate_access_key
from provisioner.rehearsal.secrets_rotation import rotate
from provisioner.rotate import RotationFailed

ACCOUNT = "111111111111"
USER = "dev-probe-pusher"
FUNCTION = "dev-probe-rotation"
ROLE = f"{FUNCTION}-role"  # as test_lambda_runner.deploy names it
HANDLER = "credential_rotation.handler.lambda_handler"
SECRET_ACTIONS = ("DescribeSecret", "GetSecretValue", "PutSecretValue", "UpdateSecretVersionStage")
USER_ACTIONS = (
    "CreateAccessKey",
    "DeleteAccessKey",
    "GetAccessKeyLastUsed",
    "ListAccessKeys",
    "UpdateAccessKey",
)


@pytest.fixture(scope="module")
def aws() -> Iterator[Emulator]:
    with Emulator(region="eu-west-1", account_id=ACCOUNT) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def deployed(aws: Emulator) -> dict[str, str]:
    """The pusher's user, its secret at the program's bootstrap version, the rotation role
    and function, and the secret's rotation configured, as the program deploys them."""
    user = aws.client("iam").create_user(UserName=USER)["User"]["Arn"]
    role = deploy(aws, FUNCTION, handler=HANDLER, timeout=60)
    lambdas = aws.client("lambda")
    function = lambdas.get_function_configuration(FunctionName=FUNCTION)["FunctionArn"]
    sm = aws.client("secretsmanager")
    bootstrap = {
        "kind": "iam_access_key",
        "user_name": USER,
        "access_key_id": "",
        "secret_access_key": "bootstrap-placeholder",
        "bootstrap": True,
    }
    secret = sm.create_secret(Name="dev-probe-cred-pusher", SecretString=json.dumps(bootstrap))
    sm.rotate_secret(
        SecretId=secret["ARN"],
        RotationLambdaARN=function,
        RotationRules={"AutomaticallyAfterDays": 30},
        RotateImmediately=False,
    )
    for version, stages in sm.describe_secret(SecretId=secret["ARN"])["VersionIdsToStages"].items():
        if "AWSPENDING" in stages and "AWSCURRENT" not in stages:  # moto's configuration test
            sm.update_secret_version_stage(
                SecretId=secret["ARN"], VersionStage="AWSPENDING", RemoveFromVersionId=version
            )
    return {"secret": secret["ARN"], "user": user, "role": role, "function": function}


def allow(aws: Emulator, deployed: dict[str, str], secret_actions: tuple[str, ...]) -> None:
    """The rotation role's policy: ``secret_actions`` on its secret, the key actions on its
    user, nothing else."""
    statements = [
        {
            "Effect": "Allow",
            "Action": [f"secretsmanager:{a}" for a in secret_actions],
            "Resource": deployed["secret"],
        },
        {
            "Effect": "Allow",
            "Action": [f"iam:{a}" for a in USER_ACTIONS],
            "Resource": deployed["user"],
        },
    ]
    aws.client("iam").put_role_policy(
        RoleName=ROLE,
        PolicyName="rotation",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )


def judged(aws: Emulator) -> EvaluatedCalls:
    return EvaluatedCalls(aws, f"rotation role {ROLE}", role_policies(aws, ROLE))


def stages(aws: Emulator, arn: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = aws.admin("secretsmanager").describe_secret(SecretId=arn)[
        "VersionIdsToStages"
    ]
    return found


def handed_environments(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    """The environment each worker forked from now on is handed: its zygote puts it in
    place of its own before the handler is imported (``/proc/<pid>/environ`` of a forked
    process still shows the zygote's, so the test reads it where the runner hands it)."""
    handed: list[dict[str, str]] = []
    fork = _Zygote.fork

    def recording(
        zygote: _Zygote, handler: str, environment: dict[str, str], streams: Sequence[int]
    ) -> int:
        handed.append(dict(environment))
        return fork(zygote, handler, environment, streams)

    monkeypatch.setattr(_Zygote, "fork", recording)
    return handed


def test_a_rotation_role_without_put_on_its_secret_is_refused_naming_the_call_and_secret(
    aws: Emulator, deployed: dict[str, str]
) -> None:
    allow(aws, deployed, tuple(a for a in SECRET_ACTIONS if a != "PutSecretValue"))
    before = stages(aws, deployed["secret"])
    calls = judged(aws)
    with (
        aws.recorder.judging(deployed["role"], calls),
        LambdaRunner(aws) as lambdas,
        pytest.raises(RotationFailed) as failed,
    ):
        rotate(aws, lambdas, deployed["secret"])
    message = str(failed.value)
    assert message.startswith(f"createSecret failed for {deployed['secret']} (version "), message
    assert (
        f"rotation role {ROLE} is not authorized to perform secretsmanager:PutSecretValue on "
        f"{deployed['secret']} (its policies, evaluated)" in message
    ), message
    # Refused by the emulator before moto served it: nothing stored, no key issued.
    assert ("secretsmanager:PutSecretValue", deployed["secret"]) in calls.evaluated
    assert stages(aws, deployed["secret"]) == before
    assert aws.client("iam").list_access_keys(UserName=USER)["AccessKeyMetadata"] == []


def test_the_worker_rotates_as_its_role_with_only_its_environment_and_retires_on_schedule(
    aws: Emulator, deployed: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    allow(aws, deployed, SECRET_ACTIONS)
    monkeypatch.setenv("DEVELOPER_TOKEN", "not-for-the-function")
    calls = judged(aws)
    environments = handed_environments(monkeypatch)
    with aws.recorder.judging(deployed["role"], calls), LambdaRunner(aws) as lambdas:
        first = rotate(aws, lambdas, deployed["secret"])
        second = rotate(aws, lambdas, deployed["secret"])
        event = {"retirePreviousKeys": {"SecretIds": [deployed["secret"]], "GraceSeconds": 3600}}
        kept = lambdas.invoke(deployed["function"], event).response()
        old = json.loads(
            aws.admin("secretsmanager").get_secret_value(
                SecretId=deployed["secret"], VersionId=first.version_id
            )["SecretString"]
        )["access_key_id"]
        backdate_access_key(ACCOUNT, old, 3600 + 60)  # the grace period has passed
        retired = lambdas.invoke(deployed["function"], event).response()
    assert stages(aws, deployed["secret"])[second.version_id] == ["AWSCURRENT"]
    assert second.previous_version_id == first.version_id
    assert "kept active" in kept[0] and f"deactivated previous key {old}" in retired[0]
    keys = aws.client("iam").list_access_keys(UserName=USER)["AccessKeyMetadata"]
    assert {k["AccessKeyId"]: k["Status"] for k in keys}[old] == "Inactive"
    # Every call the worker made was its role's, judged on the resource it names.
    assert ("iam:CreateAccessKey", deployed["user"]) in calls.evaluated
    assert ("secretsmanager:UpdateSecretVersionStage", deployed["secret"]) in calls.evaluated
    # One execution environment: the function's variables, the emulator, its role's session.
    (environ,) = environments
    assert environ["_HANDLER"] == HANDLER
    assert {k: environ[k] for k in OWN_VARIABLES} == OWN_VARIABLES
    assert environ["AWS_ENDPOINT_URL"] == aws.endpoint
    assert environ["AWS_ACCESS_KEY_ID"] != ADMIN_CREDENTIALS["aws_access_key_id"]
    assert "AWS_SESSION_TOKEN" in environ
    assert not {"DEVELOPER_TOKEN", "HOME", "VIRTUAL_ENV"} & set(environ), sorted(environ)


def test_an_announced_pending_version_is_shown_only_while_the_rotation_runs(
    aws: Emulator, deployed: dict[str, str]
) -> None:
    """The emulator shows the announced AWSPENDING version only while the rotation runs."""
    from provisioner.rehearsal.moto_seams import pending_version

    arn = deployed["secret"]
    current = next(v for v, s in stages(aws, arn).items() if "AWSCURRENT" in s)
    with pending_version(arn, "announced-token"):
        shown: dict[str, Any] = stages(aws, arn)
    assert shown["announced-token"] == ["AWSPENDING"]
    assert "AWSPENDING" not in shown[current]
    assert "announced-token" not in stages(aws, arn)


def test_a_request_the_recorder_cannot_judge_is_refused_not_let_through(
    aws: Emulator, deployed: dict[str, str]
) -> None:
    from botocore.exceptions import ClientError

    from provisioner.rehearsal.access import assume

    class Broken:
        def judge(self, prefix: str, operation: str, params: Any) -> str | None:
            raise LookupError(f"no ARN for {params}")

    sm = aws.client("secretsmanager", assume(aws, deployed["role"]))
    with aws.recorder.judging(deployed["role"], Broken()), pytest.raises(ClientError) as refused:
        sm.describe_secret(SecretId=deployed["secret"])
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "could not judge secretsmanager:DescribeSecret: LookupError" in str(refused.value)
    assert sm.describe_secret(SecretId=deployed["secret"])["ARN"] == deployed["secret"]
    # A request the role presigned (the credential in the query string) is judged too.
    url = aws.client("sts", assume(aws, deployed["role"])).generate_presigned_url(
        "get_caller_identity"
    )
    with aws.recorder.judging(deployed["role"], Broken()):
        presigned = requests.get(url, timeout=30)
    assert presigned.status_code == 403 and "sts:GetCallerIdentity" in presigned.text
