"""Fakes of the credential-issuing systems on 127.0.0.1, and the fixtures rotation tests share.

The fakes are the rehearsal's (``provisioner.rehearsal.fakes.FakeSystems``): one threaded
HTTP server plays Salesforce (JWT bearer token endpoint and a certificate upload
endpoint), an OAuth 2.0 authorization server with a client-secret API, and an API-key
service. It verifies what the real systems verify (RS256 signature against the app's
certificate, ``aud``, ``sub``, ``exp`` at most 3 minutes ahead) and supports fault
injection (``Fault``: 5xx, delays). The fixtures here give each test fresh fakes, moto and
the handler's dependencies. The tests at the bottom check the fakes themselves refuse bad
credentials.
"""

from __future__ import annotations

import json
import secrets as std_secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from provisioner.rehearsal.fakes import FakeSystems

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "secrets") not in sys.path:
    sys.path.insert(0, str(ROOT / "secrets"))

from credential_rotation import handler  # noqa: E402
from credential_rotation.clients import (  # noqa: E402
    ApiKeyHttpIssuer,
    BasicTokenHttpIssuer,
    IssuerError,
    OAuthHttpIssuer,
)
from credential_rotation.keys import generate_key_and_certificate  # noqa: E402
from credential_rotation.slot_clients import (  # noqa: E402
    SalesforceHttpClient,
    SnowflakeHttpClient,
    build_jwt_assertion,
)

REGION = "us-east-1"
USERNAME = "integration@quote-to-order.example.com"
APP_A, APP_B = "3MVG9quoteToOrderAppA", "3MVG9quoteToOrderAppB"
OAUTH_CLIENT = "quote-to-order"
IAM_USER = "dev-order-events-pusher"
# Long enough that a loaded CI box (two cores, RSA keys being made in parallel) never
# trips it; the tests of timeouts shorten it for the one rotation they break
# (``short_timeouts``).
CLIENT_TIMEOUT = 10.0
KINDS = (
    "salesforce_jwt_bearer",
    "oauth_client_credentials",
    "api_key",
    "iam_access_key",
    "snowflake_key_pair",
    "basic_token",
)
SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER = "xy12345", "DEV_WAREHOUSE_EXPORT_INTEGRATION"


@pytest.fixture
def fake() -> Iterator[FakeSystems]:
    """The rehearsal's fake issuers, fresh for each test, as this module's single tenant.

    Salesforce knows ``USERNAME`` and both connected apps (no certificate yet); the OAuth
    client and the API keys are enrolled by ``initial_doc``.
    """
    with FakeSystems() as state:
        state.apps.update({APP_A: None, APP_B: None})
        state.users.add(USERNAME)
        yield state


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    """Moto-backed Secrets Manager, IAM and STS, with credentials that reach nothing real."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield boto3.Session(region_name=REGION)


@dataclass
class World:
    """Everything one rotation test needs: AWS clients, fakes, dependencies and the secret."""

    session: boto3.Session
    fake: FakeSystems
    deps: handler.Dependencies
    arn: str = ""
    kind: str = ""
    sleeps: list[float] = field(default_factory=list)

    @property
    def sm(self) -> Any:
        return self.deps.secretsmanager

    def stages(self) -> dict[str, list[str]]:
        sm = self.session.client("secretsmanager")  # unaffected by injected faults
        return dict(sm.describe_secret(SecretId=self.arn)["VersionIdsToStages"])

    def version(self, stage: str) -> str | None:
        return next((v for v, s in self.stages().items() if stage in s), None)

    def doc(self, stage: str = "AWSCURRENT") -> dict[str, Any]:
        sm = self.session.client("secretsmanager")
        raw = sm.get_secret_value(SecretId=self.arn, VersionStage=stage)["SecretString"]
        return dict(json.loads(raw))

    def accepted(self, doc: dict[str, Any]) -> bool:
        """Whether the issuing system (fake or moto) accepts the credential in ``doc``."""
        try:
            if doc["kind"] == "salesforce_jwt_bearer":
                SalesforceHttpClient(timeout=CLIENT_TIMEOUT).exchange_jwt(doc)
            elif doc["kind"] == "oauth_client_credentials":
                OAuthHttpIssuer(timeout=CLIENT_TIMEOUT).token(doc)
            elif doc["kind"] == "api_key":
                ApiKeyHttpIssuer(timeout=CLIENT_TIMEOUT).whoami(doc)
            elif doc["kind"] == "basic_token":
                BasicTokenHttpIssuer(timeout=CLIENT_TIMEOUT).whoami(doc)
            elif doc["kind"] == "snowflake_key_pair":
                SnowflakeHttpClient(timeout=CLIENT_TIMEOUT).current_user(doc)
            else:
                # Fresh clients: the ones in ``deps`` may carry injected faults.
                keys = self.session.client("iam").list_access_keys(UserName=doc["user_name"])
                active = {
                    k["AccessKeyId"] for k in keys["AccessKeyMetadata"] if k["Status"] == "Active"
                }
                sts = boto3.Session(
                    aws_access_key_id=doc["access_key_id"],
                    aws_secret_access_key=doc["secret_access_key"],
                    region_name=REGION,
                ).client("sts")
                identity = sts.get_caller_identity()["Arn"]
                return doc["access_key_id"] in active and identity.endswith(f"/{IAM_USER}")
        except IssuerError:
            return False
        return True

    def create_secret(self, doc: dict[str, Any], *, enable_rotation: bool = True) -> str:
        name = f"dev/quote-to-order/cred-{doc['kind'].replace('_', '-')}"
        self.arn = self.sm.create_secret(Name=name, SecretString=json.dumps(doc))["ARN"]
        self.kind = doc["kind"]
        if enable_rotation:
            # Moto has no Lambda here: RotateImmediately=False only turns rotation on
            # (it copies the value into a fresh AWSCURRENT version).
            self.sm.rotate_secret(
                SecretId=self.arn,
                RotationRules={"AutomaticallyAfterDays": 30},
                RotateImmediately=False,
            )
        return self.arn


def initial_doc(world: World, kind: str) -> dict[str, Any]:
    """An enrolled credential of ``kind`` the fake (or IAM) already accepts."""
    fake = world.fake
    if kind == "salesforce_jwt_bearer":
        private_pem, certificate_pem = generate_key_and_certificate(f"{USERNAME} rotation a")
        fake.apps[APP_A] = certificate_pem
        return {
            "kind": kind,
            "login_url": fake.login_url,
            "username": USERNAME,
            "client_id": APP_A,
            "client_ids": {"a": APP_A, "b": APP_B},
            "slot": "a",
            "private_key_pem": private_pem,
            "certificate_pem": certificate_pem,
            "admin_url": f"{fake.base_url}/sf-admin",
        }
    if kind == "oauth_client_credentials":
        fake.add_oauth_secret(OAUTH_CLIENT, "sec-initial", std_secrets.token_urlsafe(32))
        return {
            "kind": kind,
            "token_url": f"{fake.base_url}/oauth/token",
            "client_id": OAUTH_CLIENT,
            "client_secret": fake.oauth_secrets["sec-initial"],
            "client_secret_id": "sec-initial",
            "admin_url": f"{fake.base_url}/oauth-admin",
        }
    if kind == "api_key":
        fake.api_keys["key-initial"] = std_secrets.token_urlsafe(32)
        return {
            "kind": kind,
            "base_url": f"{fake.base_url}/keys",
            "key_id": "key-initial",
            "api_key": fake.api_keys["key-initial"],
        }
    if kind == "snowflake_key_pair":
        return fake.enrol({"kind": kind, "account": SNOWFLAKE_ACCOUNT, "user": SNOWFLAKE_USER})
    if kind == "basic_token":
        return fake.enrol({"kind": kind, "username": f"{USERNAME}/token"})
    world.deps.iam.create_user(UserName=IAM_USER)
    created = world.deps.iam.create_access_key(UserName=IAM_USER)["AccessKey"]
    return {
        "kind": kind,
        "user_name": IAM_USER,
        "access_key_id": created["AccessKeyId"],
        "secret_access_key": created["SecretAccessKey"],
    }


@pytest.fixture
def world(aws: boto3.Session, fake: FakeSystems) -> World:
    """Clients pointed at moto and the fakes, with instant IAM retry sleeps."""
    sleeps: list[float] = []

    def sts_for_key(access_key_id: str, secret_access_key: str) -> Any:
        return boto3.Session(
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name=REGION,
        ).client("sts")

    deps = handler.Dependencies(
        secretsmanager=aws.client("secretsmanager"),
        iam=aws.client("iam"),
        sts_for_key=sts_for_key,
        salesforce=SalesforceHttpClient(timeout=CLIENT_TIMEOUT),
        oauth=OAuthHttpIssuer(timeout=CLIENT_TIMEOUT),
        api_keys=ApiKeyHttpIssuer(timeout=CLIENT_TIMEOUT),
        sleep=sleeps.append,
        snowflake=SnowflakeHttpClient(timeout=CLIENT_TIMEOUT),
        basic_tokens=BasicTokenHttpIssuer(timeout=CLIENT_TIMEOUT),
    )
    return World(aws, fake, deps, sleeps=sleeps)


@contextmanager
def short_timeouts(world: World, seconds: float) -> Iterator[None]:
    """Every issuer client of ``world.deps`` times out after ``seconds`` inside the block."""
    deps = world.deps
    clients: list[Any] = [deps.salesforce, deps.oauth, deps.api_keys, deps.snowflake]
    clients.append(deps.basic_tokens)
    for client in clients:
        client.http.timeout = seconds
    try:
        yield
    finally:
        for client in clients:
            client.http.timeout = CLIENT_TIMEOUT


def fail_aws_call(
    client: Any, operation: str, *, nth: int = 1, times: int = 1, code: str = "InternalFailure"
) -> None:
    """Make the ``nth`` call (and ``times - 1`` after it) of ``operation`` on ``client`` fail."""
    from botocore.exceptions import ClientError

    seen = {"n": 0}

    def boom(**_: Any) -> None:
        seen["n"] += 1
        if nth <= seen["n"] < nth + times:
            raise ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)

    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-call.{service}.{operation}", boom)


# Tests of the fakes: a fake that accepts anything would make every rotation test pass.


def test_fake_salesforce_rejects_assertion_signed_by_another_key(world: World) -> None:
    doc = initial_doc(world, "salesforce_jwt_bearer")
    doc["private_key_pem"], _ = generate_key_and_certificate("someone else")
    assert not world.accepted(doc)


def test_fake_salesforce_rejects_exp_beyond_three_minutes(world: World) -> None:
    doc = initial_doc(world, "salesforce_jwt_bearer")
    late = build_jwt_assertion(doc, now=time.time() + 600)
    response = SalesforceHttpClient().http.session.post(
        f"{doc['login_url']}/services/oauth2/token",
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": late},
        timeout=5,
    )
    assert response.status_code == 400


def test_fake_oauth_rejects_unknown_client_secret(world: World) -> None:
    doc = initial_doc(world, "oauth_client_credentials")
    assert world.accepted(doc)
    assert not world.accepted({**doc, "client_secret": "not-the-secret"})


def test_fake_api_key_service_rejects_unknown_key(world: World) -> None:
    doc = initial_doc(world, "api_key")
    assert world.accepted(doc)
    assert not world.accepted({**doc, "api_key": "not-the-key"})


def test_moto_sts_does_not_identify_an_unknown_key_as_the_user(world: World) -> None:
    doc = initial_doc(world, "iam_access_key")
    assert world.accepted(doc)
    assert not world.accepted({**doc, "access_key_id": "AKIAUNKNOWN0000000000"})
