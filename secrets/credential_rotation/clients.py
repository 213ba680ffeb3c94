"""Small interfaces to the systems that issue credentials, with HTTP implementations.

Each interface is the least the rotation needs; tests and the rehearsal point the
HTTP implementations at fakes on 127.0.0.1. Errors carry the system, operation,
URL and status, never a request or response body (either may hold a secret).

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

OAuth client credentials issuer (``OAuthHttpIssuer``)
    ``POST {token_url}`` with ``grant_type=client_credentials`` and
    ``client_secret_post`` authentication (RFC 6749 sections 2.3.1 and 4.4).
    ``POST|GET|DELETE {admin_url}/clients/{client_id}/secrets[/{id}]`` with the
    bearer token of the current secret; POST takes ``{"label": ...}`` and answers
    ``{"id": ..., "secret": ...}``; GET of the collection answers
    ``{"secrets": [{"id": ..., "label": ...}]}``.

API key issuer (``ApiKeyHttpIssuer``)
    ``GET {admin_url}/api-keys/current`` answers ``{"id": ...}`` for the key in the
    request header; ``POST|GET|DELETE {admin_url}/api-keys[/{id}]`` authenticated by
    the current key; POST takes ``{"label": ...}`` and answers ``{"id": ..., "key": ...}``;
    GET of the collection answers ``{"keys": [{"id": ..., "label": ...}]}``.

Basic token issuer (``BasicTokenHttpIssuer``)
    As the API key issuer under ``{admin_url}/api-tokens``, the token presented as the
    password of HTTP Basic ``username:token`` (Zendesk: ``POST /api/v2/api_tokens``).

Snowflake (``SnowflakeHttpClient``)
    ``POST {account_url}/api/v2/statements`` with ``{"statement": ...}``, a KEYPAIR_JWT
    bearer token and ``X-Snowflake-Authorization-Token-Type: KEYPAIR_JWT`` (Snowflake SQL
    API, "Authenticating to the server"); answers ``{"data": [[...]]}``.
"""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
import requests

from credential_rotation.keys import public_key_pem

# Salesforce rejects JWT bearer assertions whose exp is more than 3 minutes ahead
# (Salesforce Help, "OAuth 2.0 JWT Bearer Flow": "exp ... within 3 minutes").
JWT_LIFETIME_SECONDS = 180
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# (connect, read) seconds. Secrets Manager waits for the rotation function, whose
# timeout is set by components; every call must finish well inside it.
DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 10.0)


class IssuerError(RuntimeError):
    """An issuing system refused or failed a call; the message is safe to log."""


class IssuerUnavailable(IssuerError):
    """The issuing system timed out, was unreachable, or answered 5xx; retry later."""


class CredentialRejected(IssuerError):
    """The issuing system did not accept a credential."""


@dataclass(frozen=True)
class IssuedSecret:
    """A credential an issuer just created: its id at the issuer and its value."""

    id: str
    value: str


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


class OAuthIssuer(Protocol):
    """What rotation needs from an OAuth 2.0 authorization server."""

    def token(self, credential: dict[str, Any]) -> str: ...

    def create_secret(self, current: dict[str, Any], label: str = "") -> IssuedSecret: ...

    def list_secrets(self, current: dict[str, Any]) -> list[tuple[str, str]]: ...

    def secret_exists(self, current: dict[str, Any], secret_id: str) -> bool: ...

    def revoke_secret(self, current: dict[str, Any], secret_id: str) -> None: ...


class ApiKeyIssuer(Protocol):
    """What rotation needs from a system that issues API keys."""

    def whoami(self, credential: dict[str, Any]) -> str: ...

    def create_key(self, current: dict[str, Any], label: str = "") -> IssuedSecret: ...

    def list_keys(self, current: dict[str, Any]) -> list[tuple[str, str]]: ...

    def key_exists(self, current: dict[str, Any], key_id: str) -> bool: ...

    def revoke_key(self, current: dict[str, Any], key_id: str) -> None: ...


class _Http:
    """A requests session that turns transport failures into safe ``IssuerError``s."""

    def __init__(
        self,
        system: str,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.system = system
        self.session = session or requests.Session()
        self.timeout = timeout

    def call(self, op: str, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send one request; raise ``IssuerUnavailable`` on timeout, network error or 5xx."""
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.Timeout:
            raise IssuerUnavailable(
                f"{self.system}: {op} timed out after {self.timeout}s ({method} {url})"
            ) from None
        except requests.RequestException as exc:
            raise IssuerUnavailable(
                f"{self.system}: {op} failed to connect ({method} {url}): {type(exc).__name__}"
            ) from None
        if response.status_code >= 500:
            raise IssuerUnavailable(
                f"{self.system}: {op} answered HTTP {response.status_code} ({method} {url})"
            )
        return response

    def fail(self, op: str, response: requests.Response) -> IssuerError:
        """Build the error for an unexpected 4xx, keeping only the OAuth ``error`` code."""
        code = ""
        try:
            body = response.json()
            if isinstance(body, dict) and isinstance(body.get("error"), str):
                code = f" error={body['error'][:40]}"
        except ValueError:
            pass
        kind = CredentialRejected if response.status_code in (400, 401, 403) else IssuerError
        return kind(
            f"{self.system}: {op} answered HTTP {response.status_code}{code} "
            f"({response.request.method} {response.url})"
        )

    def json(self, op: str, response: requests.Response) -> dict[str, Any]:
        """Return the response body as a JSON object or raise a safe ``IssuerError``."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise IssuerError(f"{self.system}: {op} answered something other than a JSON object")
        return body


def _labelled(items: Any) -> list[tuple[str, str]]:
    """``[{"id", "label"}, ...]`` from a listing, as (id, label); malformed entries skipped."""
    return [
        (str(item["id"]), str(item.get("label") or ""))
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, dict) and isinstance(item.get("id"), str)
    ]


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
    return jwt.encode(claims, credential["private_key_pem"], algorithm="RS256")


class SalesforceHttpClient:
    """Salesforce over HTTPS: JWT bearer token exchange and certificate upload."""

    def __init__(self, session: requests.Session | None = None, timeout: Any = DEFAULT_TIMEOUT):
        self.http = _Http("salesforce", session, timeout)

    def exchange_jwt(self, credential: dict[str, Any]) -> str:
        """Run the JWT bearer flow with ``credential``; return an access token."""
        op = f"JWT bearer token exchange for app {credential['client_id']}"
        response = self.http.call(
            op,
            "POST",
            f"{credential['login_url'].rstrip('/')}/services/oauth2/token",
            data={"grant_type": JWT_BEARER_GRANT, "assertion": build_jwt_assertion(credential)},
        )
        if response.status_code != 200:
            raise self.http.fail(op, response)
        token = self.http.json(op, response).get("access_token")
        if not isinstance(token, str) or not token:
            raise IssuerError(f"salesforce: {op} answered without an access_token")
        return token

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


class OAuthHttpIssuer:
    """An OAuth 2.0 authorization server with a client-secret management API."""

    def __init__(self, session: requests.Session | None = None, timeout: Any = DEFAULT_TIMEOUT):
        self.http = _Http("oauth issuer", session, timeout)

    def token(self, credential: dict[str, Any]) -> str:
        """Run the client credentials grant with ``credential``; return an access token."""
        op = f"client credentials grant for {credential['client_id']}"
        data = {
            "grant_type": "client_credentials",
            "client_id": credential["client_id"],
            "client_secret": credential["client_secret"],
        }
        if credential.get("scope"):
            data["scope"] = credential["scope"]
        response = self.http.call(op, "POST", credential["token_url"], data=data)
        if response.status_code != 200:
            raise self.http.fail(op, response)
        token = self.http.json(op, response).get("access_token")
        if not isinstance(token, str) or not token:
            raise IssuerError(f"oauth issuer: {op} answered without an access_token")
        return token

    def _url(self, current: dict[str, Any], secret_id: str = "") -> str:
        base = f"{current['admin_url'].rstrip('/')}/clients/{current['client_id']}/secrets"
        return f"{base}/{secret_id}" if secret_id else base

    def _auth(self, current: dict[str, Any]) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(current)}"}

    def create_secret(self, current: dict[str, Any], label: str = "") -> IssuedSecret:
        """Ask for a second client secret, labelled ``label``; the current one stays valid."""
        op = f"create client secret for {current['client_id']}"
        response = self.http.call(
            op, "POST", self._url(current), headers=self._auth(current), json={"label": label}
        )
        if response.status_code not in (200, 201):
            raise self.http.fail(op, response)
        body = self.http.json(op, response)
        if not isinstance(body.get("id"), str) or not isinstance(body.get("secret"), str):
            raise IssuerError(f"oauth issuer: {op} answered without id and secret")
        return IssuedSecret(body["id"], body["secret"])

    def list_secrets(self, current: dict[str, Any]) -> list[tuple[str, str]]:
        """(id, label) of every client secret the client holds."""
        op = f"list client secrets of {current['client_id']}"
        response = self.http.call(op, "GET", self._url(current), headers=self._auth(current))
        if response.status_code != 200:
            raise self.http.fail(op, response)
        return _labelled(self.http.json(op, response).get("secrets"))

    def secret_exists(self, current: dict[str, Any], secret_id: str) -> bool:
        """Return whether the issuer holds client secret ``secret_id``."""
        op = f"look up client secret {secret_id}"
        url = self._url(current, secret_id)
        response = self.http.call(op, "GET", url, headers=self._auth(current))
        if response.status_code not in (200, 404):
            raise self.http.fail(op, response)
        return response.status_code == 200

    def revoke_secret(self, current: dict[str, Any], secret_id: str) -> None:
        """Revoke client secret ``secret_id``; an already revoked one is fine."""
        op = f"revoke client secret {secret_id}"
        url = self._url(current, secret_id)
        response = self.http.call(op, "DELETE", url, headers=self._auth(current))
        if response.status_code not in (200, 204, 404):
            raise self.http.fail(op, response)


class ApiKeyHttpIssuer:
    """A system that issues API keys and lets a key create and revoke its siblings.

    Subclasses change the credential's field names (``SECRET``, ``ID``), the admin path
    and how the key is presented (``_auth``).
    """

    SECRET = "api_key"
    PATH = "api-keys"
    SYSTEM = "api key issuer"
    WHAT = "API key"

    def __init__(self, session: requests.Session | None = None, timeout: Any = DEFAULT_TIMEOUT):
        self.http = _Http(self.SYSTEM, session, timeout)

    @classmethod
    def _base(cls, credential: dict[str, Any]) -> str:
        base = str(credential.get("admin_url") or credential["base_url"]).rstrip("/")
        return f"{base}/{cls.PATH}"

    @classmethod
    def _auth(cls, credential: dict[str, Any]) -> dict[str, str]:
        return {str(credential.get("header") or "X-Api-Key"): credential[cls.SECRET]}

    def whoami(self, credential: dict[str, Any]) -> str:
        """Return the issuer's id for the key in ``credential`` (proves it is accepted)."""
        op = f"identify {self.WHAT}"
        response = self.http.call(
            op, "GET", f"{self._base(credential)}/current", headers=self._auth(credential)
        )
        if response.status_code != 200:
            raise self.http.fail(op, response)
        key_id = self.http.json(op, response).get("id")
        if not isinstance(key_id, str):
            raise IssuerError(f"{self.SYSTEM}: {op} answered without an id")
        return key_id

    def create_key(self, current: dict[str, Any], label: str = "") -> IssuedSecret:
        """Ask for a new key, labelled ``label``; the current one stays valid."""
        op = f"create {self.WHAT}"
        response = self.http.call(
            op, "POST", self._base(current), headers=self._auth(current), json={"label": label}
        )
        if response.status_code not in (200, 201):
            raise self.http.fail(op, response)
        body = self.http.json(op, response)
        if not isinstance(body.get("id"), str) or not isinstance(body.get("key"), str):
            raise IssuerError(f"{self.SYSTEM}: {op} answered without id and key")
        return IssuedSecret(body["id"], body["key"])

    def list_keys(self, current: dict[str, Any]) -> list[tuple[str, str]]:
        """(id, label) of every key the issuer holds for this account."""
        op = f"list {self.WHAT}s"
        response = self.http.call(op, "GET", self._base(current), headers=self._auth(current))
        if response.status_code != 200:
            raise self.http.fail(op, response)
        return _labelled(self.http.json(op, response).get("keys"))

    def key_exists(self, current: dict[str, Any], key_id: str) -> bool:
        """Return whether the issuer holds key ``key_id``."""
        op = f"look up {self.WHAT} {key_id}"
        url = f"{self._base(current)}/{key_id}"
        response = self.http.call(op, "GET", url, headers=self._auth(current))
        if response.status_code not in (200, 404):
            raise self.http.fail(op, response)
        return response.status_code == 200

    def revoke_key(self, current: dict[str, Any], key_id: str) -> None:
        """Revoke key ``key_id``; an already revoked one is fine."""
        op = f"revoke {self.WHAT} {key_id}"
        url = f"{self._base(current)}/{key_id}"
        response = self.http.call(op, "DELETE", url, headers=self._auth(current))
        if response.status_code not in (200, 204, 404):
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
    return jwt.encode(claims, credential["private_key_pem"], algorithm="RS256")


class SnowflakeHttpClient:
    """Snowflake's SQL API, authenticated with a key-pair JWT."""

    def __init__(self, session: requests.Session | None = None, timeout: Any = DEFAULT_TIMEOUT):
        self.http = _Http("snowflake", session, timeout)

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


class BasicTokenHttpIssuer(ApiKeyHttpIssuer):
    """A system whose API tokens, sent as HTTP Basic ``username:token``, manage their siblings.

    Zendesk's shape: ``{email}/token`` is the Basic user name and the API token its password;
    ``POST|GET|DELETE {admin_url}/api-tokens[/{id}]`` and ``GET {admin_url}/api-tokens/current``
    answer like the API key issuer.
    """

    SECRET = "api_token"
    ID = "token_id"
    PATH = "api-tokens"
    SYSTEM = "basic token issuer"

    @classmethod
    def _auth(cls, credential: dict[str, Any]) -> dict[str, str]:
        pair = f"{credential['username']}:{credential[cls.SECRET]}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def set_public_key_statement(credential: dict[str, Any]) -> str:
    """``ALTER USER "<user>" SET RSA_PUBLIC_KEY[_2] = '<base64 DER>'`` for the credential's
    key in its slot (Snowflake docs, "Key-pair authentication": assign the public key
    without its PEM delimiters)."""
    slot_property = "RSA_PUBLIC_KEY" if credential["slot"] == "1" else "RSA_PUBLIC_KEY_2"
    body = "".join(public_key_pem(credential["private_key_pem"]).strip().splitlines()[1:-1])
    return f"ALTER USER \"{credential['user']}\" SET {slot_property} = '{body}'"
