"""Every connector against its vendor's fake: the same contract cases, then each one's quirks.

The fakes (``provisioner/rehearsal/vendors``) answer as each vendor documents; the connector
authenticates with the real ``SecretAuth`` from a Secrets Manager secret (moto), so an
expired token is refreshed the way the deployed function refreshes it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from test_sync_harness import create_secret

from integration_sync.clients import ApiClient
from integration_sync.config import ObjectMapping
from integration_sync.connectors import Connector, SourceRecord, connector_class
from integration_sync.credentials import SecretAuth
from integration_sync.errors import ConfigurationError, PermanentError, TransientError
from provisioner.rehearsal.checks.scheduled import changed_at
from provisioner.rehearsal.vendors import FAKES, VendorFake, VendorServer


@dataclass(frozen=True)
class Case:
    """How one vendor names things in the shared cases (from the example roadmap)."""

    source_object: str
    target_object: str
    external_id: str
    source_fields: tuple[str, ...]
    record_id: Callable[[int], str]
    target_fields: tuple[str, ...]
    deletes: bool = True


CASES: dict[str, Case] = {
    # credit-status-to-crm and lead-to-account write Salesforce; warehouse-export reads it.
    "salesforce": Case(
        "Opportunity",
        "Account",
        "NetSuite_Id__c",
        ("Id", "Name", "Amount"),
        lambda n: f"006{n:015d}",
        ("Credit_Status__c",),
    ),
    # order-to-invoice reads NetSuite invoices; quote-to-order writes sales orders.
    "netsuite": Case(
        "invoice",
        "salesOrder",
        "externalId",
        ("tranId", "entity", "total"),
        str,
        ("tranId", "orderStatus"),
    ),
    # order-to-invoice writes Xero invoices keyed by Reference.
    "xero": Case(
        "Invoices",
        "Invoices",
        "Reference",
        ("InvoiceNumber", "Total"),
        lambda n: f"9b4c2f7e-0000-4000-8000-{n:012d}",
        ("InvoiceNumber", "Total"),
        deletes=False,
    ),
    # warehouse-export merges Salesforce records into Snowflake tables.
    "snowflake": Case(
        "OPPORTUNITIES",
        "ACCOUNTS",
        "SALESFORCE_ID",
        ("NAME", "AMOUNT"),
        lambda n: f"006{n:015d}",
        ("NAME", "INDUSTRY"),
    ),
    # support-health-to-crm reads Zendesk; organizations are written by external id.
    "zendesk": Case(
        "users",
        "organizations",
        "external_id",
        ("name", "email"),
        lambda n: str(400000 + n),
        ("name", "notes"),
    ),
    "hubspot": Case(
        "contacts",
        "companies",
        "erp_id",
        ("email", "firstname"),
        lambda n: str(9000 + n),
        ("name", "domain"),
    ),
    "marketo": Case(
        "leads", "leads", "email", ("email", "leadScore"), lambda n: str(100 + n), ("company",)
    ),
    "stripe": Case(
        "customer",
        "customer",
        "erp_id",
        ("email", "name"),
        lambda n: f"cus_src{n:08d}",
        ("name", "email"),
    ),
    # web-order-capture reads Shopify orders; products are written by a unique metafield.
    "shopify": Case(
        "orders",
        "products",
        "erp_sku",
        ("name", "totalPrice"),
        lambda n: str(5000 + n),
        ("title", "vendor"),
    ),
    "amplitude": Case(
        "active_use",
        "",
        "",
        ("user_id", "plan"),
        lambda n: f"6a1f0c3e-0000-4000-8000-{n:012d}",
        (),
    ),
    "middleware": Case(
        "inventory", "inventory", "sku", ("itemId", "quantityAvailable"), str, ("available",)
    ),
}
NAMES = sorted(CASES)
WRITERS = [name for name in NAMES if CASES[name].target_object]


@pytest.fixture(scope="module", name="server")
def server_fixture() -> Iterator[VendorServer]:
    with VendorServer(*(FAKES[name]() for name in NAMES)) as server:
        yield server


@dataclass
class Harness:
    fake: Any  # the vendor's own fake class: the quirk tests set its own knobs
    connector: Connector
    case: Case
    waits: list[float]
    secret_arn: str


@pytest.fixture(name="vendor", params=NAMES)
def vendor_fixture(request: pytest.FixtureRequest, server: VendorServer, aws: None) -> Harness:
    return harness(server, request.param)


@pytest.fixture(name="writer", params=WRITERS)
def writer_fixture(request: pytest.FixtureRequest, server: VendorServer, aws: None) -> Harness:
    return harness(server, request.param)


def harness(server: VendorServer, name: str) -> Harness:
    fake = server.reset(name)
    case = CASES[name]
    arn = create_secret(f"dev-contract-{name}-cred-api-{len(fake.calls)}", fake.credential())
    waits: list[float] = []
    api = ApiClient(fake.base_url, auth=SecretAuth(arn), sleep=waits.append)
    return Harness(fake, connector_class(name)(api, mapping_of(case)), case, waits, arn)


def mapping_of(case: Case) -> dict[str, ObjectMapping]:
    return {
        "record": ObjectMapping(
            name="record",
            fields={f: f for f in (*case.source_fields, *case.target_fields)},
            external_id=case.external_id,
            source_object=case.source_object,
            target_object=case.target_object,
        )
    }


def seed(h: Harness, count: int, *, same_second: bool = False) -> list[str]:
    ids = []
    for n in range(1, count + 1):
        minute = 0 if same_second else n
        record_id = h.case.record_id(n)
        fields = {f: f"{f}-{n}" for f in h.case.source_fields if f not in ("Id",)}
        h.fake.seed(h.case.source_object, record_id, f"2026-11-20T10:{minute:02d}:00Z", fields)
        ids.append(record_id)
    return ids


def read_all(h: Harness, *, limit: int) -> list[str]:
    """Page through changes as the batch job does: each page starts after the last read."""
    since, after_id = "2026-11-20T00:00:00Z", ""
    seen: list[str] = []
    for _ in range(20):
        page = h.connector.changes(
            h.case.source_object,
            since=since,
            after_id=after_id,
            until="2026-11-21T00:00:00Z",
            limit=limit,
        )
        if not page:
            return seen
        seen += [r.id for r in page]
        since, after_id = page[-1].modified_at, page[-1].id
    raise AssertionError(f"changes never ran dry: {seen}")


def read_one(connector: Connector, obj: str) -> SourceRecord:
    """The one record changed on the seeding day."""
    (record,) = connector.changes(
        obj, since="2026-11-20T00:00:00Z", after_id="", until="2026-11-21T00:00:00Z", limit=10
    )
    return record


def body(h: Harness, n: int) -> dict[str, Any]:
    return {f: f"{f}-{n}" for f in h.case.target_fields}


def touch(h: Harness, n: int = 1) -> None:
    """One authenticated call: a write, or a read for a source-only vendor."""
    if h.case.target_object:
        h.connector.upsert(h.case.target_object, h.case.external_id, f"EXT-{n}", body(h, n))
    else:
        h.connector.changes(
            h.case.source_object,
            since="2026-11-20T00:00:00Z",
            after_id="",
            until="2026-11-21T00:00:00Z",
            limit=10,
        )


def public_ids(h: Harness, ids: list[str]) -> list[str]:
    return [h.fake.public_id(h.case.source_object, i) for i in ids]


# --------------------------------------------------------------------------- shared cases


def test_reads_every_change_once_in_order_across_vendor_pages(vendor: Harness) -> None:
    ids = seed(vendor, 5)
    vendor.fake.page_size = 2  # the vendor's own paging as well as the watermark's
    assert read_all(vendor, limit=3) == public_ids(vendor, ids)


def test_records_changed_in_the_same_second_are_neither_skipped_nor_repeated(
    vendor: Harness,
) -> None:
    ids = seed(vendor, 4, same_second=True)
    assert sorted(read_all(vendor, limit=2)) == sorted(public_ids(vendor, ids))


def test_reads_carry_the_mapped_source_fields(vendor: Harness) -> None:
    seed(vendor, 1)
    record = read_one(vendor.connector, vendor.case.source_object)
    for field in vendor.case.source_fields:
        if field != "Id":
            assert record.data[field] == f"{field}-1"


def test_upsert_creates_then_updates_the_same_record(writer: Harness) -> None:
    obj, key = writer.case.target_object, writer.case.external_id
    writer.connector.upsert(obj, key, "EXT-1", body(writer, 1))
    writer.connector.upsert(obj, key, "EXT-1", body(writer, 2))
    stored = writer.fake.stored(obj)
    assert list(stored) == ["EXT-1"]
    for field in writer.case.target_fields:
        assert stored["EXT-1"][field] == f"{field}-2"


def test_partial_failure_reports_each_record_and_keeps_the_others(writer: Harness) -> None:
    obj, key = writer.case.target_object, writer.case.external_id
    writer.fake.reject("EXT-2")
    results = writer.connector.upsert_many(
        obj,
        key,
        [("EXT-1", body(writer, 1)), ("EXT-2", body(writer, 2)), ("EXT-3", body(writer, 3))],
    )
    assert [(r.external_id, r.ok) for r in results] == [
        ("EXT-1", True),
        ("EXT-2", False),
        ("EXT-3", True),
    ]
    assert results[1].error
    assert sorted(writer.fake.stored(obj)) == ["EXT-1", "EXT-3"]


def test_throttling_is_waited_out_within_the_invocation(vendor: Harness) -> None:
    touch(vendor, 1)
    vendor.fake.throttle(2)
    touch(vendor, 2)
    assert len(vendor.waits) == 2


def test_an_expired_token_is_refreshed_once_and_a_revoked_key_reported(vendor: Harness) -> None:
    touch(vendor, 1)
    vendor.fake.expire_credentials()
    # An OAuth client fetches a new token; an API key must be replaced (VendorFake.issues).
    if vendor.fake.issues != "api_key":
        touch(vendor, 2)
        token_calls = [c for c in vendor.fake.calls if c[1] == vendor.fake.token_path]
        assert len(token_calls) == 2
    else:
        with pytest.raises(TransientError) as caught:
            touch(vendor, 2)
        assert caught.value.reason == "unauthorized"


def test_a_revoked_credential_replaced_in_the_secret_is_picked_up(vendor: Harness) -> None:
    touch(vendor, 1)
    replaced = vendor.fake.rotate_key()
    boto3.client("secretsmanager").put_secret_value(
        SecretId=vendor.secret_arn, SecretString=json.dumps(replaced)
    )
    touch(vendor, 2)


def test_lookup_finds_target_records_by_external_id(writer: Harness) -> None:
    obj, key = writer.case.target_object, writer.case.external_id
    for n in (1, 2, 3):
        writer.connector.upsert(obj, key, f"EXT-{n}", body(writer, n))
    found = writer.connector.lookup(obj, key, ["EXT-1", "EXT-3", "EXT-404"])
    assert sorted(str(r[key]) for r in found) == ["EXT-1", "EXT-3"]
    field = writer.case.target_fields[0]
    assert {str(r[key]): r[field] for r in found}["EXT-3"] == f"{field}-3"


def test_delete_removes_the_record_and_a_missing_one_counts_as_deleted(writer: Harness) -> None:
    obj, key = writer.case.target_object, writer.case.external_id
    writer.connector.upsert(obj, key, "EXT-1", body(writer, 1))
    if not writer.case.deletes:
        with pytest.raises(PermanentError, match="does not delete"):
            writer.connector.delete(obj, key, "EXT-1")
        return
    writer.connector.delete(obj, key, "EXT-1")
    writer.connector.delete(obj, key, "EXT-1")
    assert writer.fake.stored(obj) == {}


def test_authenticate_succeeds_with_the_secret_and_fails_without_access(vendor: Harness) -> None:
    vendor.connector.authenticate()
    vendor.fake.client_secret = "revoked-in-the-vendor-console"
    vendor.fake.expire_credentials()
    with pytest.raises(TransientError):
        vendor.connector.authenticate()


# Every credential kind a vendor issues (contract/connectors.py), as a roadmap may name it.
ISSUED = [(name, kind) for name in NAMES for kind in sorted(FAKES[name].kinds())]


@pytest.mark.parametrize(("name", "kind"), ISSUED, ids=[f"{n}-{k}" for n, k in ISSUED])
def test_every_credential_kind_a_vendor_issues_authenticates_and_a_forged_one_does_not(
    server: VendorServer, aws: None, name: str, kind: str
) -> None:
    fake = server.reset(name)
    issued = fake.enrol({"kind": kind, "account": "xy12345", "user": "SYNC", "client_id": "app"})
    assert issued["kind"] == kind  # the roadmap's kind, not one the fake prefers
    connector_for(fake, create_secret(f"dev-contract-{name}-{kind}", issued)).authenticate()
    # The same kind issued by another account of the vendor: signed, but not by this one.
    stranger = type(fake)()
    stranger.base_url = fake.base_url
    forged = stranger.enrol({"kind": kind, "account": "xy12345", "user": "SYNC"})
    with pytest.raises((TransientError, PermanentError)):
        connector_for(
            fake, create_secret(f"dev-contract-{name}-{kind}-forged", forged)
        ).authenticate()


def connector_for(fake: VendorFake, secret_arn: str) -> Connector:
    api = ApiClient(fake.base_url, auth=SecretAuth(secret_arn), sleep=lambda _s: None)
    return connector_class(fake.name)(api, mapping_of(CASES[fake.name]))


# --------------------------------------------------------------------------- vendor quirks


@pytest.fixture(name="only")
def only_fixture(server: VendorServer, aws: None) -> Callable[[str], Harness]:
    return lambda name: harness(server, name)


def test_salesforce_splits_collections_at_200_records(only: Callable[[str], Harness]) -> None:
    h = only("salesforce")
    records = [(f"EXT-{n}", body(h, n)) for n in range(201)]
    results = h.connector.upsert_many("Account", "NetSuite_Id__c", records)
    assert all(r.ok for r in results) and len(h.fake.stored("Account")) == 201
    patches = [c for c in h.fake.calls if c[0] == "PATCH"]
    assert (
        patches == [("PATCH", "/services/data/v62.0/composite/sobjects/Account/NetSuite_Id__c")] * 2
    )


def test_salesforce_lookup_quotes_external_ids_in_soql(only: Callable[[str], Harness]) -> None:
    h = only("salesforce")
    h.connector.upsert("Account", "NetSuite_Id__c", "O'Brien-7", {"Credit_Status__c": "Hold"})
    (found,) = h.connector.lookup("Account", "NetSuite_Id__c", ["O'Brien-7"])
    assert found["Credit_Status__c"] == "Hold"


def test_netsuite_upserts_by_external_id_in_the_record_path(
    only: Callable[[str], Harness],
) -> None:
    h = only("netsuite")
    h.connector.upsert("salesOrder", "externalId", "0Q0000000000042", {"orderStatus": "B"})
    assert ("PUT", "/services/rest/record/v1/salesOrder/eid:0Q0000000000042") in h.fake.calls


def test_xero_updates_an_existing_invoice_instead_of_posting_a_duplicate(
    only: Callable[[str], Harness],
) -> None:
    h = only("xero")
    h.connector.upsert("Invoices", "Reference", "SO-1001", {"Total": 100.0})
    h.connector.upsert("Invoices", "Reference", "SO-1001", {"Total": 120.0})
    assert h.fake.count("Invoices", "SO-1001") == 1
    assert h.fake.stored("Invoices")["SO-1001"]["Total"] == 120.0


def test_xero_posts_carry_an_idempotency_key(only: Callable[[str], Harness]) -> None:
    h = only("xero")
    h.connector.upsert("Invoices", "Reference", "SO-1001", {"Total": 100.0})
    assert len(h.fake.idempotent) == 1


def test_xero_credential_without_tenant_says_what_to_add(only: Callable[[str], Harness]) -> None:
    h = only("xero")
    doc = {k: v for k, v in h.fake.credential().items() if k != "tenant_id"}
    boto3.client("secretsmanager").put_secret_value(
        SecretId=h.secret_arn, SecretString=json.dumps(doc)
    )
    assert h.connector.api.auth is not None
    h.connector.api.auth.refresh()
    with pytest.raises(ConfigurationError, match="tenant_id"):
        h.connector.authenticate()


def test_snowflake_polls_a_statement_still_running(only: Callable[[str], Harness]) -> None:
    h = only("snowflake")
    h.fake.slow = 1
    h.connector.upsert("ACCOUNTS", "SALESFORCE_ID", "001A", {"NAME": "Northwind"})
    assert h.fake.stored("ACCOUNTS")["001A"]["NAME"] == "Northwind"
    assert ("GET", "/api/v2/statements/" + next(iter(h.fake.results))) in h.fake.calls


def test_snowflake_resubmits_with_the_same_request_id_so_nothing_runs_twice(
    only: Callable[[str], Harness],
) -> None:
    h = only("snowflake")
    h.fake.lose_answers = 1
    h.connector.delete("ACCOUNTS", "SALESFORCE_ID", "001A")
    assert len([s for s in h.fake.executed if s.startswith("DELETE")]) == 1
    assert len([c for c in h.fake.calls if c[0] == "POST" and "statements" in c[1]]) == 2


def test_snowflake_finds_the_refused_record_of_a_failed_merge(
    only: Callable[[str], Harness],
) -> None:
    h = only("snowflake")
    h.fake.reject("001B")
    results = h.connector.upsert_many(
        "ACCOUNTS", "SALESFORCE_ID", [("001A", {"NAME": "A"}), ("001B", {"NAME": "B"})]
    )
    assert [r.ok for r in results] == [True, False]
    assert "not recognized" in results[1].error


def test_zendesk_time_based_exports_follow_end_time_across_pages(
    only: Callable[[str], Harness],
) -> None:
    h = only("zendesk")
    for n in range(1, 6):
        h.fake.seed("organizations", str(500 + n), f"2026-11-20T10:0{n}:00Z", {"name": f"Org {n}"})
    h.fake.page_size = 2
    h.connector.mapping["org"] = ObjectMapping(
        name="org",
        fields={"name": "Name"},
        external_id="Zendesk_Org_Id__c",
        source_object="organizations",
    )
    records = h.connector.changes(
        "organizations",
        since="2026-11-20T10:00:00Z",
        after_id="",
        until="2026-11-21T00:00:00Z",
        limit=10,
    )
    assert [r.id for r in records] == [str(500 + n) for n in range(1, 6)]
    assert ("GET", "/api/v2/incremental/organizations.json") in h.fake.calls


def test_hubspot_splits_upserts_at_100_inputs(only: Callable[[str], Harness]) -> None:
    h = only("hubspot")
    records = [(f"EXT-{n}", body(h, n)) for n in range(101)]
    assert all(r.ok for r in h.connector.upsert_many("companies", "erp_id", records))
    upserts = [c for c in h.fake.calls if c[1].endswith("/batch/upsert")]
    assert len(upserts) == 2


@pytest.mark.parametrize(
    ("vendor", "limit", "says", "write"),
    [
        # Xero's day limit (X-Rate-Limit-Problem: day), Marketo's daily quota (error 607)
        ("xero", ("limit_problem", "day"), "leaving it to SQS",
         ("Invoices", "Reference", "SO-1001", {"Total": 100.0})),
        ("marketo", ("limit_code", "607"), "daily quota",
         ("leads", "email", "buyer@example.com", {"company": "Northwind"})),
    ],
)  # fmt: skip
def test_a_daily_quota_is_left_to_sqs_instead_of_waited_for(
    only: Callable[[str], Harness],
    vendor: str,
    limit: tuple[str, str],
    says: str,
    write: tuple[str, str, str, dict[str, Any]],
) -> None:
    h = only(vendor)
    setattr(h.fake, *limit)
    h.fake.throttle(1)
    with pytest.raises(TransientError, match=says):
        h.connector.upsert(*write)
    assert h.waits == []


def test_stripe_retried_create_makes_no_second_customer(only: Callable[[str], Harness]) -> None:
    h = only("stripe")
    h.fake.search_lag = True  # Stripe's search has not indexed the first create yet
    h.connector.upsert("customer", "erp_id", "C-1", {"name": "Northwind"})
    h.connector.upsert("customer", "erp_id", "C-1", {"name": "Northwind"})
    assert len(h.fake.records["customer"]) == 1


def test_shopify_waits_for_the_points_it_lacks(only: Callable[[str], Harness]) -> None:
    h = only("shopify")
    h.fake.throttle(1)  # a 100-point query with 50 available, restoring 50 a second
    h.connector.upsert("products", "erp_sku", "SKU-1", {"title": "Tent"})
    assert h.waits == [1.0]


def test_amplitude_reads_only_what_its_export_has_settled(only: Callable[[str], Harness]) -> None:
    h = only("amplitude")
    now = datetime.now(UTC)
    settled, fresh = now - timedelta(hours=3), now - timedelta(minutes=30)
    h.fake.seed("active_use", "e-old", settled.strftime("%Y-%m-%dT%H:%M:%SZ"), {"plan": "pro"})
    h.fake.seed("active_use", "e-new", fresh.strftime("%Y-%m-%dT%H:%M:%SZ"), {"plan": "pro"})
    records = h.connector.changes(
        "active_use",
        since=(now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        after_id="",
        until=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        limit=10,
    )
    assert [r.id for r in records] == ["e-old"]
    with pytest.raises(PermanentError, match="read only"):
        h.connector.upsert("active_use", "uuid", "x", {"plan": "pro"})


def test_the_rehearsals_batch_record_is_one_the_sources_api_already_shows(
    only: Callable[[str], Harness],
) -> None:
    # A record changed ten minutes ago is not exported by Amplitude yet: seeded then, the
    # batch job of a generated analytics flow read nothing.
    h = only("amplitude")
    now = time.time()
    h.fake.seed("active_use", "e-seeded", changed_at("amplitude", now), {"plan": "pro"})
    records = h.connector.changes(
        "active_use",
        since="1970-01-01T00:00:00Z",
        after_id="",
        until=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60)),
        limit=10,
    )
    assert [r.id for r in records] == ["e-seeded"]


@pytest.mark.parametrize("name", ["netsuite", "snowflake"])
def test_a_query_source_gives_its_id_column_under_the_mappings_spelling(
    only: Callable[[str], Harness], name: str
) -> None:
    # A mapping may read the id as `Id` where the query's column is `id` (SuiteQL) or `ID`
    # (Snowflake): without it the record lacks the source of its external id.
    h = only(name)
    seed(h, 1)
    spec = mapping_of(h.case)["record"]
    mapping = {"record": replace(spec, fields={"Id": h.case.external_id, **spec.fields})}
    record = read_one(connector_class(name)(h.connector.api, mapping), h.case.source_object)
    assert str(record.data["Id"]) == record.id


def test_snowflake_reads_a_column_the_mapping_spells_in_mixed_case(
    only: Callable[[str], Harness],
) -> None:
    # `Name` unquoted is the column NAME: seeded as `Name`, read back under `Name`; a
    # number arrives as a string and is read back as the number its column type says.
    h = only("snowflake")
    seeded = {"Name": "Tent", "Amount": 1234.5}
    h.fake.seed("LEADS", "006000000000000001", "2026-11-20T10:01:00Z", seeded)
    fields = {"Id": "externalId", "Name": "name", "Amount": "total"}
    mapping = {"lead": ObjectMapping("lead", fields, "externalId", "LEADS", "Lead__c")}
    record = read_one(connector_class("snowflake")(h.connector.api, mapping), "LEADS")
    assert record.data == {"Id": "006000000000000001", **seeded}


def test_a_collection_write_is_one_request_storing_every_record_at_the_fake(
    writer: Harness,
) -> None:
    """What the rehearsal's batch check counts (``write_requests``) is what was stored."""
    obj, key = writer.case.target_object, writer.case.external_id
    before = len(writer.fake.write_requests)
    records = [(f"EXT-{n}", body(writer, n)) for n in (1, 2, 3)]
    assert all(r.ok for r in writer.connector.upsert_many(obj, key, records))
    counted = [count for _, _, count in writer.fake.write_requests[before:]]
    assert sum(counted) == 3
    if writer.connector.max_batch >= 3:
        assert counted == [3]
