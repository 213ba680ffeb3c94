"""Small interfaces to the systems that issue credentials, with HTTP implementations.

Each interface is the least the rotation needs; tests and the rehearsal point the
HTTP implementations at fakes on 127.0.0.1. Errors carry the system, operation,
URL and status, never a request or response body (either may hold a secret).

HTTP contracts:

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

Salesforce and Snowflake, whose keys rotate by slots, are in ``slot_clients.py``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Protocol

import requests

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


class Http:
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

    def access_token(self, op: str, response: requests.Response) -> str:
        """The ``access_token`` of a 200 token response, or a safe ``IssuerError``."""
        if response.status_code != 200:
            raise self.fail(op, response)
        token = self.json(op, response).get("access_token")
        if not isinstance(token, str) or not token:
            raise IssuerError(f"{self.system}: {op} answered without an access_token")
        return token

    # An issuer's collection of credentials (client secrets, API keys, API tokens): POST
    # issues one labelled ``{"label"}`` answering ``{"id", <value field>}``, GET lists them
    # under a field, GET and DELETE of ``{url}/{id}`` look one up and revoke it.

    def issue(
        self, op: str, url: str, headers: dict[str, str], *, label: str, value: str
    ) -> IssuedSecret:
        """Ask the collection at ``url`` for a new credential; the current stays valid."""
        response = self.call(op, "POST", url, headers=headers, json={"label": label})
        if response.status_code not in (200, 201):
            raise self.fail(op, response)
        body = self.json(op, response)
        if not isinstance(body.get("id"), str) or not isinstance(body.get(value), str):
            raise IssuerError(f"{self.system}: {op} answered without id and {value}")
        return IssuedSecret(body["id"], body[value])

    def listing(
        self, op: str, url: str, headers: dict[str, str], field: str
    ) -> list[tuple[str, str]]:
        """(id, label) of every credential the collection at ``url`` holds."""
        response = self.call(op, "GET", url, headers=headers)
        if response.status_code != 200:
            raise self.fail(op, response)
        return _labelled(self.json(op, response).get(field))

    def holds(self, op: str, url: str, headers: dict[str, str]) -> bool:
        """Whether the credential at ``url`` exists."""
        response = self.call(op, "GET", url, headers=headers)
        if response.status_code not in (200, 404):
            raise self.fail(op, response)
        return response.status_code == 200

    def revoke(self, op: str, url: str, headers: dict[str, str]) -> None:
        """Revoke the credential at ``url``; an already revoked one is fine."""
        response = self.call(op, "DELETE", url, headers=headers)
        if response.status_code not in (200, 204, 404):
            raise self.fail(op, response)


def _labelled(items: Any) -> list[tuple[str, str]]:
    """``[{"id", "label"}, ...]`` from a listing, as (id, label); malformed entries skipped."""
    return [
        (str(item["id"]), str(item.get("label") or ""))
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, dict) and isinstance(item.get("id"), str)
    ]


class OAuthHttpIssuer:
    """An OAuth 2.0 authorization server with a client-secret management API."""

    def __init__(self, session: requests.Session | None = None, timeout: Any = DEFAULT_TIMEOUT):
        self.http = Http("oauth issuer", session, timeout)

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
        return self.http.access_token(op, response)

    def _url(self, current: dict[str, Any], secret_id: str = "") -> str:
        base = f"{current['admin_url'].rstrip('/')}/clients/{current['client_id']}/secrets"
        return f"{base}/{secret_id}" if secret_id else base

    def _auth(self, current: dict[str, Any]) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(current)}"}

    def create_secret(self, current: dict[str, Any], label: str = "") -> IssuedSecret:
        """Ask for a second client secret, labelled ``label``; the current one stays valid."""
        op = f"create client secret for {current['client_id']}"
        return self.http.issue(
            op, self._url(current), self._auth(current), label=label, value="secret"
        )

    def list_secrets(self, current: dict[str, Any]) -> list[tuple[str, str]]:
        """(id, label) of every client secret the client holds."""
        op = f"list client secrets of {current['client_id']}"
        return self.http.listing(op, self._url(current), self._auth(current), "secrets")

    def secret_exists(self, current: dict[str, Any], secret_id: str) -> bool:
        """Return whether the issuer holds client secret ``secret_id``."""
        op = f"look up client secret {secret_id}"
        return self.http.holds(op, self._url(current, secret_id), self._auth(current))

    def revoke_secret(self, current: dict[str, Any], secret_id: str) -> None:
        """Revoke client secret ``secret_id``; an already revoked one is fine."""
        op = f"revoke client secret {secret_id}"
        self.http.revoke(op, self._url(current, secret_id), self._auth(current))


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
        self.http = Http(self.SYSTEM, session, timeout)

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
        return self.http.issue(
            op, self._base(current), self._auth(current), label=label, value="key"
        )

    def list_keys(self, current: dict[str, Any]) -> list[tuple[str, str]]:
        """(id, label) of every key the issuer holds for this account."""
        return self.http.listing(
            f"list {self.WHAT}s", self._base(current), self._auth(current), "keys"
        )

    def key_exists(self, current: dict[str, Any], key_id: str) -> bool:
        """Return whether the issuer holds key ``key_id``."""
        op = f"look up {self.WHAT} {key_id}"
        return self.http.holds(op, f"{self._base(current)}/{key_id}", self._auth(current))

    def revoke_key(self, current: dict[str, Any], key_id: str) -> None:
        """Revoke key ``key_id``; an already revoked one is fine."""
        op = f"revoke {self.WHAT} {key_id}"
        self.http.revoke(op, f"{self._base(current)}/{key_id}", self._auth(current))


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
