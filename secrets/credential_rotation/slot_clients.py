"""Salesforce and Snowflake as key rotation needs them: the slot strategies' clients.

Errors, timeouts and the HTTP session are those of ``clients.py``.

HTTP contracts:

Salesforce (``SalesforceHttpClient``)
    ``POST {login_url}/services/oauth2/token`` with ``grant_type=urn:ietf:params:
    oauth:grant-type:jwt-bearer`` and ``assertion=<RS256 JWT>`` (Salesforce Help,
    "OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration").
    ``PUT {admin_url}/connected-apps/{client_id}/certificate`` with JSON
    ``{"certificate": "<PEM>"}`` and the bearer token of the current credential.
    Salesforce has no REST call that replaces a connected app's certificate (it is
    Metadata API ``ConnectedApp.oauthConfig.certificate``), so ``admin_url`` is the
    org's certificate-deployment endpoint that wraps that deploy.

Snowflake (``SnowflakeHttpClient``)
    ``POST {account_url}/api/v2/statements`` with ``{"statement": ...}``, a KEYPAIR_JWT
    bearer token and ``X-Snowflake-Authorization-Token-Type: KEYPAIR_JWT`` (Snowflake SQL
    API, "Authenticating to the server"); answers ``{"data": [[...]]}``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Protocol

import jwt
import requests

from credential_rotation.clients import DEFAULT_TIMEOUT, Http, IssuerError
from credential_rotation.keys import private_key, public_key_pem

# Salesforce rejects JWT bearer assertions whose exp is more than 3 minutes ahead
# (Salesforce Help, "OAuth 2.0 JWT Bearer Flow": "exp ... within 3 minutes").
JWT_LIFETIME_SECONDS = 180
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class SalesforceClient(Protocol):
    """What rotation needs from Salesforce."""

    def exchange_jwt(self, credential: dict[str, Any]) -> str:
        """Run the JWT bearer flow with ``credential``; return an access token."""
        ...

    def upload_certificate(
        self, *, current: dict[str, Any], client_id: str, certificate_pem: str
    ) -> None:
        """Install ``certificate_pem`` on app ``client_id``, authenticated as ``current``."""
        ...


def build_jwt_assertion(credential: dict[str, Any], *, now: float | None = None) -> str:
    """Return the RS256 JWT bearer assertion for a ``salesforce_jwt_bearer`` credential."""
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": credential["client_id"],
        "sub": credential["username"],
        "aud": credential["login_url"].rstrip("/"),
        "exp": issued + JWT_LIFETIME_SECONDS,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, private_key(credential["private_key_pem"]), algorithm="RS256")


class SalesforceHttpClient:
    """Salesforce over HTTPS: JWT bearer token exchange and certificate upload."""

    def __init__(self, session: requests.Session | None = None, timeout: Any = DEFAULT_TIMEOUT):
        self.http = Http("salesforce", session, timeout)

    def exchange_jwt(self, credential: dict[str, Any]) -> str:
        """Run the JWT bearer flow with ``credential``; return an access token."""
        op = f"JWT bearer token exchange for app {credential['client_id']}"
        response = self.http.call(
            op,
            "POST",
            f"{credential['login_url'].rstrip('/')}/services/oauth2/token",
            data={"grant_type": JWT_BEARER_GRANT, "assertion": build_jwt_assertion(credential)},
        )
        return self.http.access_token(op, response)

    def upload_certificate(
        self, *, current: dict[str, Any], client_id: str, certificate_pem: str
    ) -> None:
        """Install ``certificate_pem`` on app ``client_id``, authenticated as ``current``."""
        token = self.exchange_jwt(current)
        op = f"certificate upload to app {client_id}"
        response = self.http.call(
            op,
            "PUT",
            f"{current['admin_url'].rstrip('/')}/connected-apps/{client_id}/certificate",
            json={"certificate": certificate_pem},
            headers={"Authorization": f"Bearer {token}"},
        )
        if response.status_code not in (200, 204):
            raise self.http.fail(op, response)


class SnowflakeClient(Protocol):
    """The Snowflake SQL API calls a key-pair rotation makes."""

    def execute(self, credential: dict[str, Any], statement: str) -> None: ...

    def current_user(self, credential: dict[str, Any]) -> str: ...


# Snowflake key-pair JWTs live at most one hour (Snowflake docs, "Key-pair authentication":
# exp within 60 minutes of iat); rotation signs a fresh one per call.
SNOWFLAKE_JWT_LIFETIME_SECONDS = 300


def snowflake_qualified_names(credential: dict[str, Any]) -> tuple[str, str]:
    """(account, user) upper-cased as the JWT names them; a locator's '.' becomes '-'."""
    account = str(credential["account"]).split(".")[0].upper()
    return account, str(credential["user"]).upper()


def build_snowflake_jwt(credential: dict[str, Any], *, now: float | None = None) -> str:
    """The KEYPAIR_JWT of a ``snowflake_key_pair`` credential (Snowflake SQL API docs,
    "Authenticating to the server": iss ``ACCOUNT.USER.SHA256:<fingerprint>``, sub
    ``ACCOUNT.USER``, RS256)."""
    issued = int(now if now is not None else time.time())
    account, user = snowflake_qualified_names(credential)
    claims = {
        "iss": f"{account}.{user}.{credential['public_key_fingerprint']}",
        "sub": f"{account}.{user}",
        "iat": issued,
        "exp": issued + SNOWFLAKE_JWT_LIFETIME_SECONDS,
    }
    return jwt.encode(claims, private_key(credential["private_key_pem"]), algorithm="RS256")


class SnowflakeHttpClient:
    """Snowflake's SQL API, authenticated with a key-pair JWT."""

    def __init__(self, session: requests.Session | None = None, timeout: Any = DEFAULT_TIMEOUT):
        self.http = Http("snowflake", session, timeout)

    def _post(self, op: str, credential: dict[str, Any], statement: str) -> dict[str, Any]:
        response = self.http.call(
            op,
            "POST",
            f"{str(credential['account_url']).rstrip('/')}/api/v2/statements",
            json={"statement": statement, "timeout": 60},
            headers={
                "Authorization": f"Bearer {build_snowflake_jwt(credential)}",
                "X-Snowflake-Authorization-Token-Type": "KEYPAIR_JWT",
                "Accept": "application/json",
            },
        )
        if response.status_code != 200:
            raise self.http.fail(op, response)
        return self.http.json(op, response)

    def execute(self, credential: dict[str, Any], statement: str) -> None:
        """Run one statement as the credential's user (e.g. ALTER USER ... SET RSA_PUBLIC_KEY_2)."""
        self._post(statement.split(" = ")[0][:60], credential, statement)

    def current_user(self, credential: dict[str, Any]) -> str:
        """Sign in with the credential's key and return the user Snowflake sees."""
        body = self._post("SELECT CURRENT_USER()", credential, "SELECT CURRENT_USER()")
        data = body.get("data")
        if not (isinstance(data, list) and data and isinstance(data[0], list) and data[0]):
            raise IssuerError("snowflake: SELECT CURRENT_USER() answered without a row")
        return str(data[0][0])


def set_public_key_statement(credential: dict[str, Any]) -> str:
    """``ALTER USER "<user>" SET RSA_PUBLIC_KEY[_2] = '<base64 DER>'`` for the credential's
    key in its slot (Snowflake docs, "Key-pair authentication": assign the public key
    without its PEM delimiters)."""
    slot_property = "RSA_PUBLIC_KEY" if credential["slot"] == "1" else "RSA_PUBLIC_KEY_2"
    body = "".join(public_key_pem(credential["private_key_pem"]).strip().splitlines()[1:-1])
    return f"ALTER USER \"{credential['user']}\" SET {slot_property} = '{body}'"
