"""Generate valid roadmaps of any size for the benchmarks, every integration at phase 5.

The roadmaps vary what changes the amount of work per integration: the pattern (queued,
FIFO or scheduled), the systems on each side, every credential kind (Salesforce JWT bearer,
OAuth client credentials, API keys, basic tokens, Snowflake key pairs, NetSuite TBA, IAM
access keys and webhook signing secrets of pushers), one or two objects,
bidirectional flows with a conflict rule, and the Salesforce API budget. Each integration
writes objects of its own, so the roadmap rules hold at every size, and the Salesforce
budget is shared out so it stays inside the org's allocation (minus headroom) and the dev
stack's ``salesforceApiAllocation``.

Example::

    from bench.roadmaps import generate_roadmap
    from roadmap.io import parse_roadmap

    roadmap = parse_roadmap(generate_roadmap(200))
    assert len(roadmap.active("dev")) == 200
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contract.connectors import (
    CONNECTORS,
    MIDDLEWARE,
    SNOWFLAKE,
    ConnectorSpec,
    connector_by_vendor,
)

__all__ = ["MAX_SYSTEMS", "PATTERNS", "generate_roadmap", "write_roadmap"]

PATTERNS = ("event_driven", "batch", "real_time_api", "warehouse_pipeline", "middleware")
_ORDERINGS = ("none", "per_record", "strict")
_TEAMS = ("revenue-operations", "finance-systems", "ecommerce", "marketing-operations")
# Alert paths every example stack routes (prod posts this slack: path through its Chatbot channel).
_ALERT_PATHS = ("pagerduty:revops-oncall", "slack:data-platform", "email:ops@example.com")
_STALENESS_MINUTES = (5, 15, 60, 240)
_RECORDS_PER_DAY = (300, 1_200, 20_000, 150_000)
_SALESFORCE_CALLS = (500, 1_000, 2_000, 4_000)
_NOUNS = ("quote", "order", "invoice", "payment", "ticket", "lead", "product", "usage")

# The whole roadmap's Salesforce calls stay under this: 80% (the default 20% headroom) of
# the dev stack's salesforceApiAllocation of 200,000, and well inside the org below.
_SALESFORCE_TOTAL = 120_000

# (name, kind, vendor, base URL, requests/second or None, daily call limit or None)
_SYSTEMS: tuple[tuple[str, str, str, str, float | None, int | None], ...] = (
    ("netsuite", "erp", "Oracle NetSuite", "https://1234567.suitetalk.api.netsuite.com", 10, None),
    ("shopify", "ecommerce", "Shopify Plus", "https://bench.myshopify.com", 20, None),
    ("xero", "accounting", "Xero", "https://api.xero.com", 1, 5_000),
    ("marketo", "marketing", "Adobe Marketo", "https://123-abc-456.mktorest.com", None, 50_000),
    ("zendesk", "support", "Zendesk Suite", "https://bench.zendesk.com", 11, None),
    ("amplitude", "analytics", "Amplitude", "https://amplitude.com", None, None),
    ("snowflake", "bi", "Snowflake", "https://bench.eu-west-1.snowflakecomputing.com", None, None),
)
# More systems for roadmaps that spread over a wider landscape (the report's 15-system map);
# the benchmarks use the seven above.
_MORE_SYSTEMS: tuple[tuple[str, str, str, str, float | None, int | None], ...] = (
    ("stripe", "billing", "Stripe", "https://api.stripe.com", 25, None),
    ("hubspot", "marketing", "HubSpot Marketing Hub", "https://api.hubapi.com", 10, 250_000),
    ("shipstation", "logistics", "ShipStation", "https://ssapi.shipstation.com", 1, None),
    ("quickbooks", "accounting", "QuickBooks Online", "https://quickbooks.api.intuit.com", 8, None),
    ("jira-service", "support", "Jira Service Management", "https://bench.atlassian.net", 10, None),
    ("mixpanel", "analytics", "Mixpanel", "https://api-eu.mixpanel.com", None, None),
    ("looker", "bi", "Looker", "https://bench.cloud.looker.com", None, None),
    ("device-cloud", "platform", "Own device cloud", "https://devices.example.com", 50, None),
)
MAX_SYSTEMS = 1 + len(_SYSTEMS) + len(_MORE_SYSTEMS)


def _others(count: int) -> tuple[tuple[str, str, str, str, float | None, int | None], ...]:
    """The `count` systems other than Salesforce, the benchmarks' seven first."""
    return (*_SYSTEMS, *_MORE_SYSTEMS)[:count]


def _systems(others: int) -> list[dict[str, Any]]:
    systems: list[dict[str, Any]] = [
        {
            "name": "salesforce",
            "kind": "crm",
            "vendor": "Salesforce Sales Cloud",
            "api": {"base_url": "https://bench.my.salesforce.com", "requests_per_second": 25},
            # 100,000 + 250 x 1,000 = 350,000 calls per 24 h (Salesforce API allocations).
            "salesforce": {"edition": "enterprise", "licenses": 250},
        }
    ]
    for name, kind, vendor, url, rps, daily in _others(others):
        api: dict[str, Any] = {"base_url": url}
        if rps is not None:
            api["requests_per_second"] = rps
        if daily is not None:
            api["daily_call_limit"] = daily
        systems.append({"name": name, "kind": kind, "vendor": vendor, "api": api})
    return systems


# Kinds the functions call a system with (other than Salesforce's JWT), and name suffixes.
_CALLING_KINDS = (
    ("oauth_client_credentials", "m2m"),
    ("api_key", "key"),
    ("basic_token", "token"),
    ("snowflake_key_pair", "keypair"),
    ("netsuite_tba", "tba"),
)


# API names of the systems whose connectors take a closed set of objects (their ``reads`` and
# ``writes`` in contract/connectors.py): (read, written). Others name custom objects or tables.
_CLOSED_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "shopify": (("orders", "products", "customers", "draftOrders"), ("products", "customers")),
    "xero": (("Invoices", "Contacts", "CreditNotes", "Items"),) * 2,
    "zendesk": (("tickets", "users", "organizations"), ("users", "organizations")),
    "marketo": (("leads",), ("leads",)),  # written: custom objects too (below)
    "hubspot": (("contacts", "companies", "deals", "tickets"),) * 2,
    "stripe": (("customer", "invoice", "subscription", "product"),) * 2,
}


def _api_name(system: str, noun: str, i: int, j: int, *, read: bool, write: bool) -> str | None:
    """The name of the integration's ``j``-th object in the system's API, or None when the
    system has no further object to offer for that use (Marketo reads leads only)."""
    read_names, written = _CLOSED_NAMES.get(system, ((), ()))
    if system in _CLOSED_NAMES and (read or system != "marketo"):
        names = [n for n in (read_names if read else written) if not write or n in written]
        return names[(i + j) % len(names)] if j < len(names) else None
    return {
        "salesforce": f"{noun.capitalize()}_{i:03d}__c",
        "netsuite": f"customrecord_{noun}_{i:03d}",
        "snowflake": f"{noun.upper()}_{i:03d}",
        "marketo": f"{noun}_{i:03d}_c",
    }.get(system, f"{noun}_{i:03d}")


def _spec(system: str) -> ConnectorSpec:
    """The system's connector as the roadmap will choose it (contract/connectors.py)."""
    if system == "salesforce":
        return CONNECTORS["salesforce"]
    vendor = next(v for n, _, v, *_ in (*_SYSTEMS, *_MORE_SYSTEMS) if n == system)
    return CONNECTORS[connector_by_vendor(vendor) or MIDDLEWARE]


def _issues(system: str, kind: str, *, middleware: bool) -> bool:
    """Whether the system's vendor (or, in a middleware flow, the platform) takes this kind."""
    spec = CONNECTORS[MIDDLEWARE] if middleware else _spec(system)
    return spec.rotation_mode(kind) is not None


def _writable(system: str) -> bool:
    return not _spec(system).read_only


def _credential(system: str, i: int, *, pusher: bool, middleware: bool) -> dict[str, Any]:
    if system == "salesforce":
        return {
            "name": "salesforce-jwt",
            "kind": "salesforce_jwt_bearer",
            "system": system,
            "rotation_days": 30,
            "scopes": ["api"],
        }
    if pusher:  # an external system pushing onto the queue signs with an IAM access key
        return {
            "name": f"{system}-pusher",
            "kind": "iam_access_key",
            "system": system,
            "rotation_days": 60,
            "source_ranges": ["203.0.113.0/24"],
        }
    # The kinds its vendor issues, the vendor-specific ones (later in _CALLING_KINDS) first,
    # so the first round of systems already uses every kind; later rounds take the others.
    # A middleware flow presents them to the platform, which takes fewer kinds.
    issued = [
        (k, sfx)
        for k, sfx in reversed(_CALLING_KINDS)
        if _issues(system, k, middleware=False)
        and (not middleware or _issues(system, k, middleware=True))
    ]
    kind, suffix = issued[(i // len(_SYSTEMS)) % len(issued)]
    credential: dict[str, Any] = {
        "name": f"{system}-{suffix}",
        "kind": kind,
        "system": system,
        "rotation_days": (30, 60)[(i // 2) % 2],
    }
    if _spec(system).rotation_mode(kind) == "manual":  # its vendor issues it only by hand
        credential["rotation"] = "manual"
    return credential


def _ends(i: int, others: tuple[str, ...]) -> tuple[str, str]:
    """The i-th flow's source and target: Salesforce on one side of two flows in three."""
    other = others[i % len(others)]
    if i % 3 == 2:  # a third of the flows do not touch Salesforce
        source, target = other, others[(i + 3) % len(others)]
    elif i % 2 == 0:
        source, target = "salesforce", other
    else:
        source, target = other, "salesforce"
    if not _writable(target):  # an export-only API (Amplitude) is only ever read
        source, target = target, source
    return source, target


def _integration(
    i: int, salesforce_calls: int, others: tuple[str, ...]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One integration and the objects it owns (written by it alone)."""
    pattern = PATTERNS[i % len(PATTERNS)]
    source, target = _ends(i, others)
    if pattern == "warehouse_pipeline" and target == SNOWFLAKE:
        # Staging for Snowflake needs its storage integration's values in the stack
        # (snowflake.<integration>), which the dev stack has for the example's flow only:
        # such a generated flow is a plain batch into Snowflake's SQL API.
        pattern = "batch"
    name = f"{source[:10]}-{target[:10]}-{i:03d}"
    records = _RECORDS_PER_DAY[(i // 2) % len(_RECORDS_PER_DAY)]
    if "salesforce" in (source, target):
        # At worst a Salesforce call per record (a FIFO or middleware flow): the volume stays
        # within the flow's share of the budget, which the roadmap computes from it.
        records = min(records, salesforce_calls * 4 // 5)
    queued = pattern in ("event_driven", "real_time_api", "middleware")
    # Queued flows only: a scheduled flow runs one way (the roadmap refuses it both ways).
    bidirectional = queued and i % 7 == 2 and _writable(source)
    nouns = [_NOUNS[i % len(_NOUNS)]]
    if i % 4 == 3:
        nouns.append(_NOUNS[(i + 3) % len(_NOUNS)])
    # Each object under the names the connectors of both sides take (the roadmap refuses
    # others); bidirectional objects are read and written on both sides.
    names: list[tuple[str, str]] = []
    for j, noun in enumerate(nouns):
        read_as = _api_name(source, noun, i, j, read=True, write=bidirectional)
        written_as = _api_name(target, noun, i, j, read=bidirectional, write=True)
        if read_as is None or written_as is None:
            break
        names.append((read_as, written_as))
    nouns = nouns[: len(names)]
    objects = [
        {"name": f"{noun}-{i:03d}", "owner": source, "description": f"{noun} records of {name}"}
        for noun in nouns
    ]
    integration: dict[str, Any] = {
        "name": name,
        "description": f"Generated {pattern} flow {i} from {source} to {target}.",
        "source": source,
        "target": target,
        "objects": [o["name"] for o in objects],
        "direction": "bidirectional" if bidirectional else "one_way",
        "pattern": pattern,
        "owner_team": _TEAMS[i % len(_TEAMS)],
        "runbook": f"https://wiki.example.com/runbooks/{name}",
        "alert_path": _ALERT_PATHS[i % len(_ALERT_PATHS)],
        "credentials": [
            # Same index both sides: six integrations already use every kind (the account
            # tests' longest-names roadmap relies on it).
            _credential(
                source,
                i,
                pusher=pattern == "event_driven" and source != "salesforce",
                middleware=pattern == "middleware",
            ),
            _credential(target, i, pusher=False, middleware=pattern == "middleware"),
        ],
        "service_levels": {
            "max_staleness_minutes": _STALENESS_MINUTES[i % len(_STALENESS_MINUTES)],
            "expected_records_per_day": records,
            "salesforce_api_calls_per_day": salesforce_calls,
        },
        # Every object mapped: queued flows that sync must map each one (roadmap rules).
        "field_mappings": [
            {
                "object": o["name"],
                "api_name": source_name,
                "target_api_name": target_name,
                "external_id": key,
                "fields": {source_key: key, "Name": "name", "Amount": "total"},
            }
            for o, (source_name, target_name) in zip(objects, names, strict=True)
            # Xero finds records only by a field of its own (Reference, ContactNumber, Code):
            # on the target's side, and on the source's when the way back writes into it.
            for key in [_spec(target).external_ids.get(target_name, "externalId")]
            for source_key in [
                _spec(source).external_ids.get(source_name, "Id") if bidirectional else "Id"
            ]
        ],
        "phases": {"dev": 5, "staging": 5, "prod": 5},
    }
    if queued:
        integration["ordering"] = _ORDERINGS[(i // len(PATTERNS)) % len(_ORDERINGS)]
    if pattern == "batch":
        integration["schedule"] = ("rate(15 minutes)", "rate(1 hour)")[i % 2]
    elif pattern == "warehouse_pipeline":
        integration["schedule"] = "cron(0 2 * * ? *)"
    if bidirectional:
        integration["conflict_rule"] = {"strategy": "source_wins"}
    if queued and source != "salesforce" and i % 2 == 1:  # the source also signs webhooks
        integration["credentials"].append(
            {
                "name": f"{source}-webhook",
                "kind": "webhook_signing_secret",
                "system": source,
                "rotation_days": 90,
                "rotation": "manual",  # senders issue signing secrets in their dashboards
            }
        )
    return integration, objects


def generate_roadmap(count: int, systems: int = 1 + len(_SYSTEMS)) -> dict[str, Any]:
    """A roadmap (plain data, as read from YAML) with `count` integrations, all at phase 5,
    among `systems` systems (Salesforce and up to MAX_SYSTEMS - 1 others)."""
    if count < 1:
        raise ValueError("a roadmap for the benchmarks needs at least one integration")
    if not 5 <= systems <= MAX_SYSTEMS:
        raise ValueError(f"a generated roadmap has 5 to {MAX_SYSTEMS} systems, not {systems}")
    others = tuple(entry[0] for entry in _others(systems - 1))
    touching = [i for i in range(count) if i % 3 != 2]
    share = _SALESFORCE_TOTAL // max(1, len(touching))
    integrations: list[dict[str, Any]] = []
    objects: list[dict[str, Any]] = []
    for i in range(count):
        calls = min(_SALESFORCE_CALLS[i % len(_SALESFORCE_CALLS)], share) if i % 3 != 2 else 0
        integration, owned = _integration(i, calls, others)
        integrations.append(integration)
        objects.extend(owned)
    return {
        "version": 1,
        "organisation": f"Benchmark Outdoor ({count} integrations)",
        "settings": {"api_headroom_percent": 20},
        "systems": _systems(systems - 1),
        "objects": objects,
        "integrations": integrations,
    }


def write_roadmap(count: int, directory: Path) -> Path:
    """Write the generated roadmap to `directory` (JSON is YAML) and return its path."""
    path = directory / f"roadmap-{count}.yaml"
    path.write_text(json.dumps(generate_roadmap(count), indent=1), encoding="utf-8")
    return path
