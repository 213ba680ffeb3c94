"""Connectors: each vendor's documented API behind one small interface (see ``base``).

The function's environment names the connector of each side (``SOURCE_CONNECTOR``,
``TARGET_CONNECTOR``, from the roadmap through ``contract/connectors.py``); without one
the side speaks the middleware contract.

Example::

    source, target = scheduled_connectors(settings, on_call=calls, remaining_seconds=left)
    target.upsert("Invoices", "Reference", "INV-1", {"Total": 1200.0})
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from integration_sync.clients import ApiClient
from integration_sync.config import Settings
from integration_sync.connectors.base import Connector, SourceRecord, WriteResult
from integration_sync.credentials import SecretAuth
from integration_sync.errors import ConfigurationError

__all__ = [
    "Connector",
    "SourceRecord",
    "WriteResult",
    "connector_class",
    "connector_for",
    "scheduled_connectors",
]

# connector name -> (module, class): imported on first use, so a function loads only its own.
_CLASSES = {
    "middleware": ("middleware", "MiddlewareConnector"),
    "salesforce": ("salesforce", "SalesforceConnector"),
    "netsuite": ("netsuite", "NetSuiteConnector"),
    "xero": ("xero", "XeroConnector"),
    "snowflake": ("snowflake", "SnowflakeConnector"),
    "shopify": ("shopify", "ShopifyConnector"),
    "marketo": ("marketo", "MarketoConnector"),
    "zendesk": ("zendesk", "ZendeskConnector"),
    "hubspot": ("hubspot", "HubSpotConnector"),
    "stripe": ("stripe", "StripeConnector"),
    "amplitude": ("amplitude", "AmplitudeConnector"),
}


def connector_class(name: str) -> type[Connector]:
    """The class implementing connector ``name`` (``middleware`` when empty)."""
    module, cls = _CLASSES.get(name or "middleware", ("", ""))
    if not module:
        raise ConfigurationError(
            f"no connector named {name!r} in this bundle (known: {', '.join(sorted(_CLASSES))})"
        )
    found: type[Connector] = getattr(
        importlib.import_module(f"integration_sync.connectors.{module}"), cls
    )
    return found


def connector_for(settings: Settings, side: str, api: ApiClient) -> Connector:
    """The connector of ``side`` (``source`` or ``target``) over an authenticated client."""
    name = settings.source_connector if side == "source" else settings.target_connector
    return connector_class(name)(api, settings.mapping)


def scheduled_connectors(
    settings: Settings, *, on_call: Callable[[], None], remaining_seconds: Callable[[], float]
) -> tuple[Connector, Connector]:
    """Source and target connectors for a scheduled job, each with its side's secret.

    Both count every call against the same budget and stop retrying near the same deadline.
    """

    def side(name: str, base_url: str, secret_arn: str) -> Connector:
        api = ApiClient(
            base_url,
            auth=SecretAuth(secret_arn),
            on_call=on_call,
            remaining_seconds=remaining_seconds,
        )
        return connector_for(settings, name, api)

    return (
        side("source", settings.source_base_url, settings.source_secret_arn),
        side("target", settings.target_base_url, settings.target_secret_arn),
    )
