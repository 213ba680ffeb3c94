"""JSON shape of each credential kind's ``SecretString``, and its validation.

Every secret is a JSON object with ``"kind"`` and the fields below. Fields marked
*secret* never appear in logs or exception messages (``redact`` masks them).

``salesforce_jwt_bearer`` (OAuth 2.0 JWT bearer flow, two connected apps)::

    {"kind": "salesforce_jwt_bearer",
     "login_url": "https://login.salesforce.com",     # token endpoint host and JWT "aud"
     "username": "integration@example.com",           # JWT "sub": the integration user
     "client_id": "3MVG9...A",                        # consumer key of the app in use
     "client_ids": {"a": "3MVG9...A", "b": "3MVG9...B"},  # the two apps rotation alternates
     "slot": "a",                                     # which app this version's key belongs to
     "private_key_pem": "-----BEGIN PRIVATE KEY-----...",  # secret
     "certificate_pem": "-----BEGIN CERTIFICATE-----...",  # public
     "admin_url": "https://certs.example.com"}        # certificate upload endpoint

``oauth_client_credentials`` (RFC 6749 section 4.4)::

    {"kind": "oauth_client_credentials",
     "token_url": "https://erp.example.com/oauth/token",
     "client_id": "quote-to-order",
     "client_secret": "...",                          # secret
     "client_secret_id": "sec-12",                    # issuer's id of this secret (to retire it)
     "admin_url": "https://erp.example.com/admin",    # client-secret management endpoint
     "scope": "orders.write"}                         # optional

``api_key``::

    {"kind": "api_key",
     "base_url": "https://api.support.example.com",
     "key_id": "key-7",                               # issuer's id of this key (to retire it)
     "api_key": "...",                                # secret
     "admin_url": "https://api.support.example.com",  # optional, defaults to base_url
     "header": "X-Api-Key"}                           # optional request header

``iam_access_key`` (an IAM user for an external pusher)::

    {"kind": "iam_access_key",
     "user_name": "prod-order-events-pusher",
     "access_key_id": "AKIA...",
     "secret_access_key": "..."}                      # secret

Bootstrap: the program writes the first version before any issuing system knows
it, with ``"bootstrap": true`` and placeholder values in the secret fields (any
non-empty string; ``access_key_id`` may be empty). The first rotation treats it so:

- ``iam_access_key``: rotates normally; the rotation role creates the first key
  and there is no previous key to deactivate. No human step.
- ``salesforce_jwt_bearer``: the new key pair is generated in AWS and the upload
  is skipped (the placeholder cannot authenticate). testSecret then fails with the
  certificate fingerprint until an administrator uploads that (public) certificate
  to the pending slot's connected app; read it with ``aws secretsmanager
  get-secret-value --version-stage AWSPENDING``. Secrets Manager retries the same
  version, which then completes. The private key never leaves AWS.
- ``oauth_client_credentials`` and ``api_key``: the issuer creates the secret, so
  the placeholder is refused with instructions: put the first issued credential
  with ``put-secret-value`` (without ``bootstrap``) and rotate once, which replaces
  the hand-carried value with one nobody has seen.
"""

from __future__ import annotations

import json
from typing import Any

KINDS: dict[str, tuple[str, ...]] = {
    "salesforce_jwt_bearer": (
        "login_url",
        "username",
        "client_id",
        "client_ids",
        "slot",
        "private_key_pem",
        "certificate_pem",
        "admin_url",
    ),
    "oauth_client_credentials": (
        "token_url",
        "client_id",
        "client_secret",
        "client_secret_id",
        "admin_url",
    ),
    "api_key": ("base_url", "key_id", "api_key"),
    "iam_access_key": ("user_name", "access_key_id", "secret_access_key"),
}

# Fields whose values are credentials; everything else is an identifier or endpoint.
SECRET_FIELDS = frozenset({"private_key_pem", "client_secret", "api_key", "secret_access_key"})

# Fields a bootstrap placeholder may leave empty (the issuer has not assigned them yet).
_MAY_BE_EMPTY_IN_BOOTSTRAP = frozenset(
    {"access_key_id", "client_secret_id", "key_id", "certificate_pem"}
)
SLOTS = ("a", "b")


class SecretFormatError(ValueError):
    """A ``SecretString`` does not match its kind's shape; names fields, never values."""


def parse_secret(secret_string: str) -> dict[str, Any]:
    """Parse and validate a ``SecretString``; return the JSON object."""
    try:
        doc = json.loads(secret_string)
    except json.JSONDecodeError:
        # The decoder's message can quote the text it choked on: do not pass it on.
        raise SecretFormatError("SecretString is not valid JSON") from None
    if not isinstance(doc, dict):
        raise SecretFormatError("SecretString must be a JSON object")
    validate_secret(doc)
    return doc


def validate_secret(doc: dict[str, Any]) -> None:
    """Raise ``SecretFormatError`` naming the first field that does not fit ``doc["kind"]``."""
    kind = doc.get("kind")
    if kind not in KINDS:
        raise SecretFormatError(f"kind: expected one of {sorted(KINDS)}, got {kind!r}")
    bootstrap = doc.get("bootstrap", False)
    if not isinstance(bootstrap, bool):
        raise SecretFormatError("bootstrap: expected true or false")
    for field in KINDS[kind]:
        if field not in doc:
            raise SecretFormatError(f"{kind}.{field}: required field is missing")
        value = doc[field]
        if field == "client_ids":
            if not isinstance(value, dict) or any(
                not isinstance(value.get(s), str) or not value.get(s) for s in SLOTS
            ):
                raise SecretFormatError(
                    f'{kind}.client_ids: expected {{"a": "<consumer key>", "b": "<consumer key>"}}'
                )
            continue
        if not isinstance(value, str):
            raise SecretFormatError(f"{kind}.{field}: expected a string")
        if not value and not (bootstrap and field in _MAY_BE_EMPTY_IN_BOOTSTRAP):
            raise SecretFormatError(f"{kind}.{field}: must not be empty")
    if kind == "salesforce_jwt_bearer":
        if doc["slot"] not in SLOTS:
            raise SecretFormatError(f"{kind}.slot: expected 'a' or 'b'")
        if doc["client_ids"][doc["slot"]] != doc["client_id"]:
            raise SecretFormatError(f"{kind}.client_id: must equal client_ids[slot]")


def dump_secret(doc: dict[str, Any]) -> str:
    """Validate ``doc`` and serialise it as a ``SecretString`` (sorted keys, stable)."""
    validate_secret(doc)
    return json.dumps(doc, sort_keys=True)
