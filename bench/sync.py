"""Sync benchmark: what the event consumer spends per record, and the bundle's cold import.

Salesforce calls: `integration_sync.consumer.handler(event, None)` runs in this process on
SQS events, with moto's in-process `mock_aws` for SQS, DynamoDB and Secrets Manager, twice
over the same number of records in one run:

* through collections: NetSuite changes (plain JSON) onto Salesforce Accounts through the
  `salesforce` connector against the Salesforce fake on 127.0.0.1 (sObject Collections
  upsert), in batches of the size `roadmap.budget` gives such a queue (200);
* the per-record baseline: Salesforce OrderChangeEvents through a connector that writes one
  record per call (a fake target answering each upsert), in batches of 10: what every
  record cost before collections.

Each counts the target's write calls per 1,000 records, and the collections run counts every
AWS request the consumer makes (DynamoDB idempotency and version records, SQS) per record,
seen by a `before-send` handler ahead of moto's. Every repeat uses fresh record ids. Then
one batch read of 50,000 Salesforce records through a Bulk API 2.0 query job (the
connector's `bulk_changes`) counts its calls: create, polls, result pages.

Cold import: `import integration_sync.consumer` timed inside a fresh interpreter (the
bundle folder on sys.path, as Lambda puts it) against `import boto3` alone, alternating.

Example::

    bench_sync(records=1000, repeats=3)["salesforce_calls_per_1k_records"]
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
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench.common import REPO_ROOT, log, median, ratio, timed
from contract import environment as var
from contract.metrics import namespace

__all__ = ["FUNCTIONS_DIR", "bench_import", "bench_sync", "order_change_event"]

FUNCTIONS_DIR = REPO_ROOT / "functions"
INTEGRATION = "quote-to-order"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
BATCH_SIZE = 10  # the per-record baseline's batches (a FIFO queue's, or before collections)
COLLECTIONS_INTEGRATION = "credit-status-to-crm"
BULK_READ_RECORDS = 50_000  # one batch read through a Bulk API 2.0 query job
# From roadmap.yaml: credit-status-to-crm maps NetSuite customers onto Salesforce Accounts.
SALESFORCE_MAPPING = {
    "customer": {
        "external_id": "NetSuite_Id__c",
        "target_object": "Account",
        "fields": {"id": "NetSuite_Id__c", "creditStatus": "Credit_Status__c"},
    }
}
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


def order_change_event(
    order_id: str,
    *,
    status: str = "Activated",
    transaction_key: str | None = None,
    sequence: int = 1,
    change_type: str = "UPDATE",
    order_number: str = "00000107",
    extra: dict[str, Any] | None = None,
    commit_ms: int | None = None,
) -> dict[str, Any]:
    """A Salesforce OrderChangeEvent as Event Relay puts it on EventBridge (then SQS).

    ``commit_ms`` (default: two seconds ago) is when Salesforce committed the change.
    """
    commit_ms = commit_ms if commit_ms is not None else int(time.time() * 1000) - 2_000
    return {
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
                    "changeType": change_type,
                    "changeOrigin": "com/salesforce/api/rest/61.0",
                    "transactionKey": transaction_key
                    or f"0004f1c7-{uuid.uuid4().hex[:4]}-a8e2-{order_id}",
                    "sequenceNumber": sequence,
                    "commitTimestamp": commit_ms,
                    "commitNumber": 11_714_329_376 + sequence,
                    "commitUser": "0055e000004X1kPAAS",
                    "changedFields": ["Status", "LastModifiedDate"],
                },
                "OrderNumber": order_number,
                "EffectiveDate": "2024-05-02",
                "Status": status,
                "LastModifiedDate": "2024-05-02T10:15:30.000Z",
                **(extra or {}),
            },
            "schemaId": "kQXuMZ4x4xAVnzY9rzGeZw",
            "id": str(uuid.uuid4()),
        },
    }


def _bodies(count: int, round_: int) -> list[str]:
    return [
        json.dumps(
            order_change_event(
                f"8015e{round_:03d}{i:07d}AAA", sequence=i + 1, order_number=f"{i + 1:08d}"
            )
        )
        for i in range(count)
    ]


def _customer_changes(count: int, round_: int) -> list[str]:
    """NetSuite customer changes as plain JSON envelopes, each with its own event id."""
    return [
        json.dumps(
            {
                "object": "customer",
                "id": f"NS-{round_}-{i}",
                "event_id": f"ns-{round_}-{i}-{uuid.uuid4().hex[:8]}",
                "version": 1,
                "data": {"id": f"NS-{round_}-{i}", "creditStatus": "Hold"},
            }
        )
        for i in range(count)
    ]


def _events(bodies: list[str], size: int = BATCH_SIZE) -> list[dict[str, Any]]:
    """Lambda SQS events of ``size`` records each."""
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
    return [{"Records": records[i : i + size]} for i in range(0, len(records), size)]


# ----------------------------------------------------------------------------- throughput


def _bulk_read_calls(fake: Any, secret_arn: str, records: int) -> int:
    """Salesforce calls one Bulk API 2.0 query job takes to read ``records`` records."""
    from integration_sync.clients import ApiClient
    from integration_sync.config import ObjectMapping
    from integration_sync.connectors.salesforce import SalesforceConnector
    from integration_sync.credentials import SecretAuth

    start = time.time() - records
    for n in range(records):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + n))
        fake.seed("Contact", f"003{n:015d}", stamp, {"Email": f"c{n}@example.com"})
    mapping = {
        "contact": ObjectMapping(
            name="contact", fields={"Email": "Email"}, external_id="Id", source_object="Contact"
        )
    }
    connector = SalesforceConnector(ApiClient(fake.base_url, auth=SecretAuth(secret_arn)), mapping)
    connector.poll_seconds = 0.0  # the fake completes a job after its second poll
    before = len(fake.calls)
    read = sum(
        len(page.records)
        for page in connector.bulk_changes(
            "Contact", since="2000-01-01T00:00:00Z", until="2100-01-01T00:00:00Z"
        )
    )
    if read != records:
        raise RuntimeError(f"sync bench: the bulk job read {read} of {records} records")
    return sum(1 for _, path in fake.calls[before:] if not path.endswith("/oauth2/token"))


class _AwsRequests:
    """Counts every AWS request botocore is about to send (a `before-send` handler)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, **kwargs: Any) -> None:
        self.count += 1  # None: the next handler (moto's) answers the request


def bench_sync(records: int, repeats: int) -> dict[str, Any]:
    """Salesforce calls and AWS requests per record through the consumer, in collections and
    against writing one record per call, over the same number of records."""
    if str(FUNCTIONS_DIR) not in sys.path:
        sys.path.insert(0, str(FUNCTIONS_DIR))
    import boto3
    import botocore.handlers
    from moto import mock_aws

    from provisioner.rehearsal.emulator import scoped_environ
    from provisioner.rehearsal.vendors import VendorServer
    from provisioner.rehearsal.vendors.salesforce import SalesforceFake
    from roadmap.budget import consumer_batching
    from roadmap.io import load_roadmap

    roadmap = load_roadmap(REPO_ROOT / "roadmap.yaml")
    size = consumer_batching(roadmap.integration(COLLECTIONS_INTEGRATION), roadmap).size
    aws_requests = _AwsRequests()
    # Ahead of moto's own before-send handler, in every session made from now on.
    handler_entry = ("before-send", aws_requests)
    botocore.handlers.BUILTIN_HANDLERS.insert(0, handler_entry)
    aws_env = {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    try:
        with (
            scoped_environ({**aws_env, "AWS_ENDPOINT_URL": None, "AWS_PROFILE": None}),
            mock_aws(),
            _fake_target() as (target_url, target),
            VendorServer(SalesforceFake()) as vendors,
        ):
            boto3.setup_default_session()
            salesforce = vendors.fakes["salesforce"]
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
            secret = boto3.client("secretsmanager").create_secret(
                Name=f"dev-{COLLECTIONS_INTEGRATION}-cred-salesforce-jwt",
                SecretString=json.dumps(salesforce.credential()),
            )["ARN"]
            per_record_env = {
                var.INTEGRATION: INTEGRATION,
                var.ENVIRONMENT: "dev",
                var.POWERTOOLS_SERVICE_NAME: INTEGRATION,
                var.METRICS_NAMESPACE: namespace(INTEGRATION),
                var.SOURCE_SYSTEM: "salesforce",
                var.TARGET_SYSTEM: "netsuite",
                var.TARGET_BASE_URL: target_url,
                var.TARGET_CONNECTOR: "middleware",
                var.SOURCE_BASE_URL: "",
                var.TARGET_CREDENTIAL_SECRET_ARN: "",
                var.SOURCE_CREDENTIAL_SECRET_ARN: "",
                var.STATE_TABLE: table,
                var.QUEUE_URL: queue,
                var.DLQ_URL: dlq,
                var.FIELD_MAPPING: json.dumps(MAPPING),
                var.FIFO: "false",
                var.API_CALLS_PER_DAY: "60000",
                var.MAX_STALENESS_SECONDS: "300",
                "AWS_LAMBDA_FUNCTION_NAME": f"dev-{INTEGRATION}-consumer",
            }
            collections_env = {
                **per_record_env,
                var.SOURCE_SYSTEM: "netsuite",
                var.TARGET_SYSTEM: "salesforce",
                var.TARGET_BASE_URL: salesforce.base_url,
                var.TARGET_CONNECTOR: "salesforce",
                var.TARGET_CREDENTIAL_SECRET_ARN: secret,
                var.FIELD_MAPPING: json.dumps(SALESFORCE_MAPPING),
            }
            from integration_sync.consumer import handler

            def consume(events: list[dict[str, Any]]) -> int:
                failed = 0
                with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                    # EMF metric lines go to stdout; with no Lambda context (None) Powertools
                    # warns that it cannot tell the remaining time on every record.
                    warnings.simplefilter("ignore", UserWarning)
                    for event in events:
                        failed += len(handler(event, None)["batchItemFailures"])
                return failed

            # Warm up both: clients, the idempotency layer, the token and the connections.
            with scoped_environ(per_record_env):
                consume(_events(_bodies(BATCH_SIZE, 999)))
            with scoped_environ(collections_env):
                consume(_events(_customer_changes(BATCH_SIZE, 999), size))
            runs: dict[str, list[tuple[float, int, int]]] = {"per_record": [], "collections": []}
            failures = 0
            for round_ in range(repeats):
                cases: list[tuple[str, dict[str, str], list[dict[str, Any]], Callable[[], int]]]
                cases = [
                    (
                        "per_record",
                        per_record_env,
                        _events(_bodies(records, round_)),
                        lambda: int(target.writes),
                    ),
                    (
                        "collections",
                        collections_env,
                        _events(_customer_changes(records, round_), size),
                        lambda: len(salesforce.write_requests),
                    ),
                ]
                for kind, env, events, calls in cases:
                    with scoped_environ(env):
                        calls_before, aws_before = calls(), aws_requests.count
                        seconds, failed = timed(lambda: consume(events))  # noqa: B023
                        runs[kind].append(
                            (seconds, calls() - calls_before, aws_requests.count - aws_before)
                        )
                    failures += failed
                log(
                    f"sync: {records} records, per record {runs['per_record'][-1][1]} calls "
                    f"in {runs['per_record'][-1][0]:.2f}s, in collections "
                    f"{runs['collections'][-1][1]} calls in {runs['collections'][-1][0]:.2f}s"
                )
            bulk_calls = _bulk_read_calls(salesforce, secret, BULK_READ_RECORDS)
            if failures:
                raise RuntimeError(f"sync bench: {failures} failed records")
            stored = len(salesforce.stored("Account"))
            if stored < records * repeats:
                raise RuntimeError(f"sync bench: {stored} accounts stored")
    finally:
        botocore.handlers.BUILTIN_HANDLERS.remove(handler_entry)

    def per_1k(kind: str) -> float:
        return round(median([float(c) for _, c, _ in runs[kind]]) * 1000 / records, 1)

    collections_aws = median([float(a) for _, _, a in runs["collections"]])
    return {
        "records": records,
        "repeats": repeats,
        "batch_size": {"collections": size, "per_record": BATCH_SIZE},
        "salesforce_calls_per_1k_records": {
            "consumer_writes": per_1k("collections"),
            "per_record_baseline": per_1k("per_record"),
            "bulk_read": round(bulk_calls * 1000 / BULK_READ_RECORDS, 2),
        },
        "bulk_read": {"records": BULK_READ_RECORDS, "salesforce_calls": bulk_calls},
        "aws_requests_per_record": round(collections_aws / records, 2),
        "records_per_second": {
            kind: round(records / median([s for s, _, _ in runs[kind]]), 1) for kind in runs
        },
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
