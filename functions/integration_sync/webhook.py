"""Signed webhook ingress: verify the vendor's signature, refuse replays, enqueue, answer 200.

Handler ``integration_sync.webhook.handler`` for a Lambda function URL (payload format 2.0).
Supported schemes (``WEBHOOK_SCHEME``), each HMAC-SHA256 keyed by the signing secret:

``stripe``
    ``Stripe-Signature: t=<unix seconds>,v1=<hex>`` over ``"{t}." + raw body`` (Stripe docs,
    "Verify webhook signatures manually"); the timestamp must be within 5 minutes, Stripe's
    default tolerance. Delivery id: the event's ``id``.
``hubspot_v3``
    ``X-HubSpot-Signature-v3: <base64>`` over ``method + URI + raw body + timestamp`` with
    ``X-HubSpot-Request-Timestamp`` (milliseconds) no older than 5 minutes (HubSpot docs,
    "Validating requests", v3). Delivery id: the signature itself.
``shopify``
    ``X-Shopify-Hmac-Sha256: <base64>`` over the raw body; no timestamp is signed, so replays
    are caught by ``X-Shopify-Webhook-Id`` (Shopify docs, "Verify webhook deliveries").
``github``
    ``X-Hub-Signature-256: sha256=<hex>`` over the raw body; replays caught by
    ``X-GitHub-Delivery`` (GitHub docs, "Validating webhook deliveries").

Every request that is unsigned, wrongly signed, stale or a replay gets 401 and enqueues
nothing. A verified delivery is recorded by id in ``STATE_TABLE`` (conditional put, so two
concurrent copies cannot both pass) before it is enqueued on ``QUEUE_URL``; if enqueueing
fails the record is removed and the vendor's retry is accepted. Both ``signing_secret`` and
``previous_signing_secret`` of the ``webhook_signing_secret`` at ``SIGNING_SECRET_ARN`` verify,
so a secret swap loses no delivery.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contract import environment as var
from integration_sync.errors import ConfigurationError

# Stripe's libraries default to a 300 s tolerance; HubSpot rejects timestamps over 5 minutes.
TOLERANCE_SECONDS = 300
# Schemes without a signed timestamp: a delivery id is remembered this long (longer than
# Shopify's 4 hours and GitHub's 3 days of automatic retries).
DELIVERY_ID_TTL_SECONDS = 7 * 24 * 3600
SCHEMES = ("stripe", "hubspot_v3", "shopify", "github")


class Rejected(Exception):
    """A request that must get 401: ``reason`` is unsigned, bad_signature, stale or replayed."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Delivery:
    """A verified delivery: its id (for replay refusal) and when the vendor signed it."""

    id: str
    signed_at: float | None


def verify(
    scheme: str,
    secrets: Iterable[str],
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float | None = None,
) -> Delivery:
    """Check ``body`` against the scheme's signature with any of ``secrets``; raise Rejected."""
    now = time.time() if now is None else now
    lower = {k.lower(): v for k, v in headers.items()}
    keys = [s.encode() for s in secrets if s]
    if scheme == "stripe":
        return _stripe(lower, body, keys, now)
    if scheme == "hubspot_v3":
        return _hubspot(lower, method, url, body, keys, now)
    if scheme in ("shopify", "github"):
        header, id_header = (
            ("x-shopify-hmac-sha256", "x-shopify-webhook-id")
            if scheme == "shopify"
            else ("x-hub-signature-256", "x-github-delivery")
        )
        signature = lower.get(header, "")
        if not signature or not lower.get(id_header):
            raise Rejected("unsigned", f"{header} and {id_header} are required")
        if scheme == "github":
            if not signature.startswith("sha256="):
                raise Rejected("bad_signature", f"{header} is not sha256=<hex>")
            expected = [hmac.new(k, body, hashlib.sha256).hexdigest() for k in keys]
            _match(signature.removeprefix("sha256="), expected)
        else:
            expected = [_b64(hmac.new(k, body, hashlib.sha256).digest()) for k in keys]
            _match(signature, expected)
        return Delivery(f"{scheme}:{lower[id_header]}", None)
    raise ValueError(f"WEBHOOK_SCHEME {scheme!r} is not one of {SCHEMES}")


def _stripe(headers: Mapping[str, str], body: bytes, keys: list[bytes], now: float) -> Delivery:
    parts = [p.split("=", 1) for p in headers.get("stripe-signature", "").split(",") if "=" in p]
    stamp = next((v for k, v in parts if k == "t"), "")
    candidates = [v for k, v in parts if k == "v1"]
    if not stamp.isdigit() or not candidates:
        raise Rejected("unsigned", "Stripe-Signature needs t=<timestamp> and v1=<signature>")
    signed = stamp.encode() + b"." + body
    expected = [hmac.new(k, signed, hashlib.sha256).hexdigest() for k in keys]
    for candidate in candidates:
        if any(hmac.compare_digest(candidate, e) for e in expected):
            break
    else:
        raise Rejected("bad_signature", "no v1 signature matches the raw body")
    _fresh(int(stamp), now)
    return Delivery(f"stripe:{_json_field(body, 'id') or stamp + candidates[0]}", float(stamp))


def _hubspot(
    headers: Mapping[str, str],
    method: str,
    url: str,
    body: bytes,
    keys: list[bytes],
    now: float,
) -> Delivery:
    signature = headers.get("x-hubspot-signature-v3", "")
    stamp = headers.get("x-hubspot-request-timestamp", "")
    if not signature or not stamp.isdigit():
        raise Rejected("unsigned", "X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp needed")
    source = method.upper().encode() + url.encode() + body + stamp.encode()
    _match(signature, [_b64(hmac.new(k, source, hashlib.sha256).digest()) for k in keys])
    _fresh(int(stamp) / 1000.0, now)
    return Delivery(f"hubspot_v3:{signature}", int(stamp) / 1000.0)


def _match(presented: str, expected: list[str]) -> None:
    if not any(hmac.compare_digest(presented, e) for e in expected):
        raise Rejected("bad_signature", "the signature does not match the raw body")


def _fresh(signed_at: float, now: float) -> None:
    if abs(now - signed_at) > TOLERANCE_SECONDS:
        raise Rejected(
            "stale", f"signed {now - signed_at:.0f}s from now; {TOLERANCE_SECONDS}s allowed"
        )


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def _json_field(body: bytes, name: str) -> str:
    try:
        value = json.loads(body)
    except ValueError:
        return ""
    return str(value.get(name, "")) if isinstance(value, dict) else ""


# --------------------------------------------------------------------------- the Lambda


class ReplayGuard:
    """Delivery ids already accepted, in the state table (``id = webhook#{delivery id}``)."""

    def __init__(self, table_name: str, client: Any = None) -> None:
        import boto3

        self.table_name = table_name
        self.client = client or boto3.client("dynamodb")

    def claim(self, delivery: Delivery, now: float) -> None:
        """Record ``delivery``; Rejected("replayed") when it was recorded before."""
        from botocore.exceptions import ClientError

        ttl = TOLERANCE_SECONDS * 2 if delivery.signed_at is not None else DELIVERY_ID_TTL_SECONDS
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={
                    "id": {"S": _key(delivery)},
                    "expiration": {"N": str(int(now) + ttl)},
                },
                ConditionExpression="attribute_not_exists(id)",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise Rejected("replayed", f"delivery {delivery.id} was already accepted") from None
            raise

    def release(self, delivery: Delivery) -> None:
        """Forget ``delivery`` (it could not be enqueued): the vendor's retry is accepted."""
        self.client.delete_item(TableName=self.table_name, Key={"id": {"S": _key(delivery)}})


def _key(delivery: Delivery) -> str:
    return "webhook#" + hashlib.sha256(delivery.id.encode()).hexdigest()


def envelope(scheme: str, obj: str, delivery: Delivery, body: bytes) -> list[dict[str, Any]]:
    """The consumer's plain JSON envelopes (envelope.py) for one verified delivery."""
    payload = json.loads(body)
    events = payload if isinstance(payload, list) else [payload]
    out = []
    for n, event in enumerate(events):
        record = event
        if scheme == "stripe" and isinstance(event.get("data"), dict):
            record = event["data"].get("object", event)
        signed_at = delivery.signed_at or time.time()
        out.append(
            {
                "object": obj,
                "event_id": f"{delivery.id}#{n}",
                "occurred_at": datetime.fromtimestamp(signed_at, UTC).isoformat(),
                "data": record,
            }
        )
    return out


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Function URL entry point: 401 for anything not verified, 200 once enqueued."""
    import boto3

    from integration_sync.aws import secrets_provider
    from integration_sync.secret_age import report_age

    scheme = os.environ[var.WEBHOOK_SCHEME]
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
    http = event.get("requestContext", {}).get("http", {})
    query = event.get("rawQueryString") or ""
    url = f"https://{event.get('requestContext', {}).get('domainName', '')}{http.get('path', '/')}"
    url += f"?{query}" if query else ""
    secret = secrets_provider().get(
        os.environ[var.SIGNING_SECRET_ARN], transform="json", max_age=300
    )
    if not isinstance(secret, dict):
        raise ConfigurationError(
            f"secret {os.environ[var.SIGNING_SECRET_ARN]} is not a JSON object"
        )
    # Signing secrets are rotated by hand: their age feeds the secret-age alarm.
    report_age(os.environ[var.SIGNING_SECRET_ARN])
    keys = [secret.get("signing_secret", ""), secret.get("previous_signing_secret", "")]
    now = time.time()
    guard = ReplayGuard(os.environ[var.STATE_TABLE])
    try:
        delivery = verify(
            scheme,
            keys,
            method=http.get("method", "POST"),
            url=url,
            headers=event.get("headers") or {},
            body=body,
            now=now,
        )
        guard.claim(delivery, now)
    except Rejected as rejected:
        return _answer(401, {"error": rejected.reason})
    try:
        messages = envelope(scheme, os.environ[var.WEBHOOK_OBJECT], delivery, body)
    except (ValueError, AttributeError):
        guard.release(delivery)
        return _answer(400, {"error": "body is not a JSON object or array"})
    sqs = boto3.client("sqs")
    # If a later message of a batch (HubSpot sends arrays) fails, the vendor's retry enqueues
    # the earlier ones again; their event ids make the consumer skip them as duplicates.
    try:
        for message in messages:
            sqs.send_message(QueueUrl=os.environ[var.QUEUE_URL], MessageBody=json.dumps(message))
    except Exception:
        guard.release(delivery)
        raise
    return _answer(200, {"queued": len(messages)})


def _answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }
