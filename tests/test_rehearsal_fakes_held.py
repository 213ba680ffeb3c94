"""Which vendor fakes an integration's end-to-end check holds while its records travel:
every side its sync functions speak, the middleware contract where a side names none."""

from __future__ import annotations

from contract import environment as var
from contract.aws_types import LAMBDA_FUNCTION, SQS_QUEUE
from contract.connectors import MIDDLEWARE, side_connector
from provisioner.rehearsal.backend import CreatedResource
from provisioner.rehearsal.checks.sync_flow import _fakes_spoken_to
from provisioner.rehearsal.inventory import Deployed


def _function(name: str, variables: dict[str, str]) -> CreatedResource:
    outputs = {"environment": {"variables": variables}}
    return CreatedResource(LAMBDA_FUNCTION, f"quote-to-order-{name}", name, outputs)


def test_a_side_without_a_connector_speaks_the_middleware_contract() -> None:
    assert side_connector("netsuite") == "netsuite"
    assert side_connector("") == side_connector(None) == MIDDLEWARE


def test_every_side_of_every_sync_function_is_held_unnamed_ones_as_middleware() -> None:
    consumer = {var.SOURCE_CONNECTOR: "shopify", var.TARGET_CONNECTOR: "salesforce"}
    batch = {var.SOURCE_CONNECTOR: "", var.TARGET_CONNECTOR: "netsuite"}
    d = Deployed(
        "quote-to-order",
        [
            _function("consumer", consumer),
            _function("batch", batch),
            CreatedResource(SQS_QUEUE, "quote-to-order-queue", "queue", {}),
        ],
    )

    assert _fakes_spoken_to(d) == ["middleware", "netsuite", "salesforce", "shopify"]


def test_a_function_that_names_no_connector_holds_no_fake() -> None:
    rotation = _function("rotation", {var.INTEGRATION: "quote-to-order"})

    assert _fakes_spoken_to(Deployed("quote-to-order", [rotation])) == []
