"""`provisioner audit` against the emulator: the events of one integration's secrets, paged,
filtered by time and by owner, and clear errors.

moto answers STS, Secrets Manager, Lambda and CloudTrail's DescribeTrails but does not
implement LookupEvents (moto 5.2: no event history at all). The test therefore puts a
small proxy on 127.0.0.1 in front of moto that answers LookupEvents from seeded events
(one per page, so paging is exercised, filtered by ResourceName and StartTime as
CloudTrail does) and forwards every other call to moto; the command is pointed at the
proxy with --endpoint-url, so it also proves that option is honoured.
"""

from __future__ import annotations

import gzip
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from provisioner.cli import main
from provisioner.rehearsal.emulator import Emulator

ACCOUNT = "333333333333"  # the prod stack's allowed account
OWN = "prod-quote-to-order-cred-salesforce-jwt"
OTHER = "prod-lead-to-account-cred-salesforce-jwt"
NOW = datetime.now(UTC)


def _event(i: int, name: str, secret: str, who: str, age: timedelta) -> dict[str, Any]:
    detail = {
        "userIdentity": {"type": "AssumedRole", "arn": f"{who}/session",
                         "sessionContext": {"sessionIssuer": {"arn": who}}},
        "sourceIPAddress": "10.0.0.7",
    }  # fmt: skip
    return {
        "EventId": f"event-{i}",
        "EventName": name,
        "EventSource": "secretsmanager.amazonaws.com",
        "EventTime": (NOW - age).timestamp(),
        "ReadOnly": "true" if name.startswith("Get") else "false",
        "Resources": [{"ResourceType": "AWS::SecretsManager::Secret", "ResourceName": secret}],
        "CloudTrailEvent": json.dumps(detail),
    }


ROLE = f"arn:aws:iam::{ACCOUNT}:role/prod-quote-to-order-role"
ROTATOR = f"arn:aws:iam::{ACCOUNT}:role/prod-quote-to-order-rotation-role"
SEEDED = [
    _event(1, "GetSecretValue", OWN, ROLE, timedelta(hours=2)),
    _event(2, "PutSecretValue", OWN, ROTATOR, timedelta(hours=1)),
    _event(3, "GetSecretValue", OTHER, ROLE, timedelta(hours=1)),  # another integration's
    _event(4, "GetSecretValue", OWN, ROLE, timedelta(days=10)),  # before --since
]


OWN_FUNCTION = "prod-quote-to-order-consumer"
OTHER_FUNCTION = "prod-lead-to-account-consumer"


def _empty_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


def _invoke(i: int, function: str, age: timedelta) -> dict[str, Any]:
    """A Lambda Invoke data event as CloudTrail writes it into a log file."""
    return {
        "eventVersion": "1.09",
        "userIdentity": {"type": "AWSService", "invokedBy": "sqs.amazonaws.com"},
        "eventTime": (NOW - age).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "lambda.amazonaws.com",
        "eventName": "Invoke",
        "sourceIPAddress": "sqs.amazonaws.com",
        "eventID": f"invoke-{i}",
        "readOnly": False,
        "resources": [{"accountId": ACCOUNT, "type": "AWS::Lambda::Function",
                       "ARN": f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:{function}"}],
    }  # fmt: skip


def _seed_log_files(aws: Emulator, bucket: str) -> None:
    """Two delivered log files (gzipped, under the documented key layout) and a digest."""
    s3 = aws.client("s3")
    for age, records in (
        (timedelta(hours=3), [_invoke(1, OWN_FUNCTION, timedelta(hours=3)),
                              _invoke(2, OTHER_FUNCTION, timedelta(hours=3))]),
        (timedelta(days=10), [_invoke(3, OWN_FUNCTION, timedelta(days=10))]),
    ):  # fmt: skip
        day = NOW - age
        key = (
            f"AWSLogs/{ACCOUNT}/CloudTrail/eu-west-1/{day:%Y/%m/%d}/"
            f"{ACCOUNT}_CloudTrail_eu-west-1_{day:%Y%m%dT%H%MZ}_abc.json.gz"
        )
        body = gzip.compress(json.dumps({"Records": records}).encode())
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    s3.put_object(
        Bucket=bucket,
        Key=f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/eu-west-1/{NOW:%Y/%m/%d}/digest.json.gz",
        Body=gzip.compress(b"{}"),
    )


class _Proxy(BaseHTTPRequestHandler):
    moto = ""

    def log_message(self, *args: Any) -> None:
        pass

    def _relay(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if str(self.headers.get("X-Amz-Target")).endswith("CloudTrail_20131101.LookupEvents"):
            self._lookup(json.loads(body))
            return
        answer = requests.request(
            self.command, self.moto + self.path, headers=dict(self.headers), data=body, timeout=30
        )
        self.send_response(answer.status_code)
        for key, value in answer.headers.items():
            if key.lower() not in (
                "content-length",
                "transfer-encoding",
                "connection",
                "date",
                "server",
            ):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_POST = do_PUT = do_DELETE = _relay

    def _lookup(self, request: dict[str, Any]) -> None:
        wanted = {a["AttributeValue"] for a in request.get("LookupAttributes", [])}
        start = float(request.get("StartTime", 0))
        found = [
            e for e in SEEDED
            if e["EventTime"] >= start and {r["ResourceName"] for r in e["Resources"]} & wanted
        ]  # fmt: skip
        index = int(request.get("NextToken") or 0)
        page: dict[str, Any] = {"Events": found[index : index + 1]}
        if index + 1 < len(found):
            page["NextToken"] = str(index + 1)
        data = json.dumps(page).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def proxy() -> Iterator[str]:
    with Emulator(region="eu-west-1", account_id=ACCOUNT) as aws:
        sm = aws.client("secretsmanager")
        for name in (OWN, OTHER):
            sm.create_secret(Name=name, SecretString="placeholder")
        bucket = f"prod-stack-audit-{ACCOUNT}"
        aws.client("s3").create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        aws.client("cloudtrail").create_trail(Name="prod-stack-audit-trail", S3BucketName=bucket)
        _seed_log_files(aws, bucket)
        lam = aws.client("lambda")
        role = aws.client("iam").create_role(
            RoleName="audit-test-role", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        for function in (OWN_FUNCTION, OTHER_FUNCTION):
            lam.create_function(
                FunctionName=function,
                Runtime="python3.12",
                Role=role,
                Handler="index.handler",
                Code={"ZipFile": _empty_zip()},
            )
        _Proxy.moto = aws.endpoint
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()


def test_lists_who_read_and_changed_the_integrations_secrets_since_a_time(
    proxy: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["audit", "quote-to-order", "--stack", "prod", "--endpoint-url", proxy,
                 "--since", "7d", "--json"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    document = json.loads(captured.out)
    assert [(e["event"], e["resource"], e["who"]) for e in document["events"]] == [
        ("GetSecretValue", OWN, ROLE),
        ("PutSecretValue", OWN, ROTATOR),
    ]
    assert document["trail"].endswith(":trail/prod-stack-audit-trail")
    # From the trail's log files: its own function's invocation within --since only.
    assert [(e["event"], e["resource"], e["who"]) for e in document["invocations"]] == [
        ("Invoke", OWN_FUNCTION, "sqs.amazonaws.com")
    ]
    assert "looking up CloudTrail events" in captured.err


def test_text_output_names_time_event_resource_and_principal(
    proxy: str, capsys: pytest.CaptureFixture[str]
) -> None:
    since = (NOW - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert main(["audit", "quote-to-order", "--stack", "prod", "--endpoint-url", proxy,
                 "--since", since]) == 0  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    reads = [line for line in lines if "secretsmanager" in line or OWN in line]
    assert len(reads) == 3  # the ten-day-old read is inside 30 days
    assert all(OWN in line and "10.0.0.7" in line for line in reads)
    assert "2 invocation(s) of quote-to-order's functions in the trail's log files" in lines
    assert [line for line in lines if OTHER_FUNCTION in line] == []


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["audit", "no-such-flow", "--stack", "prod"], "no-such-flow"),
        (["audit", "quote-to-order", "--stack", "prod", "--since", "last week"],
         "--since 'last week': expected an ISO 8601 time"),
        (["audit", "quote-to-order", "--stack", "prod", "--since", "2026-11-01T00:00:00"],
         "expected an ISO 8601 time with its zone"),
        (["audit", "quote-to-order", "--stack", "prod", "--since", "200d"],
         "more than 90 days ago"),
        (["audit", "quote-to-order", "--stack", "dev"], "stack dev has no audit trail"),
    ],
)  # fmt: skip
def test_bad_input_is_a_usage_error_naming_the_fix(
    argv: Any, fragment: Any, proxy: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--endpoint-url", proxy]) == 2
    assert fragment in capsys.readouterr().err
