"""Fakes of each vendor's API on 127.0.0.1, one module per vendor (see ``base``).

The connector contract tests and the rehearsal's end-to-end check drive the sync
functions' connectors against them.
"""

from __future__ import annotations

from provisioner.rehearsal.vendors.amplitude import AmplitudeFake
from provisioner.rehearsal.vendors.base import Record, VendorFake, VendorServer
from provisioner.rehearsal.vendors.hubspot import HubSpotFake
from provisioner.rehearsal.vendors.marketo import MarketoFake
from provisioner.rehearsal.vendors.middleware import MiddlewareFake
from provisioner.rehearsal.vendors.netsuite import NetSuiteFake
from provisioner.rehearsal.vendors.salesforce import SalesforceFake
from provisioner.rehearsal.vendors.shopify import ShopifyFake
from provisioner.rehearsal.vendors.snowflake import SnowflakeFake
from provisioner.rehearsal.vendors.stripe import StripeFake
from provisioner.rehearsal.vendors.xero import XeroFake
from provisioner.rehearsal.vendors.zendesk import ZendeskFake

__all__ = ["FAKES", "Record", "VendorFake", "VendorServer"]

#: connector name -> its fake
FAKES: dict[str, type[VendorFake]] = {
    fake.name: fake
    for fake in (
        SalesforceFake,
        NetSuiteFake,
        ShopifyFake,
        XeroFake,
        MarketoFake,
        ZendeskFake,
        HubSpotFake,
        StripeFake,
        SnowflakeFake,
        AmplitudeFake,
        MiddlewareFake,
    )
}
