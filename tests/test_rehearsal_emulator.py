"""The emulator lifecycle, the creator table with hand-written inputs, and IAM enforcement."""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest
import requests

from contract import aws_types
from contract.aws_types import (
    EC2_INSTANCE,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    LAMBDA_FUNCTION,
    SECRETS_MANAGER_SECRET,
    SECRETS_MANAGER_SECRET_ROTATION,
    SECRETS_MANAGER_SECRET_VERSION,
    SQS_QUEUE,
    SQS_QUEUE_POLICY,
    SQS_REDRIVE_ALLOW_POLICY,
)
from contract.runtime import RUNTIME
from provisioner.rehearsal.access import assume, evaluate
from provisioner.rehearsal.backend import AwsCreator, CreationFailed, UnsupportedResource, sqs
from provisioner.rehearsal.backend.registry import RESOURCES, merge
from provisioner.rehearsal.emulator import Emulator

pytestmark = pytest.mark.slow

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
TAGS = {"integration": "quote-to-order", "owner": "revenue-operations", "phase": "3"}


@pytest.fixture
def aws() -> Any:
    with Emulator(region="eu-west-1", account_id="111111111111") as emulator:
        yield emulator


def test_emulator_listens_on_loopback_and_stops_on_exit() -> None:
    with Emulator(region="eu-west-1", account_id="111111111111") as aws:
        endpoint = aws.endpoint
        assert endpoint.startswith("http://127.0.0.1:")
        assert os.environ["AWS_ENDPOINT_URL"] == endpoint
    assert not aws.running
    assert os.environ.get("AWS_ENDPOINT_URL") != endpoint
    with pytest.raises(requests.ConnectionError):
        requests.get(endpoint, timeout=2)


def test_emulator_stops_when_the_block_raises() -> None:
    with pytest.raises(KeyboardInterrupt), Emulator(region="eu-west-1", account_id="1" * 12) as aws:
        endpoint = aws.endpoint
        raise KeyboardInterrupt
    with pytest.raises(requests.ConnectionError):
        requests.get(endpoint, timeout=2)


def test_every_type_the_backend_creates_is_a_declared_token() -> None:
    declared = {getattr(aws_types, name) for name in aws_types.__all__}
    assert set(RESOURCES) <= declared


def test_two_service_modules_creating_one_type_are_refused() -> None:
    with pytest.raises(ValueError, match=re.escape(f"{SQS_QUEUE} is created by two")):
        merge((sqs, sqs))


def test_unsupported_type_fails_naming_the_type(aws: Any) -> None:
    with pytest.raises(UnsupportedResource, match=re.escape(EC2_INSTANCE)):
        AwsCreator(aws).create(EC2_INSTANCE, "web", {})


def test_queue_with_dlq_is_created_with_real_arn_and_url(aws: Any) -> None:
    creator = AwsCreator(aws)
    dlq_url, dlq = creator.create(
        SQS_QUEUE,
        "quote-to-order-dlq",
        {"name": "dev-quote-to-order-dlq.fifo", "fifoQueue": True, "tags": TAGS},
    )
    assert dlq["arn"] == "arn:aws:sqs:eu-west-1:111111111111:dev-quote-to-order-dlq.fifo"
    redrive = json.dumps({"deadLetterTargetArn": dlq["arn"], "maxReceiveCount": 5})
    url, _ = creator.create(
        SQS_QUEUE,
        "quote-to-order-queue",
        {
            "name": "dev-quote-to-order-queue.fifo",
            "fifoQueue": True,
            "visibilityTimeoutSeconds": 360,
            "redrivePolicy": redrive,
            "tags": TAGS,
        },
    )
    got = aws.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    assert got["Attributes"]["VisibilityTimeout"] == "360"
    assert json.loads(got["Attributes"]["RedrivePolicy"])["maxReceiveCount"] == 5
    assert url == dlq_url.replace("dlq", "queue")
    for resource in creator.created:
        creator.find(resource)


def test_queue_policy_survives_a_later_redrive_allow_policy(aws: Any) -> None:
    creator = AwsCreator(aws)
    url, queue = creator.create(SQS_QUEUE, "x-dlq", {"name": "dev-x-dlq"})
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sqs:*",
                    "Resource": queue["arn"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )
    creator.create(SQS_QUEUE_POLICY, "x-dlq-policy", {"queueUrl": url, "policy": policy})
    creator.create(
        SQS_REDRIVE_ALLOW_POLICY,
        "x-dlq-redrive-allow",
        {"queueUrl": url, "redriveAllowPolicy": json.dumps({"redrivePermission": "allowAll"})},
    )
    got = aws.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    assert json.loads(got["Attributes"]["Policy"]) == json.loads(policy)


def test_secret_rotation_is_configured_without_an_empty_current_version(aws: Any) -> None:
    creator = AwsCreator(aws)
    _, role = creator.create(
        IAM_ROLE,
        "q-rotation-role",
        {"name": "dev-q-rotation", "assumeRolePolicy": TRUST},
    )
    secret_arn, _ = creator.create(
        SECRETS_MANAGER_SECRET, "q-cred", {"name": "dev-q-cred", "tags": TAGS}
    )
    creator.create(
        SECRETS_MANAGER_SECRET_VERSION,
        "q-cred-version",
        {"secretId": secret_arn, "secretString": json.dumps({"kind": "api_key"})},
    )
    _, function = creator.create(
        LAMBDA_FUNCTION,
        "q-rotation",
        {
            "name": "dev-q-rotation",
            "role": role["arn"],
            "runtime": RUNTIME,
            "handler": "credential_rotation.handler.lambda_handler",
            "code": {"archive": {"path": str(_tiny_zip(aws))}},
            "timeout": 60,
        },
    )
    creator.create(
        SECRETS_MANAGER_SECRET_ROTATION,
        "q-cred-rotation",
        {
            "secretId": secret_arn,
            "rotationLambdaArn": function["arn"],
            "rotationRules": {"automaticallyAfterDays": 30},
        },
    )
    sm = aws.client("secretsmanager")
    described = sm.describe_secret(SecretId=secret_arn)
    assert described["RotationEnabled"] is True
    assert json.loads(sm.get_secret_value(SecretId=secret_arn)["SecretString"]) == {
        "kind": "api_key"
    }
    assert not any("AWSPENDING" in s for s in described["VersionIdsToStages"].values())


def test_role_credentials_are_denied_on_another_integrations_queue_when_iam_is_enforced(
    aws: Any,
) -> None:
    creator = AwsCreator(aws)
    _, own = creator.create(SQS_QUEUE, "a-queue", {"name": "dev-a-queue"})
    other_url, _ = creator.create(SQS_QUEUE, "b-queue", {"name": "dev-b-queue"})
    role_name, role = creator.create(
        IAM_ROLE, "a-role", {"name": "dev-a-role", "assumeRolePolicy": TRUST}
    )
    statement = {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": own["arn"]}
    policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    creator.create(IAM_ROLE_POLICY, "a-policy", {"role": role_name, "policy": policy})
    sqs = aws.client("sqs", assume(aws, role["arn"]))
    with aws.iam_enforced():
        sqs.send_message(QueueUrl=own["url"], MessageBody="{}")
        with pytest.raises(Exception, match=r"AccessDenied|not authorized"):
            sqs.send_message(QueueUrl=other_url, MessageBody="{}")
    assert evaluate([json.loads(policy)], "sqs:SendMessage", own["arn"])
    assert not evaluate([json.loads(policy)], "sqs:SendMessage", own["arn"] + "-other")


def _tiny_zip(aws: Emulator) -> Any:
    """A minimal function zip (the rehearsal itself deploys the real bundles)."""
    import tempfile
    import zipfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "f.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return None\n")
    return path


def test_evaluated_policies_apply_a_statement_only_when_its_condition_holds() -> None:
    key = "arn:aws:kms:eu-west-1:111111111111:key/k"

    def via(service: str, effect: str = "Allow") -> dict[str, Any]:
        return {
            "Effect": effect,
            "Action": ["kms:Decrypt"],
            "Resource": [key],
            "Condition": {"StringEquals": {"kms:ViaService": f"{service}.eu-west-1.amazonaws.com"}},
        }

    # Two grants of one action under different conditions do not cancel each other.
    statements = [via("sqs"), via("secretsmanager")]
    policies = [{"Version": "2012-10-17", "Statement": statements}]
    through = {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}
    assert evaluate(policies, "kms:Decrypt", key, through)
    assert not evaluate(
        policies, "kms:Decrypt", key, {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    )
    # A Deny whose condition does not hold denies nothing; one that holds wins.
    statements.append(via("sqs", "Deny"))
    assert evaluate(policies, "kms:Decrypt", key, through)
    assert not evaluate(
        policies, "kms:Decrypt", key, {"kms:ViaService": "sqs.eu-west-1.amazonaws.com"}
    )


def test_a_chatbot_channel_is_recorded_after_what_the_emulator_can_answer_is_checked(
    aws: Any,
) -> None:
    from contract.alerting import CHATBOT_GUARDRAILS, CHATBOT_SERVICE
    from contract.aws_types import CHATBOT_SLACK_CHANNEL_CONFIGURATION

    creator = AwsCreator(aws)
    topic = aws.client("sns").create_topic(Name="dev-quote-to-order-alerts")["TopicArn"]
    iam = aws.client("iam")

    def role(name: str, service: str) -> str:
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action":
                 "sts:AssumeRole", "Principal": {"Service": service}}]}  # fmt: skip
        return str(
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"][
                "Arn"
            ]
        )

    inputs = {
        "configurationName": "dev-quote-to-order-alerts-chatbot",
        "iamRoleArn": role("dev-quote-to-order-alerts-chatbot", CHATBOT_SERVICE),
        "slackTeamId": "T07EA123LEP",
        "slackChannelId": "C07EZ1ABC23",
        "snsTopicArns": [topic],
        "guardrailPolicyArns": list(CHATBOT_GUARDRAILS),
    }
    arn, _ = creator.create(
        CHATBOT_SLACK_CHANNEL_CONFIGURATION, "quote-to-order-alerts-chatbot", inputs
    )
    assert arn.endswith(":chat-configuration/slack-channel/dev-quote-to-order-alerts-chatbot")
    found = creator.find(creator.created[-1])
    assert isinstance(found, dict) and found["slackChannelId"] == "C07EZ1ABC23"

    wrong = {
        **inputs,
        "iamRoleArn": role("dev-quote-to-order-alerts-lambda", "lambda.amazonaws.com"),
        "snsTopicArns": [topic.replace("alerts", "nothing")],
        "slackChannelId": "#alerts",
    }
    with pytest.raises(CreationFailed) as caught:
        creator.create(
            CHATBOT_SLACK_CHANNEL_CONFIGURATION, "quote-to-order-alerts-chatbot-2", wrong
        )
    for fragment in ("not chatbot.amazonaws.com alone", "nothing", "'#alerts'"):
        assert fragment in str(caught.value)


def test_functions_of_one_bundle_share_one_copy_of_its_code(aws: Any, tmp_path: Any) -> None:
    import base64
    import hashlib

    # Without Docker, moto's server keeps functions in its "simple" Lambda backend.
    from moto.awslambda_simple.models import lambda_simple_backends

    creator = AwsCreator(aws)
    _, role = creator.create(IAM_ROLE, "q-role", {"name": "dev-q-role", "assumeRolePolicy": TRUST})
    bundle = _tiny_zip(aws)
    for function in ("consumer", "reconcile"):
        creator.create(
            LAMBDA_FUNCTION,
            f"q-{function}",
            {
                "name": f"dev-q-{function}",
                "role": role["arn"],
                "runtime": RUNTIME,
                "handler": "handler.handler",
                "code": {"archive": {"path": str(bundle)}},
            },
        )

    backend = lambda_simple_backends[aws.account_id][aws.region]
    consumer, reconcile = (backend.get_function(f"dev-q-{f}") for f in ("consumer", "reconcile"))
    assert consumer.code_bytes is reconcile.code_bytes
    assert "ZipFile" not in consumer.code
    reported = aws.client("lambda").get_function(FunctionName="dev-q-consumer")["Configuration"]
    zipped = bundle.read_bytes()
    assert reported["CodeSize"] == len(zipped)
    assert reported["CodeSha256"] == base64.b64encode(hashlib.sha256(zipped).digest()).decode()
    # The zip went up once, staged in a bucket of the rehearsal's that goes once the program
    # has run; the functions keep their code.
    s3 = aws.client("s3")
    (staging,) = s3.list_buckets()["Buckets"]
    assert s3.list_objects_v2(Bucket=staging["Name"])["KeyCount"] == 1
    creator.unstage()
    assert s3.list_buckets()["Buckets"] == []
    assert consumer.code_bytes == zipped


def test_a_handler_registered_on_one_client_stays_off_the_others(aws: Any) -> None:
    evaluated, plain = aws.client("sqs"), aws.client("sqs")
    seen: list[str] = []
    evaluated.meta.events.register(
        "before-parameter-build.sqs", lambda model, **_: seen.append(model.name)
    )

    plain.list_queues()
    evaluated.list_queues()

    assert plain is not evaluated
    assert seen == ["ListQueues"]


def test_a_kms_key_makes_its_private_key_only_when_sign_or_verify_needs_it(aws: Any) -> None:
    from moto.kms.models import kms_backends

    kms = aws.client("kms")
    symmetric = kms.create_key()["KeyMetadata"]["KeyId"]
    signing = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="RSA_2048")["KeyMetadata"]["KeyId"]
    algorithm = "RSASSA_PKCS1_V1_5_SHA_256"
    signature = kms.sign(KeyId=signing, Message=b"order", SigningAlgorithm=algorithm)["Signature"]
    assert kms.verify(
        KeyId=signing, Message=b"order", Signature=signature, SigningAlgorithm=algorithm
    )["SignatureValid"]
    assert kms.get_public_key(KeyId=signing)["PublicKey"]
    keys = kms_backends[aws.account_id][aws.region].keys
    made: Any = keys[symmetric].private_key
    assert made._key is None  # no RSA key made for a symmetric key


def test_an_alias_names_its_keys_arn_and_one_for_a_missing_key_is_refused(aws: Any) -> None:
    creator = AwsCreator(aws)
    key_id, key = creator.create(aws_types.KMS_KEY, "q-key", {"description": "q"})
    _, alias = creator.create(
        aws_types.KMS_ALIAS, "q-key-alias", {"name": "alias/dev-q", "targetKeyId": key_id}
    )
    assert alias["targetKeyArn"] == key["arn"]
    assert aws.client("kms").describe_key(KeyId="alias/dev-q")["KeyMetadata"]["Arn"] == key["arn"]
    with pytest.raises(CreationFailed, match="NotFoundException"):
        creator.create(
            aws_types.KMS_ALIAS, "r-key-alias", {"name": "alias/dev-r", "targetKeyId": "0" * 8}
        )
