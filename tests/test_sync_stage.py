"""A warehouse pipeline's batch job stages pages as files; the warehouse loads them itself."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from test_sync_batch import INVOICES, PAGE, STATE_TABLE, _run, _systems, _watermark
from test_sync_bulk import ACCOUNTS, org_fixture, server_fixture, warehouse_export_env  # noqa: F401  (fixtures)
from test_sync_bulk import PAGE as BULK_PAGE
from test_sync_bulk import STATE_TABLE as BULK_STATE_TABLE
from test_sync_harness import (
    FakeContext,
    FakeSystem,
    create_state_table,
)

from contract import environment as var
from provisioner.rehearsal.vendors.salesforce import SalesforceFake

BUCKET = "dev-order-to-invoice-stage-111111111111"


@pytest.fixture
def staged(
    aws: None, fake_system: Callable[[], FakeSystem], monkeypatch: pytest.MonkeyPatch
) -> tuple[FakeSystem, FakeSystem]:
    create_state_table(STATE_TABLE)
    systems = _systems(fake_system, monkeypatch)
    monkeypatch.setenv(var.STAGE_BUCKET, BUCKET)
    return systems


def _files() -> dict[str, list[dict[str, Any]]]:
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    return {
        k: [json.loads(line) for line in s3.get_object(Bucket=BUCKET, Key=k)["Body"].iter_lines()]
        for k in keys
    }


def test_each_page_lands_as_one_ndjson_file_keyed_by_its_watermark_and_nothing_is_upserted(
    staged: tuple[FakeSystem, FakeSystem],
) -> None:
    boto3.client("s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    netsuite, xero = staged

    result = _run()

    files = _files()
    assert result["objects"]["invoice"]["written"] == INVOICES
    assert len(files) == -(-INVOICES // PAGE)
    assert all(k.startswith("invoice/") and k.endswith(".json") for k in files)
    rows = [row for page in files.values() for row in page]
    assert sorted(r["Reference"] for r in rows) == sorted(
        r["data"]["externalId"] for r in netsuite.feed["invoice"]
    )
    assert xero.written("invoice") == {}  # the warehouse loads the files, not the job
    committed = _watermark()
    last = max(netsuite.feed["invoice"], key=lambda r: (r["modified_at"], r["id"]))
    assert committed is not None and committed["after_id"] == last["id"]


def test_a_failed_put_commits_no_watermark_and_the_retry_writes_the_same_key(
    staged: tuple[FakeSystem, FakeSystem],
) -> None:
    with pytest.raises(ClientError, match="NoSuchBucket"):
        _run()
    assert _watermark() is None

    boto3.client("s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    first = sorted(_run() and _files())
    # The same run again (its watermark reset) rewrites the same keys, never new ones.
    boto3.client("dynamodb").delete_item(
        TableName=STATE_TABLE, Key={"id": {"S": "watermark#invoice"}}
    )
    _run()
    assert sorted(_files()) == first


def test_a_bulk_read_stages_each_result_page_once_and_a_retry_resumes_at_the_failed_put(
    org: SalesforceFake,
    fake_system: Callable[[], FakeSystem],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Bulk API 2.0 job's pages land as files keyed by the job and the page's locator."""
    from integration_sync import stage
    from integration_sync.batch import handler

    create_state_table(BULK_STATE_TABLE)
    warehouse_export_env(monkeypatch, org, fake_system().url, state_table=BULK_STATE_TABLE)
    monkeypatch.setenv(var.STAGE_BUCKET, BUCKET)
    boto3.client("s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    put_page = stage.Stage.put_page
    puts: list[str] = []

    def second_put_fails(self: Any, obj: str, start: Any, rows: Any) -> str:
        puts.append(stage.stage_key(obj, *start))
        if len(puts) == 2:
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "x"}}, "PutObject")
        return put_page(self, obj, start, rows)

    monkeypatch.setattr(stage.Stage, "put_page", second_put_fails)
    with pytest.raises(ClientError, match="SlowDown"):
        handler({}, FakeContext(timeout_seconds=300))
    assert sorted(_files()) == puts[:1]
    monkeypatch.setattr(stage.Stage, "put_page", put_page)

    result = handler({}, FakeContext(timeout_seconds=300))

    files = _files()
    assert result["complete"] is True
    assert puts[1] in files and len(files) == -(-ACCOUNTS // BULK_PAGE)
    assert sorted(r["SALESFORCE_ID"] for rows in files.values() for r in rows) == sorted(
        f"001{n:015d}" for n in range(ACCOUNTS)
    )
