"""The systems of the landscape and the data objects they own.

Usage::

    from roadmap.systems import System

    roadmap.system("salesforce").connector.name  # 'salesforce'
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, HttpUrl, field_validator

from contract.connectors import CONNECTORS, MIDDLEWARE, ConnectorSpec, connector_by_vendor
from roadmap.fields import Name, StrictModel

__all__ = [
    "ApiLimits",
    "DataObject",
    "SalesforceEdition",
    "SalesforceOrg",
    "System",
    "SystemKind",
]


class SystemKind(StrEnum):
    CRM = "crm"
    ERP = "erp"
    ECOMMERCE = "ecommerce"
    ACCOUNTING = "accounting"
    MARKETING = "marketing"
    SUPPORT = "support"
    ANALYTICS = "analytics"
    BI = "bi"
    BILLING = "billing"  # subscriptions, payments (Stripe, Chargebee, Zuora)
    LOGISTICS = "logistics"  # carriers, 3PL and warehouse management
    PLATFORM = "platform"  # the company's own services: internal APIs, IoT/device clouds
    OTHER = "other"


class SalesforceEdition(StrEnum):
    DEVELOPER = "developer"
    PROFESSIONAL = "professional"
    ENTERPRISE = "enterprise"
    UNLIMITED = "unlimited"
    PERFORMANCE = "performance"


# Salesforce "API Request Limits and Allocations" (App Limits Cheatsheet, 2026): a
# production org's 24-hour allocation is 100,000 + licences x per-licence adder
# (+ purchased add-ons); Developer Edition orgs get a flat 15,000.
_SALESFORCE_BASE_ALLOCATION = 100_000
_SALESFORCE_PER_LICENCE = {
    SalesforceEdition.PROFESSIONAL: 1_000,
    SalesforceEdition.ENTERPRISE: 1_000,
    SalesforceEdition.UNLIMITED: 5_000,
    SalesforceEdition.PERFORMANCE: 5_000,
}
_SALESFORCE_DEVELOPER_ALLOCATION = 15_000


class SalesforceOrg(StrictModel):
    """A Salesforce org's edition and licences, from which its daily API allocation follows."""

    edition: SalesforceEdition
    licenses: int = Field(default=0, ge=0, le=1_000_000)
    api_addon_calls: int = Field(default=0, ge=0, description="purchased API call add-ons/day")
    daily_api_allocation: int | None = Field(
        default=None, gt=0, description="overrides the computed allocation when given"
    )

    @property
    def allocation(self) -> int:
        """Calls per rolling 24 hours: the given figure, else computed from edition and licences."""
        if self.daily_api_allocation is not None:
            return self.daily_api_allocation
        if self.edition is SalesforceEdition.DEVELOPER:
            return _SALESFORCE_DEVELOPER_ALLOCATION + self.api_addon_calls
        per_licence = _SALESFORCE_PER_LICENCE[self.edition]
        return _SALESFORCE_BASE_ALLOCATION + self.licenses * per_licence + self.api_addon_calls


class ApiLimits(StrictModel):
    """What is known of a system's API: where it lives, who speaks it, how hard to call it.

    ``connector`` names the connector of ``contract/connectors.py`` that speaks this API;
    without it the system's ``vendor`` decides (``Oracle NetSuite`` -> ``netsuite``), and a
    vendor no connector knows is reached through a middleware facade (``middleware``).
    """

    base_url: HttpUrl | None = None
    connector: str | None = Field(
        default=None, description=f"one of: {', '.join(sorted(CONNECTORS))}"
    )
    daily_call_limit: int | None = Field(default=None, gt=0)
    requests_per_second: float | None = Field(default=None, gt=0)

    @field_validator("connector")
    @classmethod
    def _known_connector(cls, value: str | None) -> str | None:
        if value is not None and value not in CONNECTORS:
            raise ValueError(
                f"no connector named {value!r}; use one of: {', '.join(sorted(CONNECTORS))}"
            )
        return value


class System(StrictModel):
    """A system in the landscape (Salesforce, the ERP, the web shop, ...)."""

    name: Name
    kind: SystemKind
    vendor: str = Field(min_length=1)
    description: str = ""
    api: ApiLimits = ApiLimits()
    salesforce: SalesforceOrg | None = None

    @property
    def is_salesforce(self) -> bool:
        return self.salesforce is not None

    @property
    def connector(self) -> ConnectorSpec:
        """The connector speaking this system's API: as named, else by vendor, else middleware."""
        name = self.api.connector or connector_by_vendor(self.vendor)
        if name is None and self.is_salesforce:
            name = "salesforce"
        return CONNECTORS[name or MIDDLEWARE]


class DataObject(StrictModel):
    """A business object with exactly one owning system, optionally overridden per field."""

    name: Name
    description: str = ""
    owner: Name = Field(description="the system that is the source of truth")
    fields: tuple[str, ...] = ()
    field_owners: dict[str, Name] = Field(default_factory=dict)

    def owner_of(self, field: str) -> str:
        return self.field_owners.get(field, self.owner)
