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

Usage::

    spec = CONNECTORS["netsuite"]
    spec.api_version                          # "v1 (2025.1)"
    spec.rotation_mode("oauth_client_credentials")  # "manual"
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["CONNECTORS", "MIDDLEWARE", "ConnectorSpec", "connector_by_vendor"]

API = "api"
MANUAL = "manual"
# IAM access keys of external pushers are AWS's own: IAM issues a second key by API.
_PUSHER = {"iam_access_key": API}


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

    @property
    def read_only(self) -> bool:
        return not self.writes

    def rotation_mode(self, kind: str) -> str | None:
        """``api``, ``manual``, or None when this vendor issues no such credential."""
        return self.rotation.get(kind)


MIDDLEWARE = "middleware"

_SPECS = (
    ConnectorSpec(
        name="salesforce",
        vendor="Salesforce",
        api_version="REST API v62.0",
        docs="https://developer.salesforce.com/docs/platform/api-rest/guide/"
        "resources-composite-sobjects-collections-upsert.html",
        reads="SOQL query on SystemModstamp (REST query, nextRecordsUrl paging)",
        writes="sObject Collections upsert by external id (200 per call, allOrNone false), "
        "delete by external id",
        vendor_words=("salesforce",),
        # Two connected apps whose certificate slots alternate (secrets/credential_rotation).
        rotation={"salesforce_jwt_bearer": API, "oauth_client_credentials": MANUAL, **_PUSHER},
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
        # Admin API access tokens of custom apps are revealed once in the admin and never
        # reissued by API.
        rotation={"api_key": MANUAL, **_PUSHER},
    ),
    ConnectorSpec(
        name="xero",
        vendor="Xero",
        api_version="Accounting API 2.0",
        docs="https://developer.xero.com/documentation/guides/oauth2/limits/",
        reads="GET with If-Modified-Since, order UpdatedDateUTC, page paging",
        writes="POST batch with summarizeErrors=false and Idempotency-Key",
        vendor_words=("xero",),
        # Custom-connection client secrets are generated in the developer portal only.
        rotation={"oauth_client_credentials": MANUAL, **_PUSHER},
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
        # LaunchPoint custom-service secrets are shown in the admin only.
        rotation={"oauth_client_credentials": MANUAL, **_PUSHER},
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
        # Private-app tokens and public apps' client secrets are rotated in the app's settings.
        rotation={"api_key": MANUAL, "oauth_client_credentials": MANUAL, **_PUSHER},
    ),
    ConnectorSpec(
        name="stripe",
        vendor="Stripe",
        api_version="API 2025-06-30 (v1 endpoints)",
        docs="https://docs.stripe.com/api/events/list",
        reads="events list (created[gte], starting_after paging)",
        writes="POST with Idempotency-Key, keyed by metadata external id",
        vendor_words=("stripe",),
        # Restricted keys are rolled in the Dashboard.
        rotation={"api_key": MANUAL, "webhook_signing_secret": MANUAL, **_PUSHER},
    ),
    ConnectorSpec(
        name="snowflake",
        vendor="Snowflake",
        api_version="SQL API v2",
        docs="https://docs.snowflake.com/en/developer-guide/sql-api/reference",
        reads="SELECT on the change column through /api/v2/statements (partitions)",
        writes="MERGE by external id through /api/v2/statements",
        vendor_words=("snowflake",),
        # Two RSA public-key slots per user (RSA_PUBLIC_KEY / RSA_PUBLIC_KEY_2), set by SQL.
        rotation={"snowflake_key_pair": API, "oauth_client_credentials": MANUAL, **_PUSHER},
    ),
    ConnectorSpec(
        name="amplitude",
        vendor="Amplitude",
        api_version="Export API 2",
        docs="https://amplitude.com/docs/apis/analytics/export",
        reads="GET /api/2/export by hour (zip of gzipped JSON lines)",
        writes="",
        vendor_words=("amplitude",),
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
        # The platform's issuer contract (secrets/credential_rotation/clients.py).
        rotation={
            "oauth_client_credentials": API,
            "api_key": API,
            "salesforce_jwt_bearer": API,
            **_PUSHER,
        },
    ),
)
CONNECTORS: dict[str, ConnectorSpec] = {spec.name: spec for spec in _SPECS}


def connector_by_vendor(vendor: str) -> str | None:
    """The connector whose vendor word appears in a system's ``vendor`` text, if exactly one.

    The vendor, not the kind, decides: an ``erp`` may be NetSuite or SAP, and speaking
    NetSuite's API to SAP would fail at the first call.
    """
    words = set(re.findall(r"[a-z0-9]+", vendor.lower()))
    found = [s.name for s in _SPECS if words & set(s.vendor_words)]
    return found[0] if len(found) == 1 else None
