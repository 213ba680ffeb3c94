"""Sync functions authenticate with the newer credential kinds, checked by the fake systems.

The fake target (``provisioner.rehearsal.fakes``) verifies each scheme on its own: HTTP Basic
API tokens, NetSuite TBA's OAuth 1.0a HMAC-SHA256 signature, and Snowflake's KEYPAIR_JWT
against the user's public-key slots.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from test_sync_harness import create_secret

from integration_sync.clients import ApiClient, TargetApi
from integration_sync.credentials import SecretAuth, oauth1_header
from integration_sync.errors import TransientError
from provisioner.rehearsal.fakes import FakeSystems


@pytest.fixture
def fake() -> Iterator[FakeSystems]:
    with FakeSystems() as systems:
        yield systems


def _upsert(fake: FakeSystems, doc: dict[str, Any], *, max_attempts: int = 3) -> int:
    api = ApiClient(
        fake.target_url,
        auth=SecretAuth(create_secret("hw-order-cred", doc)),
        max_attempts=max_attempts,
    )
    return TargetApi(api).upsert("hw-order", "externalId", "HW-0042", {"serial": "SN-1"})


@pytest.mark.parametrize(
    "bootstrap",
    [
        {"kind": "basic_token", "username": "integration@acme.example/token"},
        {"kind": "netsuite_tba", "account_id": "1234567_SB1"},
    ],
    ids=lambda d: d["kind"],
)
def test_target_accepts_the_write_signed_with_the_credential(
    aws: None, fake: FakeSystems, bootstrap: dict[str, Any]
) -> None:
    doc = fake.enrol(bootstrap)

    _upsert(fake, doc)

    assert [(w.object, w.id, w.body) for w in fake.writes] == [
        ("hw-order", "HW-0042", {"serial": "SN-1"})
    ]


@pytest.mark.parametrize(
    ("bootstrap", "field"),
    [
        ({"kind": "basic_token", "username": "integration@acme.example/token"}, "api_token"),
        ({"kind": "netsuite_tba", "account_id": "1234567_SB1"}, "token_secret"),
    ],
    ids=["basic_token", "netsuite_tba"],
)
def test_a_wrong_secret_is_refused_by_the_target(
    aws: None, fake: FakeSystems, bootstrap: dict[str, Any], field: str
) -> None:
    doc = {**fake.enrol(bootstrap), field: "not-the-issued-secret-0123456789"}

    with pytest.raises(TransientError, match="401"):
        _upsert(fake, doc, max_attempts=1)
    assert not fake.writes


def test_oauth1_signature_covers_method_url_and_query() -> None:
    secret = {
        "account_id": "1234567_SB1",
        "consumer_key": "ck",
        "consumer_secret": "cs",
        "token_id": "tk",
        "token_secret": "ts",
    }
    fixed: dict[str, Any] = {"nonce": "n0nce", "timestamp": 1700000000}

    def signature(method: str, url: str, params: dict[str, str] | None = None) -> str:
        header = oauth1_header(secret, method, url, params, **fixed)
        return header.split('oauth_signature="')[1].split('"')[0]

    base = signature("PATCH", "https://1234567-sb1.suitetalk.api.netsuite.com/record/v1/x")
    assert base != signature("GET", "https://1234567-sb1.suitetalk.api.netsuite.com/record/v1/x")
    assert base != signature("PATCH", "https://1234567-sb1.suitetalk.api.netsuite.com/record/v1/y")
    assert base != signature(
        "PATCH", "https://1234567-sb1.suitetalk.api.netsuite.com/record/v1/x", {"q": "1"}
    )
    assert 'realm="1234567_SB1"' in oauth1_header(secret, "GET", "https://x.example/", **fixed)


def test_snowflake_key_pair_jwt_is_accepted_by_the_users_key(aws: None, fake: FakeSystems) -> None:
    import requests

    doc = fake.enrol({"kind": "snowflake_key_pair", "account": "xy12345", "user": "LOADER"})
    headers = SecretAuth(create_secret("warehouse-cred", doc)).headers("POST", fake.snowflake_url)

    answer = requests.post(
        f"{fake.snowflake_url}/api/v2/statements",
        json={"statement": "SELECT CURRENT_USER()"},
        headers=headers,
        timeout=5,
    )

    assert headers["X-Snowflake-Authorization-Token-Type"] == "KEYPAIR_JWT"
    assert answer.status_code == 200 and answer.json()["data"] == [["LOADER"]]
