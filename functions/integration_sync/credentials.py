"""Authentication headers from a credential secret in Secrets Manager (cached, never logged).

Secrets are JSON with a ``kind`` (docs/contracts.md). Supported here:

* ``api_key``: ``api_key`` (or ``key``), optional ``header`` (default ``Authorization``,
  sent as ``Bearer <key>``; any other header gets the bare key);
* ``oauth_client_credentials``: ``client_id``, ``client_secret``, ``token_url``, optional
  ``scope``; the access token is fetched with the client-credentials grant (RFC 6749 4.4);
* ``salesforce_jwt_bearer``: ``login_url``, ``client_id``, ``username``, ``private_key_pem``;
  an access token is obtained with the OAuth 2.0 JWT bearer flow (RS256 assertion, ``exp``
  within 3 minutes, Salesforce Help "OAuth 2.0 JWT Bearer Flow for Server-to-Server
  Integration"); PyJWT and cryptography are imported only for such secrets;
* ``basic_token``: ``username`` and ``api_token`` as HTTP Basic credentials;
* ``netsuite_tba``: each request signed with OAuth 1.0a HMAC-SHA256 (``oauth1_header``);
* ``snowflake_key_pair``: a KEYPAIR_JWT signed with ``private_key_pem`` (cached 10 minutes);
* any secret with an ``access_token`` field (already exchanged token).

Example::

    auth = SecretAuth(os.environ["TARGET_CREDENTIAL_SECRET_ARN"])
    headers = auth.headers()
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from integration_sync.aws import secrets_provider
from integration_sync.errors import ConfigurationError, TransientError
from integration_sync.secret_age import report_age

# Secrets Manager keeps the previous version valid (AWSPREVIOUS) until the next rotation,
# so a value cached for 5 minutes still authenticates right after a rotation
# (Secrets Manager user guide, "Rotation strategies"); a 401 forces a fresh read anyway.
SECRET_MAX_AGE_SECONDS = 300
# Refresh OAuth tokens this long before they expire, to avoid racing the expiry mid-request.
TOKEN_EXPIRY_MARGIN_SECONDS = 60
# Salesforce rejects JWT bearer assertions whose exp is more than 3 minutes ahead.
JWT_LIFETIME_SECONDS = 180
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# Snowflake accepts key-pair JWTs for at most an hour ("Key-pair authentication"); a shorter
# one is re-signed often enough that a rotated key takes over within minutes.
SNOWFLAKE_JWT_LIFETIME_SECONDS = 600


class SecretAuth:
    """Builds auth headers for one system from its secret; ``refresh()`` after a 401."""

    def __init__(self, secret_arn: str, *, timeout: float = 10.0) -> None:
        self.secret_arn = secret_arn
        self.timeout = timeout
        self._force = False
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def headers(
        self, method: str = "GET", url: str = "", params: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """Return the headers that authenticate a request (empty without a secret).

        ``method``, ``url`` and ``params`` matter only to schemes that sign each request
        (NetSuite TBA); the others ignore them.
        """
        if not self.secret_arn:
            return {}
        secret = self._secret()
        kind = secret.get("kind", "")
        if "access_token" in secret:
            return {"Authorization": f"Bearer {secret['access_token']}"}
        try:
            if kind == "basic_token":
                pair = f"{secret['username']}:{secret['api_token']}".encode()
                return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
            if kind == "netsuite_tba":
                return {"Authorization": oauth1_header(secret, method, url, params)}
            if kind == "snowflake_key_pair":
                token = self._cached_token() or self._snowflake_jwt(secret)
                return {
                    "Authorization": f"Bearer {token}",
                    "X-Snowflake-Authorization-Token-Type": "KEYPAIR_JWT",
                }
        except KeyError as exc:
            raise ConfigurationError(f"secret {self.secret_arn} ({kind}) lacks {exc}") from None
        if kind == "api_key":
            key = secret.get("api_key") or secret.get("key")
            if not key:
                raise ConfigurationError(f"secret {self.secret_arn} (api_key) has no 'api_key'")
            header = secret.get("header", "Authorization")
            return {header: f"Bearer {key}" if header.lower() == "authorization" else str(key)}
        if kind in ("oauth_client_credentials", "salesforce_jwt_bearer"):
            token = self._cached_token() or (
                self._oauth_token(secret)
                if kind == "oauth_client_credentials"
                else self._jwt_bearer_token(secret)
            )
            return {"Authorization": f"Bearer {token}"}
        raise ConfigurationError(
            f"secret {self.secret_arn} has kind {kind!r}, which the sync functions cannot use "
            "for HTTP calls (supported: api_key, basic_token, netsuite_tba, "
            "oauth_client_credentials, salesforce_jwt_bearer, snowflake_key_pair, access_token)"
        )

    def secret(self) -> dict[str, Any]:
        """The secret's JSON (cached as for headers), for connectors that need its other
        fields (a Xero tenant id, a Snowflake warehouse); never log it."""
        return self._secret() if self.secret_arn else {}

    def refresh(self) -> None:
        """Forget the cached secret and token: the next call re-reads Secrets Manager."""
        with self._lock:
            self._force = True
            self._token = None

    def _secret(self) -> dict[str, Any]:
        with self._lock:
            force, self._force = self._force, False
        value = secrets_provider().get(
            self.secret_arn, transform="json", max_age=SECRET_MAX_AGE_SECONDS, force_fetch=force
        )
        # How old the credential is (hourly): a secret rotated by hand pages when overdue.
        report_age(self.secret_arn)
        if not isinstance(value, dict):
            raise ConfigurationError(f"secret {self.secret_arn} is not a JSON object")
        return value

    def _oauth_token(self, secret: dict[str, Any]) -> str:
        data = {"grant_type": "client_credentials"}
        if secret.get("scope"):
            data["scope"] = str(secret["scope"])
        try:
            return self._token_exchange(
                secret["token_url"], data, auth=(secret["client_id"], secret["client_secret"])
            )
        except KeyError as exc:
            raise ConfigurationError(f"secret {self.secret_arn} lacks {exc}") from exc

    def _cached_token(self) -> str | None:
        with self._lock:
            if self._token and self._token[1] > time.time():
                return self._token[0]
        return None

    def _jwt_bearer_token(self, secret: dict[str, Any]) -> str:
        import jwt  # only JWT-bearer integrations pay for PyJWT + cryptography

        try:
            login_url = str(secret["login_url"]).rstrip("/")
            claims = {
                "iss": secret["client_id"],
                "sub": secret["username"],
                "aud": login_url,
                "exp": int(time.time()) + JWT_LIFETIME_SECONDS,
            }
            assertion = jwt.encode(claims, secret["private_key_pem"], algorithm="RS256")
        except KeyError as exc:
            raise ConfigurationError(f"secret {self.secret_arn} lacks {exc}") from exc
        except (ValueError, TypeError, jwt.PyJWTError) as exc:  # unusable key: never echo it
            raise ConfigurationError(
                f"secret {self.secret_arn} has a private key that cannot sign RS256 "
                f"({type(exc).__name__})"
            ) from None
        return self._token_exchange(
            f"{login_url}/services/oauth2/token",
            {"grant_type": JWT_BEARER_GRANT, "assertion": assertion},
        )

    def _snowflake_jwt(self, secret: dict[str, Any]) -> str:
        """A KEYPAIR_JWT (Snowflake SQL API, "Authenticating to the server"), cached."""
        import jwt
        from cryptography.hazmat.primitives import hashes, serialization

        try:
            key = serialization.load_pem_private_key(
                str(secret["private_key_pem"]).encode(), password=None
            )
            der = key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            digest = hashes.Hash(hashes.SHA256())
            digest.update(der)
            fingerprint = "SHA256:" + base64.b64encode(digest.finalize()).decode()
            account = str(secret["account"]).split(".")[0].upper()
            user = str(secret["user"]).upper()
            now = int(time.time())
            claims = {
                "iss": f"{account}.{user}.{fingerprint}",
                "sub": f"{account}.{user}",
                "iat": now,
                "exp": now + SNOWFLAKE_JWT_LIFETIME_SECONDS,
            }
            token = jwt.encode(claims, key, algorithm="RS256")  # type: ignore[arg-type]
        except (ValueError, TypeError, jwt.PyJWTError) as exc:  # unusable key: never echo it
            raise ConfigurationError(
                f"secret {self.secret_arn} has a private key that cannot sign RS256 "
                f"({type(exc).__name__})"
            ) from None
        with self._lock:
            self._token = (
                token,
                now + SNOWFLAKE_JWT_LIFETIME_SECONDS - TOKEN_EXPIRY_MARGIN_SECONDS,
            )
        return token

    def _token_exchange(
        self, url: str, data: dict[str, str], auth: tuple[str, str] | None = None
    ) -> str:
        """POST a token request; the token is cached until shortly before it expires."""
        import requests

        try:
            response = requests.post(url, data=data, auth=auth, timeout=self.timeout)
        except requests.RequestException as exc:
            raise TransientError(f"token endpoint unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise TransientError(f"token endpoint answered HTTP {response.status_code}")
        body = response.json()
        lifetime = float(body.get("expires_in", 3600))
        with self._lock:
            self._token = (
                body["access_token"],
                time.time() + max(lifetime - TOKEN_EXPIRY_MARGIN_SECONDS, 0),
            )
        return str(body["access_token"])


def oauth1_header(
    secret: dict[str, Any],
    method: str,
    url: str,
    params: Mapping[str, str] | None = None,
    *,
    nonce: str | None = None,
    timestamp: int | None = None,
) -> str:
    """OAuth 1.0a ``Authorization`` header for NetSuite token-based authentication.

    HMAC-SHA256 over the RFC 5849 signature base string (section 3.4.1: method, the URL
    without query, and the sorted, percent-encoded oauth_* and query parameters), keyed
    by ``consumer_secret&token_secret``; ``realm`` is the account id and is not signed
    (NetSuite help, "The Signature for Web Services and RESTlets").
    """
    oauth = {
        "oauth_consumer_key": str(secret["consumer_key"]),
        "oauth_token": str(secret["token_id"]),
        "oauth_signature_method": "HMAC-SHA256",
        "oauth_timestamp": str(timestamp if timestamp is not None else int(time.time())),
        "oauth_nonce": nonce or secrets.token_hex(16),
        "oauth_version": "1.0",
    }
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    pairs = sorted((_pct(k), _pct(v)) for k, v in {**query, **(params or {}), **oauth}.items())
    normalised = "&".join(f"{k}={v}" for k, v in pairs)
    base_url = f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path}"
    base = "&".join((method.upper(), _pct(base_url), _pct(normalised)))
    key = f"{_pct(str(secret['consumer_secret']))}&{_pct(str(secret['token_secret']))}"
    digest = hmac.new(key.encode(), base.encode(), hashlib.sha256).digest()
    oauth["oauth_signature"] = base64.b64encode(digest).decode()
    fields = [f'realm="{secret["account_id"]}"'] + [f'{k}="{_pct(v)}"' for k, v in oauth.items()]
    return "OAuth " + ", ".join(fields)


def _pct(value: str) -> str:
    # RFC 5849 section 3.6: unreserved characters stay, everything else is %XX.
    return quote(value, safe="-._~")
