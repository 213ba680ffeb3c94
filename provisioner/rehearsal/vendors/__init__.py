"""Fakes of each vendor's API on 127.0.0.1, one module per vendor (see ``base``).

The connector contract tests and the rehearsal's end-to-end check drive the sync
functions' connectors against them.
"""

from __future__ import annotations

from provisioner.rehearsal.vendors.base import Record, VendorFake, VendorServer
from provisioner.rehearsal.vendors.middleware import MiddlewareFake
from provisioner.rehearsal.vendors.netsuite import NetSuiteFake
from provisioner.rehearsal.vendors.salesforce import SalesforceFake
from provisioner.rehearsal.vendors.snowflake import SnowflakeFake
from provisioner.rehearsal.vendors.xero import XeroFake

__all__ = ["FAKES", "Record", "VendorFake", "VendorServer"]

#: connector name -> its fake
FAKES: dict[str, type[VendorFake]] = {
    fake.name: fake
    for fake in (SalesforceFake, NetSuiteFake, XeroFake, SnowflakeFake, MiddlewareFake)
}
