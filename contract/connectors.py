"""Which connector speaks to which system, which API version it targets, and what it may rotate.

One entry per connector in ``functions/integration_sync/connectors/`` (the module of the same
name implements it). The roadmap picks a system's connector from here, the components pass
its name to the sync functions (``SOURCE_CONNECTOR``/``TARGET_CONNECTOR``), and ``plan`` and
the report print the API version and each credential's rotation mode from here.

Rotation modes per credential kind:

* ``api``: the vendor (or AWS) lets a program issue the next credential while the current
  one keeps working, so Secrets Manager rotates it on its own;
* ``manual``: the vendor issues it only in its admin console; a person pastes the new value
  (``provisioner rotate NAME --manual``) and revokes the old one.

A kind a connector does not list is not one its vendor issues.

Object names: ``reads``/``writes`` patterns say which API names the connector can read and
write (the vendor's documented objects, or the shape of a custom object's API name); the
roadmap refuses a mapping naming anything else, before the first call would.

Usage::

    spec = CONNECTORS["netsuite"]
    spec.api_version                          # "v1 (2025.1)"
    spec.rotation_mode("oauth_client_credentials")  # "manual"
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "CONNECTORS",
    "MIDDLEWARE",
    "SNOWFLAKE",
    "ConnectorSpec",
    "connector_by_vendor",
    "side_connector",
]

API = "api"
MANUAL = "manual"
# IAM access keys of external pushers are AWS's own: IAM issues a second key by API.
_PUSHER = {"iam_access_key": API}
# What an API path or a query can name unquoted.
_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"


@dataclass(frozen=True)
class ConnectorSpec:
    """One connector: the vendor's API it speaks, what it reads and writes, how it rotates."""

    name: str
    vendor: str
    api_version: str
    docs: str
    reads: str
    writes: str
    vendor_words: tuple[str, ...] = ()
    rotation: dict[str, str] = field(default_factory=dict)
    #: API names it reads and writes (regular expressions, whole name; it writes what it
    #: reads unless ``writes_objects`` says otherwise), and how to say them
    reads_objects: str = _IDENTIFIER
    writes_objects: str = ""
    reads_help: str = "an identifier of letters, digits and underscores"
    writes_help: str = ""  # when it differs from reads_help
    #: objects the vendor upserts only by one field of its own (API name -> field)
    external_ids: dict[str, str] = field(default_factory=dict)
    #: records one write call takes: the vendor's collection endpoint's limit, 1 without one
    #: (the connector class's ``max_batch``, which a test keeps equal)
    collection_size: int = 1
    #: seconds after a change before the vendor's read API shows it (an export's processing
    #: delay); its reads stop that long before now
    read_latency_seconds: int = 0

    def __post_init__(self) -> None:
        if not self.writes_objects:
            object.__setattr__(self, "writes_objects", self.reads_objects)

    @property
    def read_only(self) -> bool:
        return not self.writes

    def can_read(self, api_name: str) -> bool:
        return re.fullmatch(self.reads_objects, api_name) is not None

    def objects_help(self, use: str) -> str:
        """What names it takes for ``use`` (``read`` or ``write``), for an error message."""
        return (use == "write" and self.writes_help) or self.reads_help

    def can_write(self, api_name: str) -> bool:
        return bool(self.writes) and re.fullmatch(self.writes_objects, api_name) is not None

    def rotation_mode(self, kind: str) -> str | None:
        """``api``, ``manual``, or None when this vendor issues no such credential."""
        return self.rotation.get(kind)


MIDDLEWARE = "middleware"
# The warehouse whose storage integration loads a warehouse pipeline's stage (components/stage.py).
SNOWFLAKE = "snowflake"
_NETSUITE_RECORD = r"[a-z][A-Za-z0-9_]*"
_XERO_OBJECTS = r"Invoices|Contacts|CreditNotes|Items|PurchaseOrders|Quotes"
_STRIPE_OBJECTS = r"customer|invoice|subscription|product|price|payment_intent"
_HUBSPOT_OBJECTS = r"contacts|companies|deals|tickets|products|line_items|quotes|p_\w+"

_SPECS = (
    ConnectorSpec(
        name="salesforce",
        vendor="Salesforce",
        api_version="REST API v62.0",
        docs="https://developer.salesforce.com/docs/platform/api-rest/guide/"
        "resources-composite-sobjects-collections-upsert.html",
        reads="SOQL query on SystemModstamp (REST query, nextRecordsUrl paging; Bulk API 2.0 "
        "query jobs for large scheduled reads)",
        writes="sObject Collections upsert by external id (200 per call, allOrNone false), "
        "delete by external id",
        vendor_words=("salesforce",),
        reads_help="an sObject API name (Quote, Account, HW_Order__c)",
        # Two connected apps whose certificate slots alternate (secrets/credential_rotation).
        rotation={"salesforce_jwt_bearer": API, "oauth_client_credentials": MANUAL, **_PUSHER},
        collection_size=200,
    ),
    ConnectorSpec(
        name="netsuite",
        vendor="Oracle NetSuite",
        api_version="REST record API v1, SuiteQL",
        docs="https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/"
        "section_156335203191.html",
        reads="SuiteQL on lastModifiedDate (POST /query/v1/suiteql, offset paging)",
        writes="PUT /record/v1/{type}/eid:{externalId} upsert, DELETE by eid",
        vendor_words=("netsuite",),
        reads_objects=_NETSUITE_RECORD,
        reads_help="a record type (salesOrder, invoice, customrecord_hw_order)",
        # M2M certificates and TBA tokens are issued in the NetSuite UI only.
        rotation={"oauth_client_credentials": MANUAL, "netsuite_tba": MANUAL, **_PUSHER},
    ),
    ConnectorSpec(
        name="shopify",
        vendor="Shopify",
        api_version="Admin GraphQL API 2025-07",
        docs="https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits",
        reads="GraphQL connection with sortKey UPDATED_AT and an updated_at query, cursor paging",
        writes="{object}Set mutations identified by a unique metafield, aliased in one request",
        vendor_words=("shopify",),
        # Connections sortable by UPDATED_AT; the {object}Set mutations (productSet,
        # customerSet) are the ones that create or update by a unique identifier.
        reads_objects=r"orders|draftOrders|products|customers|companies",
        writes_objects=r"products|customers",
        reads_help="a connection (orders, draftOrders, products, customers, companies)",
        writes_help="products or customers",
        # Admin API access tokens of custom apps are revealed once in the admin and never
        # reissued by API.
        rotation={"api_key": MANUAL, **_PUSHER},
        collection_size=25,
    ),
    ConnectorSpec(
        name="xero",
        vendor="Xero",
        api_version="Accounting API 2.0",
        docs="https://developer.xero.com/documentation/guides/oauth2/limits/",
        reads="GET with If-Modified-Since, order UpdatedDateUTC, page paging",
        writes="POST batch with summarizeErrors=false and Idempotency-Key",
        vendor_words=("xero",),
        # Accounting API endpoints that take If-Modified-Since and batch POSTs.
        reads_objects=_XERO_OBJECTS,
        # Xero has no external-id field of its own: each object is found by the one field
        # the Accounting API documents for another system's reference.
        external_ids={
            "Invoices": "Reference",
            "CreditNotes": "Reference",
            "PurchaseOrders": "Reference",
            "Quotes": "Reference",
            "Contacts": "ContactNumber",
            "Items": "Code",
        },
        reads_help="an Accounting API endpoint (Invoices, Contacts, CreditNotes, Items, "
        "PurchaseOrders, Quotes)",
        # Custom-connection client secrets are generated in the developer portal only.
        rotation={"oauth_client_credentials": MANUAL, **_PUSHER},
        collection_size=50,
    ),
    ConnectorSpec(
        name="marketo",
        vendor="Adobe Marketo Engage",
        api_version="REST API v1",
        docs="https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/"
        "authentication",
        reads="lead changes by activity paging token (sinceDatetime)",
        writes="leads.json createOrUpdate with lookupField (300 per call)",
        vendor_words=("marketo",),
        # Only leads have a change feed (activities); custom objects (API names ending in
        # _c) are written with dedupeBy, never read back as changes.
        reads_objects=r"leads",
        writes_objects=r"leads|[a-z][a-z0-9_]*_c",
        reads_help="leads (the only object with a change feed)",
        writes_help="leads or a custom object's API name ending in _c",
        # LaunchPoint custom-service secrets are shown in the admin only.
        rotation={"oauth_client_credentials": MANUAL, **_PUSHER},
        collection_size=300,
    ),
    ConnectorSpec(
        name="zendesk",
        vendor="Zendesk",
        api_version="Support API v2",
        docs="https://developer.zendesk.com/api-reference/ticketing/ticket-management/"
        "incremental_exports/",
        reads="incremental cursor exports (after_cursor, end_of_stream)",
        writes="create_or_update by external_id",
        vendor_words=("zendesk",),
        # Incremental exports exist for tickets, users and organizations; create_or_update
        # only for users and organizations.
        reads_objects=r"tickets|users|organizations",
        writes_objects=r"users|organizations",
        reads_help="tickets, users or organizations (incremental exports)",
        writes_help="users or organizations (create_or_update)",
        # API tokens are listed by API but created only in Admin Center.
        rotation={"api_key": MANUAL, "basic_token": MANUAL, **_PUSHER},
    ),
    ConnectorSpec(
        name="hubspot",
        vendor="HubSpot",
        api_version="CRM API 2026-03",
        docs="https://developers.hubspot.com/docs/api-reference/latest/crm/objects/"
        "custom-objects/batch/upsert-custom-objects",
        reads="CRM search on hs_lastmodifieddate ascending, after paging",
        writes="batch upsert by idProperty (100 per call)",
        vendor_words=("hubspot",),
        reads_objects=_HUBSPOT_OBJECTS,
        reads_help="a CRM object (contacts, companies, deals, tickets, products, line_items, "
        "quotes) or a custom object by its fully qualified name (p_devices)",
        # Private-app tokens and public apps' client secrets are rotated in the app's settings.
        rotation={"api_key": MANUAL, "oauth_client_credentials": MANUAL, **_PUSHER},
        collection_size=100,
    ),
    ConnectorSpec(
        name="stripe",
        vendor="Stripe",
        api_version="API 2025-06-30 (v1 endpoints)",
        docs="https://docs.stripe.com/api/events/list",
        reads="events list (created[gte], starting_after paging)",
        writes="POST with Idempotency-Key, keyed by metadata external id",
        vendor_words=("stripe",),
        reads_objects=_STRIPE_OBJECTS,
        reads_help="an API object (customer, invoice, subscription, product, price, "
        "payment_intent)",
        # Restricted keys are rolled in the Dashboard.
        rotation={"api_key": MANUAL, "webhook_signing_secret": MANUAL, **_PUSHER},
    ),
    ConnectorSpec(
        name=SNOWFLAKE,
        vendor="Snowflake",
        api_version="SQL API v2",
        docs="https://docs.snowflake.com/en/developer-guide/sql-api/reference",
        reads="SELECT on the change column through /api/v2/statements (partitions)",
        writes="MERGE by external id through /api/v2/statements",
        vendor_words=("snowflake",),
        reads_help="an unquoted table name (ACCOUNTS, DEVICE_EVENTS)",
        # Two RSA public-key slots per user (RSA_PUBLIC_KEY / RSA_PUBLIC_KEY_2), set by SQL.
        rotation={"snowflake_key_pair": API, "oauth_client_credentials": MANUAL, **_PUSHER},
        collection_size=200,
    ),
    ConnectorSpec(
        name="amplitude",
        vendor="Amplitude",
        api_version="Export API 2",
        docs="https://amplitude.com/docs/apis/analytics/export",
        reads="GET /api/2/export by hour (zip of gzipped JSON lines)",
        writes="",
        vendor_words=("amplitude",),
        reads_help="an event type without spaces (active_use)",
        # Data is exportable about two hours after Amplitude received it (the Export API page).
        read_latency_seconds=2 * 3600,
        # Project secret keys are regenerated in the project settings only.
        rotation={"api_key": MANUAL, **_PUSHER},
    ),
    ConnectorSpec(
        name=MIDDLEWARE,
        vendor="Middleware platform",
        api_version="generic contract v1",
        docs="functions/integration_sync/connectors/middleware.py",
        reads="GET {object}/changes?since&after_id&until&limit (keyset)",
        writes="PATCH/DELETE {object}/{field}/{id}, GET {object}?field&ids",
        # A path segment: the platform names objects as the roadmap does (slugs too).
        reads_objects=r"[A-Za-z0-9_.~-]+",
        reads_help="a name of letters, digits, '_', '.', '~' or '-'",
        # The platform's issuer contract (secrets/credential_rotation/clients.py).
        rotation={
            "oauth_client_credentials": API,
            "api_key": API,
            "basic_token": API,
            "salesforce_jwt_bearer": API,
            **_PUSHER,
        },
    ),
)
CONNECTORS: dict[str, ConnectorSpec] = {spec.name: spec for spec in _SPECS}


def side_connector(named: str | None) -> str:
    """The connector a sync function's side speaks: the one its environment names
    (``SOURCE_CONNECTOR``, ``TARGET_CONNECTOR``), else the middleware contract."""
    return named or MIDDLEWARE


def connector_by_vendor(vendor: str) -> str | None:
    """The connector whose vendor word appears in a system's ``vendor`` text, if exactly one.

    The vendor, not the kind, decides: an ``erp`` may be NetSuite or SAP, and speaking
    NetSuite's API to SAP would fail at the first call.
    """
    words = set(re.findall(r"[a-z0-9]+", vendor.lower()))
    found = [s.name for s in _SPECS if words & set(s.vendor_words)]
    return found[0] if len(found) == 1 else None
