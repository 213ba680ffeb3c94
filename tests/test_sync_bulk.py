"""Large Salesforce reads: one Bulk API 2.0 query job per window, resumed when a run dies.

The Salesforce fake on 127.0.0.1 speaks the documented query job protocol (create, poll
through UploadComplete and InProgress to JobComplete, CSV result pages chained by
``Sforce-Locator``); the batch job writes into a fake target and keeps its state in moto.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from test_sync_harness import (
    FakeContext,
    FakeSystem,
    create_secret,
    create_state_table,
    sync_env,
)

from integration_sync.clients import ApiClient
from integration_sync.config import ObjectMapping
from integration_sync.connectors import salesforce as salesforce_connector
from integration_sync.credentials import SecretAuth
from integration_sync.errors import TransientError
from provisioner.rehearsal.vendors import VendorServer
from provisioner.rehearsal.vendors.salesforce import PREFIX, SalesforceFake

INTEGRATION = "warehouse-export"
STATE_TABLE = f"dev-{INTEGRATION}-state"
ACCOUNTS = 25
PAGE = 10  # result page size for the tests (10,000 in production)
MAPPING = {
    "account": {
        "external_id": "SALESFORCE_ID",
        "source_object": "Account",
        "target_object": "ACCOUNTS",
        "fields": {"Id": "SALESFORCE_ID", "Name": "NAME"},
    }
}


@pytest.fixture(scope="module", name="server")
def server_fixture() -> Iterator[VendorServer]:
    with VendorServer(SalesforceFake()) as server:
        yield server


@pytest.fixture(name="org")
def org_fixture(server: VendorServer, aws: None, monkeypatch: pytest.MonkeyPatch) -> SalesforceFake:
    fake = server.reset("salesforce")
    assert isinstance(fake, SalesforceFake)
    start = datetime.now(UTC) - timedelta(hours=2)
    for n in range(ACCOUNTS):
        moment = (start + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
        fake.seed("Account", f"001{n:015d}", moment, {"Name": f"Account {n}", "Amount": n + 0.5})
    monkeypatch.setattr(salesforce_connector, "BULK_RESULT_PAGE", PAGE)
    monkeypatch.setattr(salesforce_connector.SalesforceConnector, "poll_seconds", 0.0)
    return fake


def connector(fake: SalesforceFake) -> salesforce_connector.SalesforceConnector:
    arn = create_secret(f"dev-bulk-{uuid.uuid4().hex[:6]}", fake.credential())
    fields = {"Id": "Id", "Name": "Name", "Amount": "Amount"}
    mapping = {
        "account": ObjectMapping(
            name="account", fields=fields, external_id="Id", source_object="Account"
        )
    }
    api = ApiClient(fake.base_url, auth=SecretAuth(arn))
    return salesforce_connector.SalesforceConnector(api, mapping)


def calls_to(fake: SalesforceFake, part: str) -> int:
    return sum(1 for _, path in fake.calls if path.startswith(f"{PREFIX}/jobs/query{part}"))


def warehouse_export_env(
    monkeypatch: pytest.MonkeyPatch, org: SalesforceFake, target_url: str, *, state_table: str = ""
) -> None:
    """warehouse-export's scheduled environment: Salesforce read through Bulk API 2.0 query
    jobs with its own credential, into the warehouse at ``target_url``."""
    sync_env(
        monkeypatch,
        integration=INTEGRATION,
        mapping=MAPPING,
        source_url=org.base_url,
        target_url=target_url,
        state_table=state_table,
        source_secret_arn=create_secret(f"dev-{INTEGRATION}-cred-sf", org.credential()),
        target_system="snowflake",
        connectors=("salesforce", ""),
        bulk_query=True,
    )


def test_a_query_job_is_polled_to_completion_then_read_page_by_page(org: SalesforceFake) -> None:
    jobs: list[str] = []
    since = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    until = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    pages = list(
        connector(org).bulk_changes("Account", since=since, until=until, on_job=jobs.append)
    )

    assert [len(p.records) for p in pages] == [10, 10, 5]
    assert [p.locator for p in pages] == ["", pages[0].next_locator, pages[1].next_locator]
    assert pages[-1].next_locator == ""
    assert len({r.id for p in pages for r in p.records}) == ACCOUNTS
    # CSV carries text; the sObject's describe types it as REST's JSON would.
    amounts = sorted(r.data["Amount"] for p in pages for r in p.records)
    assert amounts[:2] == [0.5, 1.5]
    # One job, polled until JobComplete, its three result pages: a handful of calls.
    assert list(org.jobs) == jobs
    assert org.jobs[jobs[0]]["state"] == "JobComplete"
    assert calls_to(org, "") - calls_to(org, "/") == 1  # the create
    assert sum(1 for _, p in org.calls if p.endswith("/results")) == 3


def test_results_are_refused_until_the_job_is_complete(org: SalesforceFake) -> None:
    import requests

    token = org.issue_token()
    soql = "SELECT Id, SystemModstamp FROM Account WHERE SystemModstamp >= 2020-01-01T00:00:00Z"
    headers = {"Authorization": f"Bearer {token}"}
    created = requests.post(
        f"{org.base_url}{PREFIX}/jobs/query",
        json={"operation": "query", "query": soql},
        headers=headers,
        timeout=5,
    ).json()
    early = requests.get(
        f"{org.base_url}{PREFIX}/jobs/query/{created['id']}/results", headers=headers, timeout=5
    )
    ordered = requests.post(
        f"{org.base_url}{PREFIX}/jobs/query",
        json={"operation": "query", "query": f"{soql} ORDER BY Id"},
        headers=headers,
        timeout=5,
    )

    assert created["state"] == "UploadComplete"
    assert early.status_code == 400 and "INVALIDJOBSTATE" in early.text
    assert ordered.status_code == 400  # Bulk API 2.0 takes no ORDER BY


def test_a_batch_run_killed_between_pages_resumes_the_same_job(
    org: SalesforceFake, fake_system: Callable[[], FakeSystem], monkeypatch: pytest.MonkeyPatch
) -> None:
    from integration_sync.batch import handler

    target = fake_system()
    create_state_table(STATE_TABLE)
    warehouse_export_env(monkeypatch, org, target.url, state_table=STATE_TABLE)
    # The run dies on the second page: every write of one record there fails.
    doomed: list[str] = []

    def kill_on_second_page(req: Any) -> tuple[int, dict[str, str], Any] | None:
        if req.method == "PATCH" and len(target.writes) >= PAGE + 2 and not doomed:
            doomed.append(req.path)
        return (503, {}, {"error": "down"}) if doomed and req.path == doomed[0] else None

    target.faults.append(kill_on_second_page)
    with pytest.raises(TransientError):
        handler({}, FakeContext(timeout_seconds=300))
    state = boto3.client("dynamodb").get_item(
        TableName=STATE_TABLE, Key={"id": {"S": "bulkjob#account"}}
    )["Item"]
    [job_id] = org.jobs
    assert state["job_id"]["S"] == job_id and state["locator"]["S"] != ""

    target.faults.clear()
    result = handler({}, FakeContext(timeout_seconds=300))

    assert result["complete"] is True
    assert list(org.jobs) == [job_id]  # no second job: the same one, from its second page
    assert len(target.written("ACCOUNTS")) == ACCOUNTS
    assert "Item" not in boto3.client("dynamodb").get_item(
        TableName=STATE_TABLE, Key={"id": {"S": "bulkjob#account"}}
    )
    watermark = boto3.client("dynamodb").get_item(
        TableName=STATE_TABLE, Key={"id": {"S": "watermark#account"}}
    )["Item"]
    assert watermark["since"]["S"] == state["until"]["S"]


def test_reconciliation_reads_its_window_through_one_query_job(
    org: SalesforceFake, fake_system: Callable[[], FakeSystem], monkeypatch: pytest.MonkeyPatch
) -> None:
    from integration_sync.reconcile import handler

    target = fake_system()
    warehouse_export_env(monkeypatch, org, target.url)
    end = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    start = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    result = handler({"window_start": start, "window_end": end}, FakeContext())

    assert result["objects"]["account"]["source_count"] == ACCOUNTS
    assert result["objects"]["account"]["gap"] == ACCOUNTS  # the target holds none of them
    assert len(org.jobs) == 1
    assert not [p for _, p in org.calls if p == f"{PREFIX}/query"]  # no REST query pages
