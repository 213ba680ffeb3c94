"""Signed webhook ingress: each vendor's scheme, and what the handler refuses with 401.

The signatures here are computed from the vendors' documented recipes, independently of
``integration_sync.webhook``: Stripe (``t.body``, hex), HubSpot v3 (method + URI + body +
timestamp, base64), Shopify (body, base64) and GitHub (body, ``sha256=`` hex).
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from test_sync_harness import (
    create_queues,
    create_secret,
    create_state_table,
    receive_all,
)

from contract import environment as var
from integration_sync.aws import secrets_provider
from integration_sync.errors import ConfigurationError
from integration_sync.webhook import Rejected, verify
from provisioner.rehearsal.checks.webhooks import vendor_headers

SECRET = "whsec_5f0e1c3b8d2a4e6f9a7b"
OLD_SECRET = "whsec_previous_0a1b2c3d4e"
URL = "https://abc123.lambda-url.eu-west-1.on.aws/"
BODY = json.dumps(
    {
        "id": "evt_1QbT9xL2m4N8pR6s",
        "type": "customer.subscription.updated",
        "data": {"object": {"id": "sub_1Qb", "status": "active", "current_period_end": 1767225600}},
    }
).encode()


# Each vendor's delivery id header, for the schemes that sign no timestamp.
DELIVERIES = {
    "shopify": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
    "github": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
}


def sign(
    scheme: str, body: bytes, *, secret: str = SECRET, at: float | None = None
) -> dict[str, str]:
    """The headers the vendor sends (the rehearsal signs its deliveries the same way)."""
    at = time.time() if at is None else at
    return vendor_headers(scheme, secret, body, URL, at=at, delivery=DELIVERIES.get(scheme, ""))


SCHEMES = ("stripe", "hubspot_v3", "shopify", "github")
TIMESTAMPED = ("stripe", "hubspot_v3")


def _verify(scheme: str, headers: dict[str, str], body: bytes = BODY, **kw: Any) -> Any:
    return verify(scheme, [SECRET], method="POST", url=URL, headers=headers, body=body, **kw)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_correctly_signed_delivery_is_verified(scheme: str) -> None:
    delivery = _verify(scheme, sign(scheme, BODY))
    assert delivery.id.startswith(f"{scheme}:")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_signature_made_with_another_secret_is_refused(scheme: str) -> None:
    with pytest.raises(Rejected) as rejected:
        _verify(scheme, sign(scheme, BODY, secret="whsec_not_ours_7777"))
    assert rejected.value.reason == "bad_signature"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_body_altered_after_signing_is_refused(scheme: str) -> None:
    altered = BODY.replace(b'"active"', b'"canceled"')
    with pytest.raises(Rejected) as rejected:
        _verify(scheme, sign(scheme, BODY), altered)
    assert rejected.value.reason == "bad_signature"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_an_unsigned_delivery_is_refused(scheme: str) -> None:
    with pytest.raises(Rejected) as rejected:
        _verify(scheme, {"Content-Type": "application/json"})
    assert rejected.value.reason == "unsigned"


@pytest.mark.parametrize("scheme", TIMESTAMPED)
def test_a_correctly_signed_but_stale_delivery_is_refused(scheme: str) -> None:
    with pytest.raises(Rejected) as rejected:
        _verify(scheme, sign(scheme, BODY, at=time.time() - 301))
    assert rejected.value.reason == "stale"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_previous_secret_still_verifies_during_a_swap(scheme: str) -> None:
    headers = sign(scheme, BODY, secret=OLD_SECRET)
    delivery = verify(
        scheme, [SECRET, OLD_SECRET], method="POST", url=URL, headers=headers, body=BODY
    )
    assert delivery.id


# ----------------------------------------------------------------- the Lambda handler


@pytest.fixture
def ingress(aws: None, monkeypatch: pytest.MonkeyPatch) -> Callable[..., dict[str, Any]]:
    """The handler with its queue, state table and signing secret in moto."""
    queues = create_queues("dev-subscription-to-crm")
    arn = create_secret(
        "dev-subscription-to-crm-cred-stripe-webhook",
        {"kind": "webhook_signing_secret", "scheme": "hmac-sha256", "signing_secret": SECRET},
    )
    env = {
        var.WEBHOOK_SCHEME: "stripe",
        var.WEBHOOK_OBJECT: "subscription",
        var.SIGNING_SECRET_ARN: arn,
        var.STATE_TABLE: create_state_table("dev-subscription-to-crm-state"),
        var.QUEUE_URL: queues.url,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    def post(headers: dict[str, str], body: bytes = BODY) -> dict[str, Any]:
        from integration_sync.webhook import handler

        secrets_provider.cache_clear()
        event = {
            "rawPath": "/",
            "rawQueryString": "",
            "headers": {k.lower(): v for k, v in headers.items()},
            "requestContext": {
                "domainName": URL.removeprefix("https://").rstrip("/"),
                "http": {"method": "POST", "path": "/"},
            },
            "body": base64.b64encode(body).decode(),
            "isBase64Encoded": True,
        }
        response = handler(event, None)
        response["queued"] = receive_all(queues.url)
        return response

    return post


def test_a_signed_event_is_enqueued_for_the_consumer_and_answered_200(ingress: Any) -> None:
    from integration_sync.envelope import parse_body

    response = ingress(sign("stripe", BODY))

    assert response["statusCode"] == 200, response
    [message] = response["queued"]
    [change] = parse_body(message["Body"])
    assert change.object == "subscription"
    assert change.fields == {"id": "sub_1Qb", "status": "active", "current_period_end": 1767225600}


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (lambda: sign("stripe", BODY, secret="whsec_forged_0000"), "bad_signature"),
        (lambda: sign("stripe", BODY, at=time.time() - 600), "stale"),
        (lambda: {}, "unsigned"),
    ],
    ids=["bad-signature", "stale", "unsigned"],
)
def test_a_refused_request_gets_401_and_enqueues_nothing(
    ingress: Any, headers: Callable[[], dict[str, str]], reason: str
) -> None:
    response = ingress(headers())

    assert response["statusCode"] == 401 and json.loads(response["body"]) == {"error": reason}
    assert response["queued"] == []


def test_a_replayed_delivery_gets_401_and_is_enqueued_once(ingress: Any) -> None:
    headers = sign("stripe", BODY)
    first = ingress(headers)

    replay = ingress(headers)

    assert first["statusCode"] == 200 and len(first["queued"]) == 1
    assert replay["statusCode"] == 401 and json.loads(replay["body"]) == {"error": "replayed"}
    assert replay["queued"] == []


def test_a_delivery_that_could_not_be_enqueued_is_accepted_when_retried(
    ingress: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    headers = sign("stripe", BODY)
    queue_url = os.environ[var.QUEUE_URL]
    monkeypatch.setenv(var.QUEUE_URL, queue_url.replace("dev-subscription", "gone-subscription"))
    with pytest.raises(boto3.client("sqs").exceptions.QueueDoesNotExist):
        ingress(headers)
    monkeypatch.setenv(var.QUEUE_URL, queue_url)

    retried = ingress(headers)  # the vendor retries the same delivery

    assert retried["statusCode"] == 200 and len(retried["queued"]) == 1


def test_a_signing_secret_that_is_not_a_json_object_is_a_configuration_error(
    ingress: Any,
) -> None:
    """Never a bare AttributeError, and nothing enqueued, when the secret was mistyped."""
    sm = boto3.client("secretsmanager")
    sm.put_secret_value(SecretId=os.environ[var.SIGNING_SECRET_ARN], SecretString='["whsec"]')
    with pytest.raises(ConfigurationError, match="is not a JSON object"):
        ingress(sign("stripe", BODY))
