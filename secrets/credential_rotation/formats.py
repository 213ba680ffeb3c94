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

``snowflake_key_pair`` (key-pair JWT; a Snowflake user holds two public keys)::

    {"kind": "snowflake_key_pair",
     "account_url": "https://xy12345.eu-west-1.snowflakecomputing.com",  # SQL API host
     "account": "xy12345",                            # account identifier (JWT iss/sub)
     "user": "PROD_WAREHOUSE_EXPORT_INTEGRATION",     # the service user
     "slot": "1",                                     # RSA_PUBLIC_KEY ("1") or _2 ("2")
     "private_key_pem": "-----BEGIN PRIVATE KEY-----...",  # secret
     "public_key_fingerprint": "SHA256:..."}          # base64 SHA-256 of the public key DER

``basic_token`` (user + API token over HTTP Basic: Zendesk, Jira)::

    {"kind": "basic_token",
     "base_url": "https://acme.zendesk.com/api/v2",
     "username": "integration@acme.example/token",    # Basic user (Zendesk: "{email}/token")
     "api_token": "...",                              # secret: the Basic password
     "token_id": "1234",                              # issuer's id of this token (to retire it)
     "admin_url": "https://acme.zendesk.com/api/v2"}  # optional, defaults to base_url

``netsuite_tba`` (NetSuite token-based authentication, OAuth 1.0a HMAC-SHA256)::

    {"kind": "netsuite_tba",
     "base_url": "https://1234567.suitetalk.api.netsuite.com",
     "account_id": "1234567",                         # the OAuth realm
     "consumer_key": "...",                           # the integration record's
     "consumer_secret": "...",                        # secret
     "token_id": "...",                               # the access token's
     "token_secret": "..."}                           # secret

``webhook_signing_secret`` (the key a source signs its pushes with)::

    {"kind": "webhook_signing_secret",
     "scheme": "hmac-sha256",
     "signing_secret": "whsec_...",                   # secret
     "previous_signing_secret": "whsec_..."}          # optional, secret: during a swap

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
- ``snowflake_key_pair``: as Salesforce: the key pair is generated in AWS; testSecret
  fails with the statement to run (``ALTER USER <user> SET RSA_PUBLIC_KEY_2 = '...'``)
  and the key's fingerprint until an administrator runs it once; the retried version
  then completes, and later rotations set the free slot with the current key.
- ``oauth_client_credentials``, ``api_key`` and ``basic_token``: the issuer creates the secret, so
  the placeholder is refused with instructions: put the first issued credential
  with ``put-secret-value`` (without ``bootstrap``) and rotate once, which replaces
  the hand-carried value with one nobody has seen.

Manual swap: ``netsuite_tba`` and ``webhook_signing_secret`` cannot be rotated by API (the
vendor issues the next one only in its UI), so every scheduled rotation is refused with
the steps below (``MANUAL_SWAP``) and AWSCURRENT is left alone; the rotation-failure alarm
is the reminder. A ``basic_token`` whose system has no token API (Atlassian) is rotated
the same way by hand: put the new token, check a sync, revoke the old one.
"""

from __future__ import annotations

import json
import re
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
    "snowflake_key_pair": (
        "account_url",
        "account",
        "user",
        "slot",
        "private_key_pem",
        "public_key_fingerprint",
    ),
    "basic_token": ("base_url", "username", "api_token", "token_id"),
    "netsuite_tba": (
        "base_url",
        "account_id",
        "consumer_key",
        "consumer_secret",
        "token_id",
        "token_secret",
    ),
    "webhook_signing_secret": ("scheme", "signing_secret"),
}

# The steps a person takes for kinds no API rotates (see "Manual swap" above).
MANUAL_SWAP: dict[str, str] = {
    "netsuite_tba": (
        "NetSuite issues access tokens only in its UI. Create a new token for the "
        "integration record and role (Setup > Users/Roles > Access Tokens > New), put it with "
        "`aws secretsmanager put-secret-value --secret-id <arn> --secret-string file://new.json`"
        " (token_id and token_secret replaced), check that the next sync succeeds, then revoke "
        "the old token in NetSuite."
    ),
    "webhook_signing_secret": (
        "the vendor generates signing secrets in its dashboard. Roll the secret there (Stripe "
        "keeps the old one valid for up to 24 hours while both sign; vendors without an "
        "overlap switch at once), put the new value as signing_secret and the old one as "
        "previous_signing_secret with `aws secretsmanager put-secret-value`, and drop "
        "previous_signing_secret on the next swap."
    ),
}

# Fields whose values are credentials; everything else is an identifier or endpoint.
SECRET_FIELDS = frozenset(
    {
        "private_key_pem",
        "client_secret",
        "api_key",
        "secret_access_key",
        "api_token",
        "consumer_secret",
        "token_secret",
        "signing_secret",
        "previous_signing_secret",
    }
)

# Fields a bootstrap placeholder may leave empty (the issuer has not assigned them yet).
_MAY_BE_EMPTY_IN_BOOTSTRAP = frozenset(
    {
        "access_key_id",
        "client_secret_id",
        "key_id",
        "certificate_pem",
        "public_key_fingerprint",
        "username",
        "token_id",
        "account_id",
        "consumer_key",
    }
)
SLOTS = ("a", "b")
SNOWFLAKE_SLOTS = ("1", "2")


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
        _validate_field(kind, field, doc[field], bootstrap)
    _validate_slot(kind, doc)


def _validate_field(kind: str, field: str, value: Any, bootstrap: bool) -> None:
    if field == "client_ids":
        if not isinstance(value, dict) or any(
            not isinstance(value.get(s), str) or not value.get(s) for s in SLOTS
        ):
            raise SecretFormatError(
                f'{kind}.client_ids: expected {{"a": "<consumer key>", "b": "<consumer key>"}}'
            )
        return
    if not isinstance(value, str):
        raise SecretFormatError(f"{kind}.{field}: expected a string")
    if not value and not (bootstrap and field in _MAY_BE_EMPTY_IN_BOOTSTRAP):
        raise SecretFormatError(f"{kind}.{field}: must not be empty")


def _validate_slot(kind: str, doc: dict[str, Any]) -> None:
    """The kinds with two key slots: the slot in use is one of them, and it fits the rest."""
    if kind == "snowflake_key_pair":
        if doc["slot"] not in SNOWFLAKE_SLOTS:
            raise SecretFormatError(f"{kind}.slot: expected '1' (RSA_PUBLIC_KEY) or '2' (_2)")
        if not re.fullmatch(r"[A-Za-z0-9_$.-]+", doc["user"]):
            # It is quoted into ALTER USER "<user>"; Snowflake identifiers, nothing else.
            raise SecretFormatError(f"{kind}.user: letters, digits, _ $ . - only")
    if kind == "salesforce_jwt_bearer":
        if doc["slot"] not in SLOTS:
            raise SecretFormatError(f"{kind}.slot: expected 'a' or 'b'")
        if doc["client_ids"][doc["slot"]] != doc["client_id"]:
            raise SecretFormatError(f"{kind}.client_id: must equal client_ids[slot]")


def dump_secret(doc: dict[str, Any]) -> str:
    """Validate ``doc`` and serialise it as a ``SecretString`` (sorted keys, stable)."""
    validate_secret(doc)
    return json.dumps(doc, sort_keys=True)
