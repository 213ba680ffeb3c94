"""Sync benchmark: the event consumer's records per second, and the bundle's cold import.

Throughput: `integration_sync.consumer.handler(event, None)` runs in this process on SQS
events of 10 records (the trigger's batch size), each a Salesforce OrderChangeEvent relayed
through EventBridge, with moto's in-process `mock_aws` for SQS and DynamoDB (idempotency)
and a fake NetSuite on 127.0.0.1 answering every upsert. The baseline parses and maps the
same bodies with the bundle's own `envelope.parse_body` and `mapping.to_target_write`, i.e.
the work with no I/O, idempotency, metrics or batch bookkeeping. Every repeat uses fresh
record ids (no duplicates), and the two alternate; medians.

Cold import: `import integration_sync.consumer` timed inside a fresh interpreter (the
bundle folder on sys.path, as Lambda puts it) against `import boto3` alone, alternating.

Example::

    bench_sync(records=500, repeats=3)["handler_efficiency"]
    bench_import(runs=5)["import_overhead_ratio"]
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench.common import REPO_ROOT, log, median, ratio, timed

__all__ = ["FUNCTIONS_DIR", "bench_import", "bench_sync"]

FUNCTIONS_DIR = REPO_ROOT / "functions"
INTEGRATION = "quote-to-order"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
BATCH_SIZE = 10  # the SQS trigger's batch size (components/ sets 10)
# From roadmap.yaml: quote-to-order maps Salesforce orders onto NetSuite sales orders.
MAPPING = {
    "order": {
        "external_id": "externalId",
        "fields": {
            "Id": "externalId",
            "OrderNumber": "tranId",
            "EffectiveDate": "tranDate",
            "Status": "orderStatus",
        },
    }
}


# ----------------------------------------------------------------------------- fakes


class _Target(BaseHTTPRequestHandler):
    """NetSuite's upsert by external id: PATCH /api/{object}/{field}/{id} -> 201."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the real API and requests.Session do
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK add ~40 ms to every response, which would measure the kernel.
    disable_nagle_algorithm = True
    writes = 0

    def do_PATCH(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        type(self).writes += 1
        body = json.dumps({"id": self.path.rsplit("/", 1)[-1]}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextlib.contextmanager
def _fake_target() -> Iterator[tuple[str, type[_Target]]]:
    handler = type("Target", (_Target,), {"writes": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api", handler
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def _environment(values: dict[str, str], drop: tuple[str, ...]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in (*values, *drop)}
    os.environ.update(values)
    for key in drop:
        os.environ.pop(key, None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _order_change(order_id: str, sequence: int) -> str:
    """A Salesforce OrderChangeEvent as Event Relay puts it on EventBridge, then SQS."""
    commit_ms = int(time.time() * 1000) - 2_000
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "OrderChangeEvent",
            "source": "aws.partner/salesforce.com/00D5e000000XkNzEAK/0YL5e0000008OBqGAM",
            "account": ACCOUNT,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(commit_ms / 1000)),
            "region": REGION,
            "resources": [],
            "detail": {
                "payload": {
                    "ChangeEventHeader": {
                        "entityName": "Order",
                        "recordIds": [order_id],
                        "changeType": "UPDATE",
                        "changeOrigin": "com/salesforce/api/rest/61.0",
                        "transactionKey": f"0004f1c7-{uuid.uuid4().hex[:12]}",
                        "sequenceNumber": sequence,
                        "commitTimestamp": commit_ms,
                        "commitNumber": 11_714_329_376 + sequence,
                        "commitUser": "0055e000004X1kPAAS",
                        "changedFields": ["Status", "LastModifiedDate"],
                    },
                    "OrderNumber": f"{sequence:08d}",
                    "EffectiveDate": "2024-05-02",
                    "Status": "Activated",
                    "LastModifiedDate": "2024-05-02T10:15:30.000Z",
                },
                "schemaId": "kQXuMZ4x4xAVnzY9rzGeZw",
                "id": str(uuid.uuid4()),
            },
        }
    )


def _bodies(count: int, round_: int) -> list[str]:
    return [_order_change(f"8015e{round_:03d}{i:07d}AAA", i + 1) for i in range(count)]


def _events(bodies: list[str]) -> list[dict[str, Any]]:
    """Lambda SQS events of BATCH_SIZE records each."""
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dev-{INTEGRATION}-queue"
    now = str(int(time.time() * 1000))
    records = [
        {
            "messageId": str(uuid.uuid4()),
            "receiptHandle": f"rh-{i}",
            "body": body,
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": now},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": arn,
            "awsRegion": REGION,
        }
        for i, body in enumerate(bodies)
    ]
    return [{"Records": records[i : i + BATCH_SIZE]} for i in range(0, len(records), BATCH_SIZE)]


# ----------------------------------------------------------------------------- throughput


def bench_sync(records: int, repeats: int) -> dict[str, Any]:
    """Records/second through the consumer (moto + fake target) and through parse+map."""
    if str(FUNCTIONS_DIR) not in sys.path:
        sys.path.insert(0, str(FUNCTIONS_DIR))
    import boto3
    from moto import mock_aws

    aws_env = {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    with (
        _environment(aws_env, drop=("AWS_ENDPOINT_URL", "AWS_PROFILE")),
        mock_aws(),
        _fake_target() as (target_url, target),
    ):
        ddb = boto3.client("dynamodb")
        table = f"dev-{INTEGRATION}-state"
        ddb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        sqs = boto3.client("sqs")
        dlq = sqs.create_queue(QueueName=f"dev-{INTEGRATION}-dlq")["QueueUrl"]
        queue = sqs.create_queue(QueueName=f"dev-{INTEGRATION}-queue")["QueueUrl"]
        function_env = {
            "INTEGRATION": INTEGRATION,
            "ENVIRONMENT": "dev",
            "POWERTOOLS_SERVICE_NAME": INTEGRATION,
            "METRICS_NAMESPACE": f"Integrations/{INTEGRATION}",
            "SOURCE_SYSTEM": "salesforce",
            "TARGET_SYSTEM": "netsuite",
            "TARGET_BASE_URL": target_url,
            "SOURCE_BASE_URL": "",
            "TARGET_CREDENTIAL_SECRET_ARN": "",
            "SOURCE_CREDENTIAL_SECRET_ARN": "",
            "STATE_TABLE": table,
            "QUEUE_URL": queue,
            "DLQ_URL": dlq,
            "FIELD_MAPPING": json.dumps(MAPPING),
            "FIFO": "false",
            "API_CALLS_PER_DAY": "60000",
            "MAX_STALENESS_SECONDS": "300",
            "AWS_LAMBDA_FUNCTION_NAME": f"dev-{INTEGRATION}-consumer",
        }
        with _environment(function_env, drop=()):
            from integration_sync.config import parse_field_mapping
            from integration_sync.consumer import handler
            from integration_sync.envelope import parse_body
            from integration_sync.mapping import to_target_write

            mapping = parse_field_mapping(json.dumps(MAPPING))

            def baseline(bodies: list[str]) -> int:
                writes = 0
                for body in bodies:
                    for change in parse_body(body):
                        writes += to_target_write(change, mapping) is not None
                return writes

            def consume(events: list[dict[str, Any]]) -> int:
                failed = 0
                with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                    # EMF metric lines go to stdout; with no Lambda context (None) Powertools
                    # warns that it cannot tell the remaining time on every record.
                    warnings.simplefilter("ignore", UserWarning)
                    for event in events:
                        failed += len(handler(event, None)["batchItemFailures"])
                return failed

            # Warm up: clients, the idempotency layer and the target connection.
            consume(_events(_bodies(BATCH_SIZE, 999)))
            ours: list[float] = []
            base: list[float] = []
            failures = 0
            for round_ in range(repeats):
                bodies = _bodies(records, round_)
                seconds, mapped = timed(lambda: baseline(bodies))  # noqa: B023
                base.append(seconds)
                events = _events(bodies)
                seconds, failed = timed(lambda: consume(events))  # noqa: B023
                ours.append(seconds)
                failures += failed
                log(
                    f"sync: {records} records, consumer {ours[-1]:.2f}s, "
                    f"parse+map {base[-1] * 1000:.1f}ms"
                )
            if mapped != records or failures:
                raise RuntimeError(f"sync bench: {mapped} mapped, {failures} failed records")
            writes = target.writes
    ours_s, base_s = median(ours), median(base)
    return {
        "records": records,
        "batch_size": BATCH_SIZE,
        "repeats": repeats,
        "target_writes": writes,
        "records_per_second": round(records / ours_s, 1),
        "baseline_records_per_second": round(records / base_s, 1),
        "handler_efficiency": ratio(base_s, ours_s, 5),
    }


# ----------------------------------------------------------------------------- cold import

_IMPORT_TIMER = (
    "import sys, time\n"
    "sys.path.insert(0, {path!r})\n"
    "start = time.perf_counter()\n"
    "import {module}\n"
    "print(time.perf_counter() - start)\n"
)


def _cold_import(module: str) -> float:
    code = _IMPORT_TIMER.format(path=str(FUNCTIONS_DIR), module=module)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "AWS_DEFAULT_REGION": REGION},
        cwd=FUNCTIONS_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def bench_import(runs: int) -> dict[str, Any]:
    """Median cold import of the consumer module vs `import boto3`, alternating."""
    consumer: list[float] = []
    boto: list[float] = []
    for _ in range(runs):
        consumer.append(_cold_import("integration_sync.consumer"))
        boto.append(_cold_import("boto3"))
    ours_s, boto_s = median(consumer), median(boto)
    log(f"import: consumer {ours_s * 1000:.0f}ms, boto3 {boto_s * 1000:.0f}ms (medians)")
    return {
        "runs": runs,
        "consumer_import_seconds": round(ours_s, 4),
        "boto3_import_seconds": round(boto_s, 4),
        "import_overhead_ratio": ratio(ours_s, boto_s),
    }
