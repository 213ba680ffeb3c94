"""Shared fixtures for the sync tests: a fake REST system on 127.0.0.1, moto, Lambda events.

Named ``test_sync_*`` to sit with the tests it serves; it holds no tests itself. The other
``test_sync_*`` modules import its builders (pytest puts ``tests/`` on sys.path); its
fixtures (``aws``, ``fake_system``, ``netsuite``) reach every test module through
``tests/conftest.py``, which registers this module as a plugin.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
import pytest

from bench import sync as bench_sync
from contract import environment as var
from contract.metrics import namespace
from provisioner.rehearsal.checks.poller import batch_event, receive

FUNCTIONS_DIR = Path(__file__).resolve().parents[1] / "functions"
# The bundle folder is what Lambda puts on sys.path; tests import it the same way.
if str(FUNCTIONS_DIR) not in sys.path:
    sys.path.insert(0, str(FUNCTIONS_DIR))

from integration_sync.aws import secrets_provider  # noqa: E402

REGION = "eu-west-1"
ACCOUNT = "123456789012"

# From roadmap.yaml: quote-to-order (Salesforce -> NetSuite, CDC, strict order -> FIFO); its
# orders are mapped as the sync bench maps the OrderChangeEvents both send.
ORDER_MAPPING = {
    "quote": {
        "external_id": "externalId",
        "fields": {
            "Id": "externalId",
            "Name": "memo",
            "AccountId": "entity",
            "TotalPrice": "total",
        },
    },
    **bench_sync.MAPPING,
}
# From roadmap.yaml: order-to-invoice (NetSuite -> Xero, batch every 15 minutes).
INVOICE_MAPPING = {
    "invoice": {
        "external_id": "Reference",
        "fields": {
            "tranId": "InvoiceNumber",
            "entity": "ContactID",
            "total": "Total",
            "tranDate": "Date",
            "externalId": "Reference",
        },
    }
}


# --------------------------------------------------------------------------- fake systems


Fault = Callable[["Request"], tuple[int, dict[str, str], Any] | None]


@dataclass
class Request:
    """One request the fake system received."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    at: float


@dataclass
class FakeSystem:
    """An in-memory REST system speaking the sync clients' shape (see clients.py)."""

    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    feed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    writes: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    required_auth: str | None = None
    url: str = ""
    queues: Queues | None = None  # set by tests whose system sits behind a queue
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- fault injection
    def rate_limit(self, times: int, retry_after: str = "1") -> None:
        """Answer the next ``times`` writes with 429 and Retry-After."""
        left = [times]

        def fault(req: Request) -> tuple[int, dict[str, str], Any] | None:
            if req.method in ("PATCH", "DELETE") and left[0] > 0:
                left[0] -= 1
                return 429, {"Retry-After": retry_after}, {"errorCode": "RATE_LIMITED"}
            return None

        self.faults.append(fault)

    def fail_record(self, external_id: str, status: int, times: int | None = None) -> None:
        """Answer writes to one record with ``status`` (forever, or ``times`` times)."""
        left = [times]

        def fault(req: Request) -> tuple[int, dict[str, str], Any] | None:
            target = req.method == "PATCH" and req.path.rsplit("/", 1)[-1] == external_id
            if target and (left[0] is None or left[0] > 0):
                if left[0] is not None:
                    left[0] -= 1
                return status, {}, {"error": f"injected {status}"}
            return None

        self.faults.append(fault)

    def written(self, obj: str) -> dict[str, dict[str, Any]]:
        return self.records.get(obj, {})

    def write_count(self, obj: str, external_id: str) -> int:
        return sum(1 for o, i, _ in self.writes if o == obj and i == external_id)

    # -- request handling
    def handle(self, req: Request) -> tuple[int, dict[str, str], Any]:
        with self.lock:
            self.requests.append(req)
            for fault in self.faults:
                answer = fault(req)
                if answer is not None:
                    return answer
            if self.required_auth and req.headers.get("authorization") != self.required_auth:
                return 401, {}, {"error": "invalid token"}
            path = req.path.removeprefix("/api")
            parts = [unquote(p) for p in path.strip("/").split("/") if p]
            if req.method == "PATCH" and len(parts) == 3:
                obj, ext_field, ext_id = parts
                table = self.records.setdefault(obj, {})
                created = ext_id not in table
                table[ext_id] = {**table.get(ext_id, {}), **req.body, ext_field: ext_id}
                self.writes.append((obj, ext_id, dict(req.body)))
                return (201 if created else 204), {}, {"id": ext_id} if created else None
            if req.method == "DELETE" and len(parts) == 3:
                existed = self.records.get(parts[0], {}).pop(parts[2], None)
                return (204 if existed else 404), {}, None
            if req.method == "GET" and len(parts) == 2 and parts[1] == "changes":
                return 200, {}, {"records": self._changes(parts[0], req.query)}
            if req.method == "GET" and len(parts) == 1:
                ids = set(req.query.get("ids", "").split(","))
                found = [r for i, r in self.records.get(parts[0], {}).items() if i in ids]
                return 200, {}, {"records": found}
            return 404, {}, {"error": "no route"}

    def _changes(self, obj: str, query: dict[str, str]) -> list[dict[str, Any]]:
        after = (query["since"], query["after_id"])
        rows = sorted(self.feed.get(obj, []), key=lambda r: (r["modified_at"], r["id"]))
        rows = [
            r
            for r in rows
            if (r["modified_at"], r["id"]) > after and r["modified_at"] < query["until"]
        ]
        return rows[: int(query["limit"])]


class _Handler(BaseHTTPRequestHandler):
    system: FakeSystem

    def _serve(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = raw.decode()
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        req = Request(
            self.command,
            split.path,
            query,
            body,
            {k.lower(): v for k, v in self.headers.items()},
            time.monotonic(),
        )
        status, headers, payload = self.system.handle(req)
        data = b"" if payload is None or status == 204 else json.dumps(payload).encode()
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PATCH = do_DELETE = do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return


@pytest.fixture(name="fake_system")
def fake_system_fixture() -> Iterator[Callable[[], FakeSystem]]:
    """Factory of fake systems, each on its own 127.0.0.1 port, stopped after the test."""
    servers: list[ThreadingHTTPServer] = []

    def start() -> FakeSystem:
        system = FakeSystem()
        handler = type("Handler", (_Handler,), {"system": system})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        system.url = f"http://127.0.0.1:{server.server_address[1]}/api"
        return system

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------- AWS (moto)


@pytest.fixture(name="aws")
def aws_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto for SQS, DynamoDB, Secrets Manager and CloudWatch, with fake credentials."""
    from moto import mock_aws

    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # The bundle keeps one Secrets Manager reader (and the values it read) per process: one
    # made for an earlier test's emulator would answer this test's reads.
    secrets_provider.cache_clear()
    with mock_aws():
        yield
    secrets_provider.cache_clear()


def create_state_table(name: str) -> str:
    """The state table as components/ provisions it: key ``id``, TTL on ``expiration``."""
    ddb = boto3.client("dynamodb")
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"}
    )
    return name


@dataclass(frozen=True)
class Queues:
    url: str
    arn: str
    dlq_url: str
    dlq_arn: str


def create_queues(name: str, *, fifo: bool = False, max_receive_count: int = 5) -> Queues:
    """Source queue with a redrive policy to its DLQ, named as docs/contracts.md says."""
    sqs = boto3.client("sqs")
    suffix = ".fifo" if fifo else ""
    fifo_attrs = {"FifoQueue": "true"} if fifo else {}
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq{suffix}", Attributes=fifo_attrs)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName=f"{name}-queue{suffix}",
        Attributes={
            **fifo_attrs,
            # Policy minimum is 5 receives before dead-lettering (policies/.../queues.py).
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
            ),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return Queues(url, arn, dlq_url, dlq_arn)


def create_secret(name: str, value: dict[str, Any]) -> str:
    return str(
        boto3.client("secretsmanager").create_secret(Name=name, SecretString=json.dumps(value))[
            "ARN"
        ]
    )


def sync_env(
    monkeypatch: pytest.MonkeyPatch,
    *,
    integration: str,
    mapping: dict[str, Any],
    target_url: str,
    source_url: str = "",
    state_table: str = "",
    queues: Queues | None = None,
    fifo: bool = False,
    target_secret_arn: str = "",
    source_secret_arn: str = "",
    source_system: str = "salesforce",
    target_system: str = "netsuite",
    connectors: tuple[str, str] = ("", ""),
    bulk_query: bool = False,
) -> None:
    """Set the environment components/ gives the sync functions (docs/contracts.md).

    ``connectors`` names the source's and the target's connector (the middleware contract
    when empty); ``bulk_query`` makes the batch job read through Bulk API 2.0 query jobs.
    """
    env = {
        var.INTEGRATION: integration,
        var.ENVIRONMENT: "dev",
        var.POWERTOOLS_SERVICE_NAME: integration,
        var.METRICS_NAMESPACE: namespace(integration),
        var.SOURCE_SYSTEM: source_system,
        var.TARGET_SYSTEM: target_system,
        var.TARGET_BASE_URL: target_url,
        var.SOURCE_BASE_URL: source_url,
        var.TARGET_CREDENTIAL_SECRET_ARN: target_secret_arn,
        var.SOURCE_CREDENTIAL_SECRET_ARN: source_secret_arn,
        var.SOURCE_CONNECTOR: connectors[0],
        var.TARGET_CONNECTOR: connectors[1],
        var.STATE_TABLE: state_table,
        var.QUEUE_URL: queues.url if queues else "",
        var.DLQ_URL: queues.dlq_url if queues else "",
        var.FIELD_MAPPING: json.dumps(mapping),
        var.FIFO: "true" if fifo else "false",
        var.API_CALLS_PER_DAY: "20000",
        var.MAX_STALENESS_SECONDS: "900",
        "AWS_LAMBDA_FUNCTION_NAME": f"dev-{integration}-consumer",
    }
    if bulk_query:
        env[var.SOURCE_BULK_QUERY] = "true"
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def invoice_env(
    monkeypatch: pytest.MonkeyPatch,
    netsuite: FakeSystem,
    xero: FakeSystem,
    *,
    integration: str,
    state_table: str = "",
) -> None:
    """order-to-invoice's scheduled environment: NetSuite invoices read into Xero."""
    sync_env(
        monkeypatch,
        integration=integration,
        mapping=INVOICE_MAPPING,
        source_url=netsuite.url,
        target_url=xero.url,
        state_table=state_table,
        source_system="netsuite",
        target_system="xero",
    )


def consumer_env(
    monkeypatch: pytest.MonkeyPatch,
    *,
    integration: str,
    mapping: dict[str, Any],
    target_url: str,
    fifo: bool = False,
    source_system: str = "salesforce",
    target_system: str = "netsuite",
    target_connector: str = "",
    target_secret_arn: str = "",
) -> Queues:
    """An event-driven integration in dev: its queues and state table, and the env naming them."""
    queues = create_queues(f"dev-{integration}", fifo=fifo)
    sync_env(
        monkeypatch,
        integration=integration,
        mapping=mapping,
        target_url=target_url,
        state_table=create_state_table(f"dev-{integration}-state"),
        queues=queues,
        fifo=fifo,
        target_secret_arn=target_secret_arn,
        source_system=source_system,
        target_system=target_system,
        connectors=("", target_connector),
    )
    return queues


# --------------------------------------------------------------------------- payloads


def consumer_handler() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The consumer's handler, imported once `consumer_env` has set its environment."""
    from integration_sync.consumer import handler

    return handler


@pytest.fixture(name="netsuite")
def netsuite_fixture(
    aws: None, fake_system: Callable[[], FakeSystem], monkeypatch: pytest.MonkeyPatch
) -> FakeSystem:
    """NetSuite as the target of quote-to-order on a standard queue, with its state table."""
    system = fake_system()
    system.queues = consumer_env(
        monkeypatch, integration="quote-to-order", mapping=ORDER_MAPPING, target_url=system.url
    )
    return system


def invoice_record(number: int, *, modified_at: str, total: float = 1250.0) -> dict[str, Any]:
    """A NetSuite invoice as the ERP's change feed returns it."""
    return {
        "id": f"{4_810_000 + number}",
        "modified_at": modified_at,
        "data": {
            "tranId": f"INV-{10_000 + number}",
            "entity": f"CUST-{300 + number % 7}",
            "total": total,
            "tranDate": "2024-05-02",
            "externalId": f"NS-INV-{10_000 + number}",
            "currency": "EUR",
            "status": "open",
        },
    }


# --------------------------------------------------------------------------- Lambda shapes


class FakeContext:
    """The parts of a LambdaContext the handlers read."""

    function_name = "dev-quote-to-order-consumer"
    memory_limit_in_mb = 256
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:dev-quote-to-order-consumer"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    def __init__(self, timeout_seconds: float = 60.0) -> None:
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def lambda_sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """What the SQS event source mapping passes to the function for received messages."""
    return batch_event(messages, queue_arn, REGION)


def direct_event(bodies: list[dict[str, Any] | str], queue_arn: str = "") -> dict[str, Any]:
    """An SQS event built without a queue, for tests of one invocation."""
    arn = queue_arn or f"arn:aws:sqs:{REGION}:{ACCOUNT}:dev-quote-to-order-queue"
    messages = [
        {
            "MessageId": str(uuid.uuid4()),
            "ReceiptHandle": f"rh-{i}",
            "Body": body if isinstance(body, str) else json.dumps(body),
            "Attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": str(int(time.time() * 1000)),
            },
        }
        for i, body in enumerate(bodies)
    ]
    return lambda_sqs_event(messages, arn)


def drive_queue(
    queues: Queues,
    handler: Callable[[dict[str, Any], Any], dict[str, Any]],
    *,
    max_polls: int = 50,
) -> list[dict[str, Any]]:
    """Emulate the SQS event source mapping: receive, invoke, delete what succeeded.

    Failed records are made visible again at once (instead of after the visibility timeout)
    so retries happen within the test; their receive count still grows, so SQS's redrive to
    the DLQ after ``maxReceiveCount`` is real.
    """
    sqs = boto3.client("sqs")
    responses = []
    for _ in range(max_polls):
        messages = receive(sqs, queues.url, visibility=60)
        if not messages:
            break
        response = handler(lambda_sqs_event(messages, queues.arn), FakeContext())
        responses.append(response)
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        settle_at_once(sqs, queues.url, messages, failed)
    return responses


def settle_at_once(sqs: Any, url: str, messages: list[dict[str, Any]], failed: set[str]) -> None:
    """Delete the batch's messages that succeeded; make the ``failed`` ones visible again at
    once rather than after their visibility timeout, so a test sees the retries."""
    for message in messages:
        if message["MessageId"] in failed:
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        else:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def receive_all(queue_url: str) -> list[dict[str, Any]]:
    """Every message currently in a queue (received and left invisible)."""
    sqs = boto3.client("sqs")
    found: list[dict[str, Any]] = []
    while True:
        batch = receive(sqs, queue_url, visibility=300)
        if not batch:
            return found
        found.extend(batch)


# --------------------------------------------------------------------------- metrics (EMF)


def emf_documents(stdout: str) -> list[dict[str, Any]]:
    """The embedded-metric-format documents a function printed."""
    docs = []
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{") and '"_aws"' in line:
            docs.append(json.loads(line))
    return docs


def metric_values(
    docs: list[dict[str, Any]], name: str, *, namespace: str | None = None
) -> list[float]:
    """Every value of metric ``name`` across EMF documents (optionally in one namespace)."""
    values: list[float] = []
    for doc in docs:
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            if namespace and directive["Namespace"] != namespace:
                continue
            if any(m["Name"] == name for m in directive["Metrics"]):
                value = doc[name]
                values.extend(value if isinstance(value, list) else [value])
    return values


def publish_emf(docs: list[dict[str, Any]]) -> None:
    """Do what CloudWatch Logs does with EMF lines: turn them into PutMetricData (into moto)."""
    cloudwatch = boto3.client("cloudwatch")
    for doc in docs:
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            for dims in directive["Dimensions"]:
                dimensions = [{"Name": d, "Value": str(doc[d])} for d in dims]
                data = []
                for metric in directive["Metrics"]:
                    values = doc[metric["Name"]]
                    for value in values if isinstance(values, list) else [values]:
                        data.append(
                            {
                                "MetricName": metric["Name"],
                                "Dimensions": dimensions,
                                "Value": float(value),
                                "Unit": metric.get("Unit", "None"),
                            }
                        )
                cloudwatch.put_metric_data(Namespace=directive["Namespace"], MetricData=data)
