"""What every vendor fake shares: an in-memory record store, credentials, faults, a server.

A fake answers as its vendor's documentation shows (paths, methods, headers, paging, error
bodies, rate-limit signals); the module of each vendor names the page and version it
follows. Faults are set on the fake, not guessed from requests:

* ``throttle(n)``: the next ``n`` API calls get the vendor's rate-limit answer;
* ``expire_credentials()``: every token or key issued so far stops working (a new OAuth
  token can be fetched; an API key must be replaced: ``rotate_key()``);
* ``reject(external_id)``: writes of that record fail with the vendor's validation error.

Usage::

    with VendorServer(SalesforceFake()) as server:
        fake = server.fakes["salesforce"]
        fake.seed("Quote", "0Q0000000000001AAA", "2026-11-20T10:00:00Z", {"Name": "Q-1"})
        doc = fake.credential()           # the secret a sync function would read
        base_url = server.url("salesforce")
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug import Request, Response

from contract.connectors import CONNECTORS
from provisioner.rehearsal.key_stock import KeyStock, new_rsa_key
from provisioner.rehearsal.loopback import LoopbackServer
from provisioner.rehearsal.signatures import (
    fingerprint,
    issue_tba_token,
    keypair_jwt_subject,
    tba_signature_valid,
)

__all__ = ["Answer", "Record", "VendorFake", "VendorServer", "json_response"]

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# Where a JWT bearer assertion is exchanged: ``{login_url}/services/oauth2/token``.
JWT_TOKEN_PATH = "/services/oauth2/token"
# Salesforce refuses assertions whose exp is more than 3 minutes ahead (plus clock skew).
MAX_EXP_AHEAD_SECONDS = 185


@dataclass
class Record:
    """One record a fake holds: the vendor's id, the external id, change time and fields."""

    id: str
    external_id: str
    modified_at: datetime
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """What a vendor answers every request alike (no valid credential, throttled): its
    status, body (JSON, or text when a string) and headers."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)

    def response(self) -> Response:
        if isinstance(self.body, str):
            return Response(self.body, self.status, headers=dict(self.headers))
        return json_response(self.body, self.status, dict(self.headers))


class VendorFake:
    """Base of the vendor fakes: store, credentials and faults; subclasses speak the API.

    A vendor's fake says only what differs: its name, what it issues, where its token
    endpoint is, how many records a page holds, how its ids look, its answers to a bad
    credential and to too many calls (``denied``, ``limited``), and its routes.
    """

    name: ClassVar[str] = ""
    #: where the vendor's OAuth 2.0 token endpoint lives
    token_path: ClassVar[str] = "/oauth/token"
    #: what the vendor issues an integration: an OAuth client, or an API key
    issues: ClassVar[str] = "oauth_client_credentials"
    #: records a page holds when the caller asks for no fewer (the vendor's maximum)
    page_size = 100
    #: the vendor's id of the n-th record made: ``id_format.format(n + id_offset)``
    id_format: ClassVar[str] = "{:06d}"
    id_offset: ClassVar[int] = 0
    #: the answer to a request without a valid credential, and to one too many
    denied: ClassVar[Answer] = Answer(401, {"error": "invalid_token"})
    limited: ClassVar[Answer] = Answer(429, {"error": "rate_limited"}, {"Retry-After": "0"})

    def __init__(self) -> None:
        self.base_url = ""
        self.records: dict[str, dict[str, Record]] = {}  # object -> vendor id -> record
        self.tokens: set[str] = set()
        self.keys: set[str] = set()  # API keys issued (as an admin would in the console)
        self.basic: dict[str, str] = {}  # Basic user -> API token
        self.trusted: dict[str, Any] = {}  # JWT bearer: connected app -> certificate's key
        self.tba_tokens: dict[str, tuple[str, str]] = {}  # token id -> consumer, token secret
        self.key_pairs: dict[str, dict[str, str | None]] = {}  # ACCOUNT.USER -> public keys
        # where enrol's RSA keys come from: made inline, unless a server shares its stock
        self.key_stock: KeyStock[rsa.RSAPrivateKey] = KeyStock(new_rsa_key)
        self.client_id = f"{self.name}-client"
        self.client_secret = secrets.token_urlsafe(12)
        self.calls: list[tuple[str, str]] = []
        # (method, path, records stored) per request that stored any: how many calls writes
        # took, which the rehearsal and the bench read
        self.write_requests: list[tuple[str, str, int]] = []
        self._request = threading.local()  # the server answers each request on its own thread
        self.throttles = 0
        self.rejected: set[str] = set()
        self.rejected_objects: set[str] = set()
        self.lock = threading.RLock()
        self._ids = 0

    # -- store ------------------------------------------------------------------------

    def seed(
        self,
        obj: str,
        record_id: str,
        modified_at: str,
        fields: dict[str, Any],
        *,
        external_id: str = "",
    ) -> Record:
        """Put a source record as the vendor holds it (for reads): each field under the name
        the vendor stores it by (Snowflake's unquoted `Name` is its column NAME)."""
        moment = datetime.fromisoformat(modified_at.replace("Z", "+00:00")).astimezone(UTC)
        held = {self.field(name): value for name, value in fields.items()}
        record = Record(record_id, external_id, moment, held)
        with self.lock:
            self.records.setdefault(obj, {})[record_id] = record
        self.seeded(obj, record)
        return record

    def seeded(self, obj: str, record: Record) -> None:
        """What else the vendor does when a record appears in it (Stripe logs an event)."""

    def stored(self, obj: str) -> dict[str, dict[str, Any]]:
        """The object's records by external id (what a test or the rehearsal checks)."""
        with self.lock:
            return {
                r.external_id: dict(r.fields)
                for r in self.records.get(obj, {}).values()
                if r.external_id
            }

    def field(self, name: str) -> str:
        """The name the vendor stores a written field under (Snowflake upper-cases them)."""
        return name

    def public_id(self, obj: str, record_id: str) -> str:
        """The id the vendor's API shows for a record (Shopify's global ids, for one)."""
        return record_id

    def by_external_id(self, obj: str, external_id: str) -> Record | None:
        with self.lock:
            for record in self.records.get(obj, {}).values():
                if record.external_id == external_id:
                    return record
        return None

    def write(self, obj: str, external_id: str, fields: dict[str, Any]) -> tuple[Record, bool]:
        """Create or update by external id; returns the record and whether it was created."""
        with self.lock:
            record = self.by_external_id(obj, external_id)
            created = record is None
            if record is None:
                record = Record(self.new_id(), external_id, datetime.now(UTC))
                self.records.setdefault(obj, {})[record.id] = record
            record.fields.update(fields)
            record.modified_at = datetime.now(UTC)
        self.count_write()
        return record, created

    def count_write(self) -> None:
        """One more record stored by the request being answered (``write_requests``)."""
        self._request.stored = getattr(self._request, "stored", 0) + 1

    def new_id(self) -> str:
        with self.lock:
            self._ids += 1
            return self.id_format.format(self._ids + self.id_offset)

    # -- credentials ------------------------------------------------------------------

    @classmethod
    def kinds(cls) -> frozenset[str]:
        """The credential kinds this vendor issues an integration: what the connector's
        entry in ``contract/connectors.py`` says (IAM keys and webhook secrets are not its)."""
        issued = CONNECTORS[cls.name].rotation
        return frozenset(issued) - {"iam_access_key", "webhook_signing_secret"}

    def credential(self) -> dict[str, Any]:
        """The secret document the sync functions read for this vendor."""
        if self.issues == "api_key":
            return self.enrol({"kind": "api_key"})
        return self.oauth_client()

    def oauth_client(self) -> dict[str, Any]:
        """The OAuth client (client credentials grant) the vendor issued the integration."""
        return {
            "kind": "oauth_client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "token_url": f"{self.base_url}{self.token_path}",
        }

    def enrol(self, doc: dict[str, Any]) -> dict[str, Any]:
        """A deployed secret completed with a credential this fake accepts (admin's step).

        Only kinds the vendor issues (``kinds()``); each is checked per request as the
        vendor documents it: bearer tokens and keys, HTTP Basic API tokens, the JWT bearer
        flow, OAuth 1.0a (NetSuite TBA) signatures, key-pair JWTs (Snowflake).
        """
        kind = str(doc.get("kind"))
        if kind not in self.kinds():
            raise ValueError(
                f"the {self.name} fake issues no {kind} credential (its vendor issues "
                f"{', '.join(sorted(self.kinds()))}: contract/connectors.py)"
            )
        base = {k: v for k, v in doc.items() if k != "bootstrap"}
        if kind == "oauth_client_credentials":
            return {**base, **self.oauth_client()}
        if kind == "api_key":
            key = secrets.token_urlsafe(16)
            with self.lock:
                self.keys.add(key)
            return {**base, "api_key": key}
        if kind == "basic_token":
            token = secrets.token_urlsafe(16)
            username = str(doc.get("username") or f"integration@{self.name}.example/token")
            with self.lock:
                self.basic[username] = token
            return {**base, "username": username, "api_token": token}
        if kind == "salesforce_jwt_bearer":
            private = self.key_stock.take()
            client_id = str(doc.get("client_id") or f"{self.name}-connected-app")
            with self.lock:
                self.trusted[client_id] = private.public_key()
            return {
                **base,
                "client_id": client_id,
                "username": str(doc.get("username") or f"integration@{self.name}.example"),
                "login_url": self.base_url,
                "private_key_pem": _pem(private),
            }
        if kind == "netsuite_tba":
            account_id = str(doc.get("account_id") or "1234567")
            return {**base, "account_id": account_id, **issue_tba_token(self.tba_tokens, self.lock)}
        if kind == "snowflake_key_pair":
            private = self.key_stock.take()
            public = private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            account = str(doc.get("account") or "xy12345").upper()
            user = str(doc.get("user") or "INTEGRATION").upper()
            with self.lock:
                self.key_pairs[f"{account}.{user}"] = {"1": public.decode()}
            return {
                **base,
                "account": account,
                "user": user,
                "slot": "1",
                "private_key_pem": _pem(private),
                "public_key_fingerprint": fingerprint(public.decode()),
            }
        raise ValueError(f"the {self.name} fake has no way to check a {kind} credential")

    def rotate_key(self) -> dict[str, Any]:
        """A new credential (the old one stops working): what a manual rotation stores."""
        self.expire_credentials()
        if self.issues != "api_key":
            self.client_secret = secrets.token_urlsafe(12)
        return self.credential()

    def expire_credentials(self) -> None:
        with self.lock:
            self.tokens.clear()
            self.keys.clear()
            self.basic.clear()
            self.tba_tokens.clear()
            self.key_pairs.clear()

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(16)
        with self.lock:
            self.tokens.add(token)
        return token

    # -- faults -----------------------------------------------------------------------

    def throttle(self, times: int) -> None:
        self.throttles = times

    def reject(self, external_id: str) -> None:
        self.rejected.add(external_id)

    def refuses(self, obj: str, external_id: str) -> bool:
        """Whether a write of this record gets the vendor's validation error."""
        return external_id in self.rejected or obj in self.rejected_objects

    # -- HTTP -------------------------------------------------------------------------

    def handle(self, request: Request, path: str) -> Response:
        with self.lock:
            self.calls.append((request.method, path))
        if path in (self.token_path, JWT_TOKEN_PATH) and request.method == "POST":
            return self.token_endpoint(request)
        if self.throttles > 0:
            self.throttles -= 1
            return self.throttled()
        if not self.authorised(request):
            return self.unauthorised()
        self._request.stored = 0
        response = self.route(request, path)
        if self._request.stored:
            with self.lock:
                self.write_requests.append((request.method, path, self._request.stored))
        return response

    def token_endpoint(self, request: Request) -> Response:
        """RFC 6749 4.4 client credentials (client_secret_basic or _post), or the JWT bearer
        flow (RFC 7523: an RS256 assertion checked against the key ``enrol`` trusted, its
        ``aud`` this fake, ``exp`` at most 3 minutes ahead as Salesforce requires)."""
        if request.form.get("grant_type") == JWT_BEARER_GRANT:
            return self._jwt_bearer(request.form.get("assertion", ""))
        auth = request.authorization
        cid = auth.username if auth else request.form.get("client_id")
        secret = auth.password if auth else request.form.get("client_secret")
        if request.form.get("grant_type") != "client_credentials":
            return json_response({"error": "unsupported_grant_type"}, 400)
        if (cid, secret) != (self.client_id, self.client_secret):
            return json_response({"error": "invalid_client"}, 401)
        return json_response(
            {"access_token": self.issue_token(), "token_type": "bearer", "expires_in": 3600}
        )

    def _jwt_bearer(self, assertion: str) -> Response:
        try:
            issuer = jwt.decode(assertion, options={"verify_signature": False})["iss"]
            claims = jwt.decode(
                assertion, self.trusted[issuer], algorithms=["RS256"], audience=self.base_url
            )
        except (KeyError, jwt.PyJWTError) as err:
            return json_response({"error": "invalid_grant", "error_description": str(err)}, 400)
        if not claims.get("sub") or claims["exp"] > time.time() + MAX_EXP_AHEAD_SECONDS:
            return json_response({"error": "invalid_grant", "error_description": "exp"}, 400)
        return json_response(
            {
                "access_token": self.issue_token(),
                "instance_url": self.base_url,
                "token_type": "Bearer",
            }
        )

    def authorised(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        if header.startswith("OAuth "):
            return tba_signature_valid(request, self.tba_tokens)
        if request.headers.get("X-Snowflake-Authorization-Token-Type") == "KEYPAIR_JWT":
            return keypair_jwt_subject(request, self.key_pairs) is not None
        if header.startswith("Basic "):
            auth = request.authorization
            return auth is not None and self.basic.get(str(auth.username)) == auth.password
        bearer = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
        return bool(bearer) and (bearer in self.tokens or bearer in self.keys)

    def unauthorised(self) -> Response:
        return self.denied.response()

    def throttled(self) -> Response:
        return self.limited.response()

    def route(self, request: Request, path: str) -> Response:
        raise NotImplementedError


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers=headers, content_type="application/json")


class VendorServer(LoopbackServer):
    """One threaded server on 127.0.0.1 for several fakes, each under ``/{name}``."""

    def __init__(self, *fakes: VendorFake) -> None:
        self.fakes = {fake.name: fake for fake in fakes}
        # The fakes' administrators' RSA keys, made ahead while the server runs.
        self.key_stock = KeyStock(new_rsa_key)
        for fake in fakes:
            fake.key_stock = self.key_stock

    def _companions(self) -> tuple[KeyStock[rsa.RSAPrivateKey]]:
        return (self.key_stock,)

    def url(self, name: str) -> str:
        return self.fakes[name].base_url

    def reset(self, name: str) -> VendorFake:
        """A fresh fake of the same vendor at the same URL (no records, tokens or faults)."""
        fake = type(self.fakes[name])()
        fake.base_url = self.fakes[name].base_url
        fake.key_stock = self.key_stock
        self.fakes[name] = fake
        return fake

    def _serving(self, root: str) -> None:
        for name, fake in self.fakes.items():
            fake.base_url = f"{root}/{name}"

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        _, name, *rest = request.path.split("/", 2)
        fake = self.fakes.get(name)
        if fake is None:
            response = json_response({"error": f"no fake vendor {name!r}"}, 404)
        else:
            response = fake.handle(request, "/" + (rest[0] if rest else ""))
        return response(environ, start_response)


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def now() -> float:
    return time.time()
