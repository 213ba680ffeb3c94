"""Sync functions authenticate to Salesforce with the JWT bearer flow from their secret."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_httpserver import HTTPServer
from test_sync_harness import create_secret
from werkzeug import Request, Response

from integration_sync.credentials import SecretAuth
from integration_sync.errors import ConfigurationError


def rsa_key() -> tuple[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, key.public_key()


def jwt_secret(login_url: str, private_key_pem: str) -> dict[str, Any]:
    return {
        "kind": "salesforce_jwt_bearer",
        "login_url": login_url,
        "client_id": "3MVG9-lead-to-account-a",
        "username": "integration.lead-to-account@northwind.example",
        "private_key_pem": private_key_pem,
        "certificate_pem": "-----BEGIN CERTIFICATE-----\n...",
    }


def test_jwt_bearer_assertion_is_signed_and_exchanged_for_a_token(
    aws: None, httpserver: HTTPServer
) -> None:
    pem, public_key = rsa_key()
    login_url = httpserver.url_for("/").rstrip("/")
    seen: list[dict[str, Any]] = []

    def token_endpoint(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.get_data(as_text=True)).items()}
        assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
        claims = jwt.decode(form["assertion"], public_key, algorithms=["RS256"], audience=login_url)
        seen.append(claims)
        return Response(
            '{"access_token": "00Dxx!session", "instance_url": "x"}',
            200,
            content_type="application/json",
        )

    httpserver.expect_request("/services/oauth2/token", method="POST").respond_with_handler(
        token_endpoint
    )
    arn = create_secret("dev-lead-to-account-cred-salesforce-jwt", jwt_secret(login_url, pem))
    auth = SecretAuth(arn)

    assert auth.headers() == {"Authorization": "Bearer 00Dxx!session"}
    assert auth.headers() == {"Authorization": "Bearer 00Dxx!session"}  # cached: one exchange
    assert len(seen) == 1
    claims = seen[0]
    assert claims["iss"] == "3MVG9-lead-to-account-a"
    assert claims["sub"] == "integration.lead-to-account@northwind.example"
    # Salesforce accepts assertions that expire within 3 minutes.
    assert 0 < claims["exp"] - time.time() <= 180


def test_unusable_private_key_is_reported_without_echoing_it(
    aws: None, httpserver: HTTPServer
) -> None:
    broken = "-----BEGIN PRIVATE KEY-----\nnot-a-real-key-material-xyz\n-----END PRIVATE KEY-----"
    arn = create_secret(
        "dev-lead-to-account-cred-salesforce-jwt", jwt_secret(httpserver.url_for("/"), broken)
    )
    with pytest.raises(ConfigurationError) as caught:
        SecretAuth(arn).headers()
    assert "cannot sign RS256" in str(caught.value)
    assert "not-a-real-key-material-xyz" not in str(caught.value)
