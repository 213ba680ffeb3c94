"""Authentication headers from a credential secret in Secrets Manager (cached, never logged).

Secrets are JSON with a ``kind`` (docs/contracts.md). Supported here:

* ``api_key``: ``api_key`` (or ``key``), optional ``header`` (default ``Authorization``,
  sent as ``Bearer <key>``; any other header gets the bare key);
* ``oauth_client_credentials``: ``client_id``, ``client_secret``, ``token_url``, optional
  ``scope``; the access token is fetched with the client-credentials grant (RFC 6749 4.4);
* any secret with an ``access_token`` field (already exchanged token).

``salesforce_jwt_bearer`` needs JWT signing (PyJWT + cryptography), which this bundle does
not package; such secrets raise ConfigurationError.

Example::

    auth = SecretAuth(os.environ["TARGET_CREDENTIAL_SECRET_ARN"])
    headers = auth.headers()
"""

from __future__ import annotations

import threading
import time
from typing import Any

from integration_sync.errors import ConfigurationError, TransientError

# Secrets Manager keeps the previous version valid (AWSPREVIOUS) until the next rotation,
# so a value cached for 5 minutes still authenticates right after a rotation
# (Secrets Manager user guide, "Rotation strategies"); a 401 forces a fresh read anyway.
SECRET_MAX_AGE_SECONDS = 300
# Refresh OAuth tokens this long before they expire, to avoid racing the expiry mid-request.
TOKEN_EXPIRY_MARGIN_SECONDS = 60


class SecretAuth:
    """Builds auth headers for one system from its secret; ``refresh()`` after a 401."""

    def __init__(self, secret_arn: str, *, timeout: float = 10.0) -> None:
        self.secret_arn = secret_arn
        self.timeout = timeout
        self._force = False
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def headers(self) -> dict[str, str]:
        """Return the headers that authenticate a request (empty without a secret)."""
        if not self.secret_arn:
            return {}
        secret = self._secret()
        kind = secret.get("kind", "")
        if "access_token" in secret:
            return {"Authorization": f"Bearer {secret['access_token']}"}
        if kind == "api_key":
            key = secret.get("api_key") or secret.get("key")
            if not key:
                raise ConfigurationError(f"secret {self.secret_arn} (api_key) has no 'api_key'")
            header = secret.get("header", "Authorization")
            return {header: f"Bearer {key}" if header.lower() == "authorization" else str(key)}
        if kind == "oauth_client_credentials":
            return {"Authorization": f"Bearer {self._oauth_token(secret)}"}
        raise ConfigurationError(
            f"secret {self.secret_arn} has kind {kind!r}, which the sync functions cannot use "
            "for HTTP calls (supported: api_key, oauth_client_credentials, access_token)"
        )

    def refresh(self) -> None:
        """Forget the cached secret and token: the next call re-reads Secrets Manager."""
        with self._lock:
            self._force = True
            self._token = None

    def _secret(self) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.parameters import get_secret

        with self._lock:
            force, self._force = self._force, False
        value = get_secret(
            self.secret_arn, transform="json", max_age=SECRET_MAX_AGE_SECONDS, force_fetch=force
        )
        if not isinstance(value, dict):
            raise ConfigurationError(f"secret {self.secret_arn} is not a JSON object")
        return value

    def _oauth_token(self, secret: dict[str, Any]) -> str:
        with self._lock:
            if self._token and self._token[1] > time.time():
                return self._token[0]
        import requests

        data = {"grant_type": "client_credentials"}
        if secret.get("scope"):
            data["scope"] = str(secret["scope"])
        try:
            response = requests.post(
                secret["token_url"],
                data=data,
                auth=(secret["client_id"], secret["client_secret"]),
                timeout=self.timeout,
            )
        except KeyError as exc:
            raise ConfigurationError(f"secret {self.secret_arn} lacks {exc}") from exc
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
