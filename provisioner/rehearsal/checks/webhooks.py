"""Signed webhook ingress, rehearsed: what the vendor sends, what the deployed handler does,
and what reaches the target.

For each webhook-fed integration at phase >= 3, the deployed ingress's code
(``integration_sync.webhook.handler``) runs as Lambda runs it (``lambda_runner``), as its
function URL would invoke it (payload format 2.0), on requests signed as the vendor signs
them with the secret put into the signing secret as an administrator would. A good
delivery must be answered 200, be on the queue once, and reach the target's fake through
the deployed consumer; a wrong signature, a stale timestamp (Stripe and HubSpot sign one),
a replay of the good delivery and its body altered after signing must each get 401 and
enqueue nothing.
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

from contract import environment as var
from contract.aws_types import LAMBDA_FUNCTION
from contract.connectors import side_connector
from contract.naming import WEBHOOK_INGRESS_ROLE
from provisioner.rehearsal.checks.poller import batch_event, receive
from provisioner.rehearsal.checks.records import value
from provisioner.rehearsal.lambda_runner import deployed_environment
from provisioner.rehearsal.result import Check

if TYPE_CHECKING:
    from provisioner.rehearsal.lambda_runner import LambdaRunner
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


def _cases(scheme: str, secret: str, url: str, record: dict[str, Any]) -> list[_Case]:
    now = time.time()
    delivery = str(uuid.uuid4())
    body = json.dumps(
        {"id": f"evt_{delivery}", "data": {"object": record}} if scheme == "stripe" else record
    ).encode()
    good = vendor_headers(scheme, secret, body, url, at=now, delivery=delivery)
    altered = body[:-1] + b', "rehearsal_altered": true}'  # still JSON, no longer signed
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


def signed_ingress(
    name: str, integration: Any, deployment: Deployment, vendors: Any, lambdas: LambdaRunner
) -> Check:
    """The webhook-fed integration's ingress, then its consumer, to the target's fake.

    Run by the end-to-end step (`sync_flow.end_to_end`), in its vendor fakes, after the flow's
    own record: the target credential is enrolled there by then.
    """
    d = deployment.inventory[integration.name]
    ingress, url, queue, role = (
        d.named(WEBHOOK_INGRESS_ROLE, LAMBDA_FUNCTION),
        d.named(f"{WEBHOOK_INGRESS_ROLE}-url"),
        d.queue,
        d.role,
    )
    if ingress is None or url is None or queue is None or role is None:
        return Check(name, False, "no ingress function, function URL, queue or role deployed")
    lam = deployment.aws.admin("lambda")
    url_config = lam.get_function_url_config(FunctionName=ingress.outputs["name"])
    if url_config.get("AuthType") != "NONE":
        return Check(name, False, f"the function URL's auth type is {url_config.get('AuthType')}")
    function_env = deployed_environment(deployment, ingress)
    # The shop's signing secret, put as an administrator does after the vendor shows it.
    secret = "whsec_" + uuid.uuid4().hex
    sm = deployment.aws.admin("secretsmanager")
    sm.put_secret_value(
        SecretId=function_env[var.SIGNING_SECRET_ARN],
        SecretString=json.dumps(
            {"kind": "webhook_signing_secret", "scheme": "hmac-sha256", "signing_secret": secret}
        ),
        VersionStages=["AWSCURRENT"],
    )
    public = str(url_config["FunctionUrl"])
    host = public.split("//", 1)[-1].rstrip("/")
    scheme = integration.webhook.scheme.value
    record_id = f"rf-{uuid.uuid4().hex[:12]}"
    consumer = d.consumer
    if consumer is None:
        return Check(name, False, "no consumer deployed behind the ingress")
    consumer_env = deployed_environment(deployment, consumer)
    spec = json.loads(consumer_env[var.FIELD_MAPPING])[integration.webhook.object]
    # What the vendor's event carries: the mapped source fields, the record's id as the key.
    record = {
        source: record_id if target == spec["external_id"] else value(source, n)
        for n, (source, target) in enumerate(spec["fields"].items())
        if "." not in source
    }
    problems, answered = [], []
    admin = deployment.aws.admin("sqs")
    outputs = []
    for case in _cases(scheme, secret, f"https://{host}/", record):
        # The deployed handler as the URL invokes it, which answers 502 when it fails.
        event = _url_event(host, case.headers, case.body)
        invocation = lambdas.invoke(ingress.outputs["name"], event)
        outputs.append(invocation.logs)
        response = invocation.payload or {"statusCode": 502, "body": invocation.error}
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
    else:
        # The consumer takes the signed delivery to the target, as from any queued source.
        event = batch_event(queued[:1], queue.outputs["arn"], deployment.aws.region)
        fake = vendors.fakes[side_connector(consumer_env.get(var.TARGET_CONNECTOR))]
        invocation = lambdas.invoke(
            consumer.outputs["name"], event, environment={var.TARGET_BASE_URL: fake.base_url}
        )
        arrived = fake.stored(spec["target_object"]).get(record_id)
        if invocation.error or invocation.payload.get("batchItemFailures") or arrived is None:
            problems.append(
                f"the signed delivery did not reach {spec['target_object']}/{record_id} at the "
                f"{integration.target} fake: {invocation.error or ''} {invocation.logs[-400:]}"
            )
    return Check.judged(
        name,
        problems,
        f"{scheme} deliveries to the public function URL ({', '.join(answered)}); only the "
        f"signed one was enqueued on {queue.outputs['name']}, and the consumer upserted it as "
        f"{spec['target_object']}/{record_id} at the {integration.target} fake",
        about=scheme,
    )


def _drain(sqs: Any, queue_url: str, marker: str) -> list[dict[str, Any]]:
    """Every message on the queue that carries `marker`, deleted."""
    found = []
    for _ in range(5):
        messages = receive(sqs, queue_url, visibility=30)
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
