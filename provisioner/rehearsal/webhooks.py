"""Signed webhook ingress, rehearsed: what the vendor sends, what the deployed handler does.

For each webhook-fed integration at phase >= 3, the deployed ingress's code
(``integration_sync.webhook.handler``) runs in this process with its deployed environment
and the integration role's STS credentials, as its function URL would invoke it (payload
format 2.0), on requests signed as the vendor signs them with the secret put into the
signing secret as an administrator would. A good delivery must be answered 200 and be
on the queue as the consumer's envelope; a wrong signature, a stale timestamp (or, for the
schemes that sign none, an unknown signer), a replay of the good delivery and its body
altered after signing must each get 401 and enqueue nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contract.naming import WEBHOOK_INGRESS_ROLE
from provisioner.rehearsal.inventory import FUNCTION
from provisioner.rehearsal.result import Check

if TYPE_CHECKING:
    from provisioner.rehearsal.runner import Deployment

__all__ = ["signed_ingress", "vendor_headers"]

# How far outside the handler's 5-minute tolerance a stale delivery was signed.
STALE_SECONDS = 3600


def _hmac(key: str, message: bytes) -> bytes:
    return hmac.new(key.encode(), message, hashlib.sha256).digest()


def vendor_headers(
    scheme: str, secret: str, body: bytes, url: str, *, at: float, delivery: str
) -> dict[str, str]:
    """The headers the vendor sends with `body` (each vendor's "verify webhooks" page)."""
    if scheme == "stripe":
        t = str(int(at))
        return {"Stripe-Signature": f"t={t},v1={_hmac(secret, f'{t}.'.encode() + body).hex()}"}
    if scheme == "hubspot_v3":
        t = str(int(at * 1000))
        digest = _hmac(secret, b"POST" + url.encode() + body + t.encode())
        return {
            "X-HubSpot-Signature-v3": base64.b64encode(digest).decode(),
            "X-HubSpot-Request-Timestamp": t,
        }
    if scheme == "shopify":
        return {
            "X-Shopify-Hmac-Sha256": base64.b64encode(_hmac(secret, body)).decode(),
            "X-Shopify-Webhook-Id": delivery,
        }
    return {
        "X-Hub-Signature-256": "sha256=" + _hmac(secret, body).hex(),
        "X-GitHub-Delivery": delivery,
    }


def _url_event(host: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """A Lambda function URL request (payload format 2.0), as the URL hands it over."""
    return {
        "version": "2.0",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": {k.lower(): v for k, v in headers.items()} | {"host": host},
        "requestContext": {"domainName": host, "http": {"method": "POST", "path": "/"}},
        "body": body.decode(),
        "isBase64Encoded": False,
    }


@dataclass(frozen=True)
class _Case:
    name: str
    body: bytes
    headers: dict[str, str]
    status: int


def _cases(scheme: str, secret: str, url: str, record_id: str) -> list[_Case]:
    now = time.time()
    delivery = str(uuid.uuid4())
    record = {"id": record_id, "status": "active", "amount": 42.5}
    body = json.dumps(
        {"id": f"evt_{delivery}", "data": {"object": record}} if scheme == "stripe" else record
    ).encode()
    good = vendor_headers(scheme, secret, body, url, at=now, delivery=delivery)
    altered = body.replace(b"42.5", b"4250.0")
    cases = [
        _Case("signed", body, good, 200),
        _Case("replayed", body, good, 401),
        _Case("body altered", altered, good, 401),
        _Case(
            "bad signature",
            body,
            vendor_headers(
                scheme, "whsec_not_the_shops", body, url, at=now, delivery=str(uuid.uuid4())
            ),
            401,
        ),
    ]
    if scheme in ("stripe", "hubspot_v3"):
        cases.append(
            _Case(
                "stale",
                body,
                vendor_headers(
                    scheme, secret, body, url, at=now - STALE_SECONDS, delivery=str(uuid.uuid4())
                ),
                401,
            )
        )
    return cases


def signed_ingress(deployment: Deployment) -> list[Check]:
    """One check per webhook-fed integration at phase >= 3 (module docstring)."""
    env = deployment.settings.environment
    checks = []
    for integration in deployment.roadmap.active(env):
        if integration.webhook is None or integration.phase(env) < 3:
            continue
        name = f"webhook:{integration.name}"
        try:
            checks.append(_rehearse(name, integration, deployment))
        except Exception as err:  # one integration must not hide the others
            checks.append(Check(name, False, f"{type(err).__name__}: {err}"))
    return checks


def _rehearse(name: str, integration: Any, deployment: Deployment) -> Check:
    from provisioner.rehearsal.access import assume
    from provisioner.rehearsal.flows import _run_consumer

    d = deployment.inventory[integration.name]
    ingress, url, queue, role = (
        d.named(WEBHOOK_INGRESS_ROLE, FUNCTION),
        d.named(f"{WEBHOOK_INGRESS_ROLE}-url"),
        d.queue,
        d.role,
    )
    if ingress is None or url is None or queue is None or role is None:
        return Check(name, False, "no ingress function, function URL, queue or role deployed")
    lam = deployment.aws.client("lambda")
    url_config = lam.get_function_url_config(FunctionName=ingress.outputs["name"])
    if url_config.get("AuthType") != "NONE":
        return Check(name, False, f"the function URL's auth type is {url_config.get('AuthType')}")
    function_env = dict(
        lam.get_function_configuration(FunctionName=ingress.outputs["name"])
        .get("Environment", {})
        .get("Variables", {})
    )
    # The shop's signing secret, put as an administrator does after the vendor shows it.
    secret = "whsec_" + uuid.uuid4().hex
    sm = deployment.aws.client("secretsmanager")
    sm.put_secret_value(
        SecretId=function_env["SIGNING_SECRET_ARN"],
        SecretString=json.dumps(
            {"kind": "webhook_signing_secret", "scheme": "hmac-sha256", "signing_secret": secret}
        ),
        VersionStages=["AWSCURRENT"],
    )
    public = str(url_config["FunctionUrl"])
    host = public.split("//", 1)[-1].rstrip("/")
    scheme = integration.webhook.scheme.value
    record_id = f"rf-{uuid.uuid4().hex[:12]}"
    creds = assume(deployment.aws, role.outputs["arn"], f"rehearsal-{integration.name}"[:64])
    problems, answered = [], []
    admin = deployment.aws.client("sqs")
    outputs = []
    for case in _cases(scheme, secret, f"https://{host}/", record_id):
        # The deployed handler, in this process, as the URL invokes it (flows._run_consumer).
        event = _url_event(host, case.headers, case.body)
        response, printed = _run_consumer(
            event, function_env, creds, deployment, "", module="webhook"
        )
        outputs.append(printed)
        answered.append(f"{case.name} {response['statusCode']}")
        if response["statusCode"] != case.status:
            problems.append(
                f"{case.name} delivery got {response['statusCode']} {response.get('body')}, "
                f"not {case.status}"
            )
    queued = _drain(admin, queue.id, record_id)
    if len(queued) != 1:
        problems.append(
            f"{len(queued)} messages for {record_id} on {queue.outputs['name']}, expected the "
            f"signed delivery's one; handler output: {''.join(outputs)[-400:]}"
        )
    elif json.loads(queued[0]["Body"]).get("object") != integration.webhook.object:
        problems.append(f"the queued envelope is {queued[0]['Body'][:200]}")
    if problems:
        return Check(name, False, f"{scheme}: " + "; ".join(problems))
    return Check(
        name,
        True,
        f"{scheme} deliveries to the public function URL ({', '.join(answered)}); only the "
        f"signed one was enqueued on {queue.outputs['name']}",
    )


def _drain(sqs: Any, queue_url: str, marker: str) -> list[dict[str, Any]]:
    """Every message on the queue that carries `marker`, deleted."""
    found = []
    for _ in range(5):
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            if marker in message["Body"]:
                found.append(message)
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            else:
                sqs.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
    return found
