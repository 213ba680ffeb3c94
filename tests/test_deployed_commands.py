"""`provisioner rotate` and `provisioner replay` against a deployed stack (moto in process)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from provisioner.cli import main

REGION = "eu-west-1"  # stacks/Pulumi.dev.yaml


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield


def test_rotate_makes_a_new_current_version_per_credential(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    sm = boto3.client("secretsmanager", region_name=REGION)
    before = {}
    for cred in ("salesforce-jwt", "netsuite-m2m"):
        name = f"dev-quote-to-order-cred-{cred}"
        before[cred] = sm.create_secret(Name=name, SecretString='{"kind": "x"}')["VersionId"]

    assert main(["rotate", "quote-to-order", "--stack", "dev", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["credential"] for r in report["rotations"]] == ["salesforce-jwt", "netsuite-m2m"]
    for r in report["rotations"]:
        assert r["ok"] and r["version"] != before[r["credential"]]
        stages = sm.describe_secret(SecretId=r["secret"])["VersionIdsToStages"]
        assert stages[r["version"]] == ["AWSCURRENT"]


def test_rotate_without_a_deployment_fails_and_names_the_secret(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rotate", "quote-to-order", "--stack", "dev", "--credential", "netsuite-m2m"]) == 1
    out = capsys.readouterr().out
    assert "FAILED  dev-quote-to-order-cred-netsuite-m2m" in out and "pulumi up" in out


def test_rotate_refuses_an_integration_not_deployed_in_the_stack(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # web-order-capture is in discovery (phase 1) everywhere: nothing is provisioned.
    assert main(["rotate", "web-order-capture", "--stack", "prod"]) == 2
    assert "phase 1 in prod" in capsys.readouterr().err


def test_rotate_unknown_integration_is_a_usage_error(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rotate", "quote-to-cash", "--stack", "dev"]) == 2
    assert "no integration named 'quote-to-cash'" in capsys.readouterr().err


def test_replay_moves_every_dlq_message_back(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    fifo = {"FifoQueue": "true", "ContentBasedDeduplication": "false"}
    dlq = sqs.create_queue(QueueName="dev-quote-to-order-dlq.fifo", Attributes=fifo)["QueueUrl"]
    source = sqs.create_queue(QueueName="dev-quote-to-order-queue.fifo", Attributes=fifo)[
        "QueueUrl"
    ]
    for n in range(3):
        sqs.send_message(
            QueueUrl=dlq,
            MessageBody=json.dumps({"quote": f"0Q0{n}"}),
            MessageGroupId="0Q0-group",
            MessageDeduplicationId=f"d{n}",
        )

    assert main(["replay", "quote-to-order", "--stack", "dev", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["moved"] == 3 and report["complete"]
    bodies = [
        json.loads(m["Body"])["quote"]
        for m in sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10)["Messages"]
    ]
    assert bodies == ["0Q00", "0Q01", "0Q02"]
    attrs = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_replay_without_queues_says_the_stack_is_not_deployed(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", "lead-to-account", "--stack", "dev"]) == 2
    assert "Is the dev stack deployed here?" in capsys.readouterr().err
