"""`provisioner rotate` and `provisioner replay` against a deployed stack (moto in process)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from test_sync_harness import create_state_table

from provisioner.cli import main
from provisioner.paths import STACKS_DIR
from roadmap.stack_config import load_stack_settings

REGION = "eu-west-1"  # stacks/Pulumi.dev.yaml
DEV_ACCOUNT = load_stack_settings(STACKS_DIR, "dev").allowed_account_ids[0]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in process, answering as the dev stack's own account."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "MOTO_ACCOUNT_ID": DEV_ACCOUNT,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


def _closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _parked_quotes(count: int) -> tuple[str, str]:
    """The dev quote-to-order queues with ``count`` messages in the DLQ: (dlq, source) urls."""
    sqs = boto3.client("sqs", region_name=REGION)
    fifo = {"FifoQueue": "true", "ContentBasedDeduplication": "false"}
    dlq = sqs.create_queue(QueueName="dev-quote-to-order-dlq.fifo", Attributes=fifo)["QueueUrl"]
    source = sqs.create_queue(QueueName="dev-quote-to-order-queue.fifo", Attributes=fifo)[
        "QueueUrl"
    ]
    for n in range(count):
        sqs.send_message(
            QueueUrl=dlq,
            MessageBody=json.dumps({"quote": f"0Q0{n}"}),
            MessageGroupId="0Q0-group",
            MessageDeduplicationId=f"d{n}",
        )
    return dlq, source


def _depth(url: str) -> int:
    sqs = boto3.client("sqs", region_name=REGION)
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"
    ]
    return int(attrs["ApproximateNumberOfMessages"])


def test_rotate_refuses_secrets_no_rotation_function_would_rotate(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Without a function moto "rotates" by promoting a copy: rotate must not call that done.
    sm = boto3.client("secretsmanager", region_name=REGION)
    for cred in ("salesforce-jwt", "netsuite-m2m"):
        sm.create_secret(Name=f"dev-quote-to-order-cred-{cred}", SecretString='{"kind": "x"}')

    assert main(["rotate", "quote-to-order", "--stack", "dev", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [r["credential"] for r in report["rotations"]] == ["salesforce-jwt", "netsuite-m2m"]
    for r in report["rotations"]:
        assert not r["ok"] and "no rotation function configured" in r["error"]
        assert len(sm.describe_secret(SecretId=r["secret"])["VersionIdsToStages"]) == 1


def test_rotate_without_a_deployment_fails_and_names_the_secret(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rotate", "quote-to-order", "--stack", "dev", "--credential", "netsuite-m2m"]) == 1
    out = capsys.readouterr().out
    assert "FAILED  dev-quote-to-order-cred-netsuite-m2m" in out and "pulumi up" in out


@pytest.mark.parametrize(
    ("argv", "why"),
    [
        # web-order-capture is in discovery (phase 1) everywhere: nothing is provisioned.
        (["rotate", "web-order-capture", "--stack", "prod"], "phase 1 in prod"),
        (["rotate", "quote-to-cash", "--stack", "dev"], "no integration named 'quote-to-cash'"),
        (["replay", "lead-to-account", "--stack", "dev"], "Is the dev stack deployed here?"),
    ],
    ids=["rotate-not-deployed", "rotate-unknown", "replay-without-queues"],
)
def test_a_command_on_what_is_not_deployed_is_a_usage_error_that_says_why(
    aws: None, capsys: pytest.CaptureFixture[str], argv: list[str], why: str
) -> None:
    assert main(argv) == 2
    assert why in capsys.readouterr().err


def test_replay_moves_every_dlq_message_back(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    dlq, source = _parked_quotes(3)

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


# ---------------------------------------------------------------- where the commands may act


def test_replay_goes_to_the_endpoint_url_and_never_to_aws(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # moto answers for AWS in this process; a client that ignored --endpoint-url would
    # reach it and move the messages. Pointed at a closed port, nothing may move.
    dlq, _ = _parked_quotes(2)
    endpoint = f"http://127.0.0.1:{_closed_port()}"

    assert main(["replay", "quote-to-order", "--stack", "dev", "--endpoint-url", endpoint]) == 2
    assert f"cannot reach {endpoint}" in capsys.readouterr().err
    assert _depth(dlq) == 2


def test_rotate_honours_aws_endpoint_url_from_the_environment(
    aws: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    assert main(["rotate", "quote-to-order", "--stack", "dev"]) == 2
    assert f"cannot reach {endpoint}" in capsys.readouterr().err


def test_commands_refuse_credentials_of_another_account_before_any_call(
    aws: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dlq, _ = _parked_quotes(2)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "999999999999")

    assert main(["replay", "quote-to-order", "--stack", "dev"]) == 2
    err = capsys.readouterr().err
    assert f"belong to account 999999999999, but stack dev may only act on {DEV_ACCOUNT}" in err
    assert "nothing was called" in err
    monkeypatch.setenv("MOTO_ACCOUNT_ID", DEV_ACCOUNT)
    assert _depth(dlq) == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--endpoint-url", "not-a-url"], "'not-a-url' is not an endpoint URL"),
        (["--endpoint-url", "ftp://127.0.0.1:21"], "expected http(s)://HOST[:PORT]"),
        (["--max-messages", "-5"], "-5 is not a positive number"),
        (["--max-messages", "0"], "0 is not a positive number"),
        (["--max-messages", "many"], "'many' is not a whole number"),
    ],
)
def test_replay_refuses_malformed_flags(
    aws: None, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    dlq, _ = _parked_quotes(1)
    assert main(["replay", "quote-to-order", "--stack", "dev", *argv]) == 2
    assert message in capsys.readouterr().err
    assert _depth(dlq) == 1


def test_a_malformed_aws_endpoint_url_is_named_with_its_variable(
    aws: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "localhost:4566")
    assert main(["rotate", "quote-to-order", "--stack", "dev"]) == 2
    assert "$AWS_ENDPOINT_URL 'localhost:4566' is not an endpoint URL" in capsys.readouterr().err


def test_rotate_refuses_a_timeout_that_is_not_positive(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rotate", "quote-to-order", "--stack", "dev", "--timeout", "-1"]) == 2
    assert "use a positive, finite number" in capsys.readouterr().err


# ---------------------------------------------------------------- batch integrations


def _batch_state(since: str) -> tuple[str, str]:
    """order-to-invoice (batch) deployed in dev: its DLQ and state table, watermark at ``since``."""
    sqs = boto3.client("sqs", region_name=REGION)
    dlq = sqs.create_queue(QueueName="dev-order-to-invoice-dlq")["QueueUrl"]
    ddb = boto3.client("dynamodb", region_name=REGION)
    table = create_state_table("dev-order-to-invoice-state")
    ddb.put_item(
        TableName=table,
        Item={
            "id": {"S": "watermark#invoice"},
            "since": {"S": since},
            "after_id": {"S": "4810024"},
            "version": {"N": "3"},
        },
    )
    return dlq, table


def _watermark_since(table: str) -> str:
    ddb = boto3.client("dynamodb", region_name=REGION)
    item = ddb.get_item(TableName=table, Key={"id": {"S": "watermark#invoice"}})["Item"]
    return str(item["since"]["S"])


def test_replay_of_a_batch_integration_rewinds_its_watermark_to_the_parked_records(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    dlq, table = _batch_state("2024-05-02T12:00:00Z")
    sqs = boto3.client("sqs", region_name=REGION)
    for number, at in ((4810003, "2024-05-02T10:30:00Z"), (4810007, "2024-05-02T09:15:00Z")):
        body = {"object": "invoice", "id": str(number), "occurred_at": at, "data": {}}
        sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(body))
    sqs.send_message(QueueUrl=dlq, MessageBody='{"objects": ["invoice"]}')  # not a record

    assert main(["replay", "order-to-invoice", "--stack", "dev", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["moved"], report["skipped"]) == (2, 1)
    assert report["rewound"] == {"invoice": "2024-05-02T09:15:00Z"}
    assert _watermark_since(table) == "2024-05-02T09:15:00Z"
    [left] = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    assert left["Body"] == '{"objects": ["invoice"]}'  # kept, and visible again


def test_replay_from_a_watermark_reruns_a_batch_integration_from_that_time(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    _, table = _batch_state("2024-05-02T12:00:00Z")
    argv = ["replay", "order-to-invoice", "--stack", "dev", "--from-watermark"]

    assert main([*argv, "2024-05-02T08:00:00+02:00"]) == 0
    assert "watermark#invoice is now 2024-05-02T06:00:00Z" in capsys.readouterr().out
    assert _watermark_since(table) == "2024-05-02T06:00:00Z"
    assert main([*argv, "2024-05-02T08:00:00"]) == 2
    assert "has no time zone" in capsys.readouterr().err


def test_from_watermark_is_refused_for_a_queued_integration(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["replay", "quote-to-order", "--stack", "dev", "--from-watermark", "2024-05-02T08:00Z"]
    assert main(argv) == 2
    assert "has no batch watermark" in capsys.readouterr().err
