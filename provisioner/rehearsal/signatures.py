"""How a fake checks per-request credentials: NetSuite TBA signatures and Snowflake key-pair JWTs.

Written from the vendors' documents, not from the sync functions' signing code, so a fake
catches a client that signs wrongly. The rotation issuers (``provisioner.rehearsal.fakes``)
and the vendor fakes (``provisioner.rehearsal.vendors``) share them.

Usage::

    tokens = {token_id: (consumer_secret, token_secret)}
    tba_signature_valid(request, tokens)             # True for a good OAuth 1.0a signature
    keypair_jwt_subject(request, {"ACCT.USER": {"1": public_pem}})  # "ACCT.USER" or None
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from contextlib import AbstractContextManager
from urllib.parse import quote, unquote

import jwt
from cryptography.hazmat.primitives import serialization
from werkzeug import Request

__all__ = ["fingerprint", "issue_tba_token", "keypair_jwt_subject", "tba_signature_valid"]

# Snowflake refuses key-pair JWTs that live longer than an hour ("Key-pair authentication").
SNOWFLAKE_MAX_JWT_SECONDS = 3600


def issue_tba_token(
    tokens: dict[str, tuple[str, str]], lock: AbstractContextManager[object]
) -> dict[str, str]:
    """A NetSuite TBA consumer and token, as an administrator issues them, enrolled in
    ``tokens`` so that `tba_signature_valid` accepts their signatures."""
    consumer_secret, token_secret = secrets.token_hex(32), secrets.token_hex(32)
    token_id = secrets.token_hex(32)
    with lock:
        tokens[token_id] = (consumer_secret, token_secret)
    return {
        "consumer_key": secrets.token_hex(32),
        "consumer_secret": consumer_secret,
        "token_id": token_id,
        "token_secret": token_secret,
    }


def tba_signature_valid(request: Request, tokens: Mapping[str, tuple[str, str]]) -> bool:
    """An OAuth 1.0a HMAC-SHA256 signature by an enrolled token (RFC 5849 section 3.4).

    The base string is the method, the URL without its query, and the sorted,
    percent-encoded query and ``oauth_*`` parameters (``realm`` and the signature left out);
    the key is ``consumer_secret&token_secret`` (NetSuite help, "The Signature for Web
    Services and RESTlets"). ``tokens`` maps a token id to its two secrets.
    """
    header = request.headers.get("Authorization", "")
    if not header.startswith("OAuth "):
        return False
    fields = {
        k: unquote(v) for k, v in re.findall(r'(\w+)="([^"]*)"', header.removeprefix("OAuth "))
    }
    secrets_ = tokens.get(fields.get("oauth_token", ""))
    if secrets_ is None or fields.get("oauth_signature_method") != "HMAC-SHA256":
        return False
    signed = {k: v for k, v in fields.items() if k not in ("realm", "oauth_signature")}
    params = {**request.args.to_dict(), **signed}
    pairs = sorted((_pct(k), _pct(v)) for k, v in params.items())
    url = f"{request.scheme}://{request.host.lower()}{request.root_path}{request.path}"
    base = "&".join((request.method, _pct(url), _pct("&".join(f"{k}={v}" for k, v in pairs))))
    key = "&".join(_pct(s) for s in secrets_)
    expected = base64.b64encode(hmac.new(key.encode(), base.encode(), "sha256").digest())
    return hmac.compare_digest(expected.decode(), fields.get("oauth_signature", ""))


def keypair_jwt_subject(
    request: Request, keys: Mapping[str, Mapping[str, str | None]]
) -> str | None:
    """The ``ACCOUNT.USER`` whose public key (either slot) verifies the KEYPAIR_JWT, or None.

    Snowflake SQL API, "Authenticating to the server": ``iss`` is
    ``ACCOUNT.USER.SHA256:<fingerprint>``, ``sub`` ``ACCOUNT.USER``, RS256, at most an hour
    between ``iat`` and ``exp``. ``keys`` maps ``ACCOUNT.USER`` to its slots' PEM keys.
    """
    if request.headers.get("X-Snowflake-Authorization-Token-Type") != "KEYPAIR_JWT":
        return None
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        account_user, print_ = str(claims["iss"]).rsplit(".", 1)
        slots = keys.get(str(claims["sub"]), {})
        public = next((k for k in slots.values() if k and fingerprint(k) == print_), None)
        if public is None or account_user != claims["sub"]:
            return None
        jwt.decode(
            token,
            serialization.load_pem_public_key(public.encode()),  # type: ignore[arg-type]
            algorithms=["RS256"],
            options={"require": ["iss", "sub", "iat", "exp"]},
        )
    except (jwt.PyJWTError, KeyError, ValueError):
        return None
    if claims["exp"] - claims["iat"] > SNOWFLAKE_MAX_JWT_SECONDS:
        return None
    return str(claims["sub"])


def fingerprint(public_pem: str) -> str:
    """``SHA256:`` and the base64 SHA-256 of the public key's DER, as Snowflake shows it."""
    der = serialization.load_pem_public_key(public_pem.encode()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def _pct(value: str) -> str:
    # RFC 5849 section 3.6: unreserved characters stay, everything else is %XX.
    return quote(value, safe="-._~")
