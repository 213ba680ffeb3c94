"""Fake external systems on 127.0.0.1: credential issuers and a REST target that records writes.

One threaded HTTP server plays, for every integration at once:

- Salesforce: the JWT bearer token endpoint (``/sf/services/oauth2/token``, RS256 signature
  checked against the certificate installed on the connected app, ``aud``, ``sub``, ``exp``
  at most 3 minutes ahead) and the certificate upload endpoint
  (``PUT /sf-admin/connected-apps/{client_id}/certificate``);
- an OAuth 2.0 authorization server (``/oauth/token``, client_secret_post or _basic) with a
  client-secret admin API (``/oauth-admin/clients/{client_id}/secrets[/{id}]``);
- an API-key service (``/keys/api-keys[/current|/{id}]``, key in ``X-Api-Key``), which
  also serves API tokens presented with HTTP Basic (``/keys/api-tokens[...]``);
- Snowflake's SQL API (``POST /snowflake/api/v2/statements``): KEYPAIR_JWT checked against
  the user's two public-key slots, ``SELECT CURRENT_USER()`` and
  ``ALTER USER "<user>" SET RSA_PUBLIC_KEY[_2] = '...'``;
- a target REST API (``PATCH|DELETE /api/{object}/{field}/{id}``, the shape
  ``integration_sync.clients.TargetApi`` writes), authenticated by any token or key the
  fakes issued (or a NetSuite TBA OAuth 1.0a signature of an enrolled token), recording
  every write.

Faults are injected per operation (the handler names below, e.g. ``target_write``,
``sf_upload``): an error status instead of the answer, or a delay before it.

The HTTP contracts are those of ``secrets/credential_rotation/clients.py`` and
``slot_clients.py``. IAM access keys need no fake: STS and IAM are the emulator itself.
Two things of the rotation bundle run in this process, neither of them the rotation function
(which runs in its worker, ``checks.rotation``): the bundle's ``keys`` module makes the
administrator's first key pairs ``enrol`` hands out (ahead, on a thread: ``key_stock``),
and ``accepts`` probes a credential with the bundle's issuer clients, as a caller of the fake.

Usage::

    with FakeSystems() as fake:
        doc = fake.enrol(bootstrap_doc)   # a credential the fake accepts, as an admin would
        fake.accepts(doc)                 # True
        fake.faults.append(Fault("target_write", status=422))  # the target rejects writes
"""

from __future__ import annotations

import importlib
import re
import secrets as std_secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from werkzeug import Request, Response

from provisioner.rehearsal.key_stock import KeyStock, first_key_and_certificate
from provisioner.rehearsal.loopback import LoopbackServer
from provisioner.rehearsal.signatures import (
    issue_tba_token,
    keypair_jwt_subject,
    tba_signature_valid,
)
from provisioner.rehearsal.vendors.base import JWT_BEARER_GRANT, MAX_EXP_AHEAD_SECONDS
from provisioner.rehearsal.vendors.base import json_response as _json

__all__ = ["FakeSystems", "Fault", "Upsert"]

_ALTER_USER_KEY = re.compile(
    r"""ALTER USER "(?P<user>[^"]+)" SET RSA_PUBLIC_KEY(?P<two>_2)? = """
    r"""'(?P<key>[A-Za-z0-9+/=]+)'"""
)


# How a client proves it holds a working credential, per kind: the rotation function's own
# client (its module in secrets/credential_rotation/, its class) and the call it makes.
_ACCEPTANCE = {
    "salesforce_jwt_bearer": ("slot_clients", "SalesforceHttpClient", "exchange_jwt"),
    "oauth_client_credentials": ("clients", "OAuthHttpIssuer", "token"),
    "api_key": ("clients", "ApiKeyHttpIssuer", "whoami"),
    "basic_token": ("clients", "BasicTokenHttpIssuer", "whoami"),
    "snowflake_key_pair": ("slot_clients", "SnowflakeHttpClient", "current_user"),
}


@dataclass
class Fault:
    """Answer ``status`` (or first sleep ``delay`` s) to ``op`` requests ``when`` matches.

    ``when`` sees the path groups (``obj``, ``cid``, ``id``...), the form or JSON fields
    (a Snowflake ``statement``) and the ``headers``; the fault applies ``times`` times.
    With a delay the request is then answered normally (a client with a shorter timeout
    has given up by then).
    """

    op: str
    when: Callable[[dict[str, Any]], bool] = lambda _: True
    times: int = 1_000
    delay: float = 0.0
    status: int = 503


@dataclass(frozen=True)
class Upsert:
    """One write the fake target received."""

    method: str
    object: str
    field: str
    id: str
    body: dict[str, Any]


@dataclass
class FakeSystems(LoopbackServer):
    """State of the fake issuers and target; ``start()`` serves them on a free port."""

    base_url: str = ""
    apps: dict[str, str | None] = field(default_factory=dict)  # client id -> certificate
    users: set[str] = field(default_factory=set)
    oauth_secrets: dict[str, str] = field(default_factory=dict)  # secret id -> secret
    oauth_owners: dict[str, str] = field(default_factory=dict)  # secret id -> client id
    api_keys: dict[str, str] = field(default_factory=dict)  # id -> key (or API token)
    labels: dict[str, str] = field(default_factory=dict)  # issued id -> label it was asked for
    # "ACCOUNT.USER" -> {"1": public key PEM, "2": ...}: a Snowflake user's two key slots
    snowflake_keys: dict[str, dict[str, str]] = field(default_factory=dict)
    tba_tokens: dict[str, tuple[str, str]] = field(default_factory=dict)  # token id -> secrets
    tokens: dict[str, str] = field(default_factory=dict)  # access token -> client id
    sf_tokens: set[str] = field(default_factory=set)  # tokens from the Salesforce login
    writes: list[Upsert] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # the administrator's first RSA keys (and certificates), made ahead while serving
    key_stock: KeyStock[tuple[str, str]] = field(
        default_factory=lambda: KeyStock(first_key_and_certificate)
    )

    # ------------------------------------------------------------------ lifecycle

    def _companions(self) -> tuple[KeyStock[tuple[str, str]]]:
        return (self.key_stock,)

    def _serving(self, root: str) -> None:
        self.base_url = root

    @property
    def login_url(self) -> str:
        return f"{self.base_url}/sf"

    @property
    def target_url(self) -> str:
        return f"{self.base_url}/api"

    @property
    def snowflake_url(self) -> str:
        return f"{self.base_url}/snowflake"

    # ------------------------------------------------------------------ enrolment

    def enrol(self, doc: dict[str, Any]) -> dict[str, Any]:
        """A credential of ``doc``'s kind that this fake accepts, keeping ``doc``'s names.

        Plays the administrator who, in production, issues the first credential (OAuth,
        API key) or uploads the first certificate to the connected app (Salesforce JWT,
        formats.py "Bootstrap"). ``bootstrap`` is dropped: the result is an enrolled version.
        """
        from provisioner.rotate import bundle_on_path

        bundle_on_path()  # the bundle's key functions, as the admin's tools would use them
        kind = doc["kind"]
        base = {k: v for k, v in doc.items() if k != "bootstrap"}
        if kind == "salesforce_jwt_bearer":
            prefix = re.sub(r"[^A-Za-z0-9]", "", str(doc.get("username", "app")).split("@")[0])
            client_ids = {slot: f"3MVG9{prefix}{slot.upper()}" for slot in ("a", "b")}
            username = str(doc.get("username") or f"{prefix}@rehearsal.example")
            private_pem, certificate_pem = self.key_stock.take()
            with self.lock:
                self.apps[client_ids["a"]] = certificate_pem
                self.apps.setdefault(client_ids["b"], None)
                self.users.add(username)
            return {
                **base,
                "login_url": self.login_url,
                "username": username,
                "client_id": client_ids["a"],
                "client_ids": client_ids,
                "slot": "a",
                "private_key_pem": private_pem,
                "certificate_pem": certificate_pem,
                "admin_url": f"{self.base_url}/sf-admin",
            }
        if kind == "oauth_client_credentials":
            client_id = str(doc["client_id"])
            secret_id, secret = f"sec-{std_secrets.token_hex(4)}", std_secrets.token_urlsafe(32)
            self.add_oauth_secret(client_id, secret_id, secret)
            return {
                **base,
                "token_url": f"{self.base_url}/oauth/token",
                "client_secret": secret,
                "client_secret_id": secret_id,
                "admin_url": f"{self.base_url}/oauth-admin",
            }
        if kind in ("api_key", "basic_token"):
            # One key service issues both; a basic token is presented with HTTP Basic.
            key_id, key = f"key-{std_secrets.token_hex(4)}", std_secrets.token_urlsafe(32)
            with self.lock:
                self.api_keys[key_id] = key
            urls = {"base_url": f"{self.base_url}/keys", "admin_url": f"{self.base_url}/keys"}
            if kind == "api_key":
                return {**base, **urls, "key_id": key_id, "api_key": key, "header": "X-Api-Key"}
            username = str(doc.get("username") or "integration@rehearsal.example/token")
            return {**base, **urls, "username": username, "token_id": key_id, "api_token": key}
        if kind == "snowflake_key_pair":
            from credential_rotation.keys import public_key_fingerprint, public_key_pem

            private_pem, _ = self.key_stock.take()  # the key; Snowflake takes no certificate
            public_pem = public_key_pem(private_pem)
            account, user = str(doc["account"]).upper(), str(doc["user"]).upper()
            with self.lock:
                self.snowflake_keys[f"{account}.{user}"] = {"1": public_pem}
            return {
                **base,
                "account_url": self.snowflake_url,
                "slot": "1",
                "private_key_pem": private_pem,
                "public_key_fingerprint": public_key_fingerprint(private_pem),
            }
        if kind == "netsuite_tba":
            account_id = str(doc.get("account_id") or "1234567_SB1")
            return {**base, "account_id": account_id, **issue_tba_token(self.tba_tokens, self.lock)}
        raise ValueError(f"no fake issuer for credential kind {kind!r} (IAM is the emulator)")

    def accepts(self, doc: dict[str, Any]) -> bool:
        """Whether this fake authenticates the credential in ``doc`` (over HTTP, as a client)."""
        from provisioner.rotate import bundle_on_path

        bundle_on_path()  # the bundle's issuer clients, as a caller of this fake
        from credential_rotation.clients import IssuerError

        probe = _ACCEPTANCE.get(doc["kind"])
        if probe is None:
            return False
        module, client, call = probe
        try:
            issuer = getattr(importlib.import_module(f"credential_rotation.{module}"), client)
            getattr(issuer(), call)(doc)
        except IssuerError:
            return False
        return True

    # ------------------------------------------------------------------ HTTP

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self._dispatch(Request(environ))(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        for method, pattern, op, guard in _ROUTES:
            match = re.fullmatch(pattern, request.path)
            if match and request.method == method:
                with self.lock:
                    self.calls.append(op)
                fault = self._fault(op, request, match.groupdict())
                if fault and fault.delay:
                    time.sleep(fault.delay)
                elif fault:
                    return _error(fault.status, "injected_fault")
                refused = self._refused(guard, request, match.groupdict())
                if refused:
                    return refused
                handler = getattr(self, f"_{op}")
                response: Response = handler(request, match.groupdict())
                return response
        return _error(404, "not_found")

    def _refused(self, guard: str, request: Request, groups: dict[str, str]) -> Response | None:
        """A 401 unless the request carries what the route's ``guard`` asks for."""
        if guard == "salesforce" and _bearer(request) not in self.sf_tokens:
            return _error(401, "invalid_token")  # a token from the Salesforce login
        if guard == "oauth" and self.tokens.get(_bearer(request)) != groups["cid"]:
            return _error(401, "invalid_token")  # the client's own access token
        if guard == "key" and not self._key_id(request):
            return _error(401, "invalid_key")  # any key the service issued
        return None

    def _fault(self, op: str, request: Request, groups: dict[str, str]) -> Fault | None:
        """The first injected fault for this request, if any (one of its ``times`` used)."""
        if not self.faults:
            return None
        body = request.get_json(silent=True) if request.is_json else None
        json_fields = body if isinstance(body, dict) else {}
        info = {**groups, **json_fields, **request.form.to_dict(), "headers": request.headers}
        with self.lock:
            for fault in self.faults:
                if fault.op == op and fault.times > 0 and fault.when(info):
                    fault.times -= 1
                    return fault
        return None

    # Salesforce --------------------------------------------------------------
    def _sf_token(self, request: Request, _: dict[str, str]) -> Response:
        if request.form.get("grant_type") != JWT_BEARER_GRANT:
            return _error(400, "unsupported_grant_type")
        assertion = request.form.get("assertion", "")
        try:
            client_id = jwt.decode(assertion, options={"verify_signature": False})["iss"]
            certificate = self.apps.get(client_id)
            if certificate is None:
                return _error(400, "invalid_client_id")
            public_key = x509.load_pem_x509_certificate(certificate.encode()).public_key()
            claims = jwt.decode(
                assertion,
                public_key,  # type: ignore[arg-type]
                algorithms=["RS256"],
                audience=self.login_url,
                options={"require": ["iss", "sub", "aud", "exp"]},
            )
        except (jwt.PyJWTError, KeyError, ValueError):
            return _error(400, "invalid_grant")
        if claims["sub"] not in self.users or claims["exp"] - time.time() > MAX_EXP_AHEAD_SECONDS:
            return _error(400, "invalid_grant")
        token = self._token(client_id)
        with self.lock:
            self.sf_tokens.add(token)
        return _json({"access_token": token, "instance_url": self.base_url})

    def _sf_upload(self, request: Request, groups: dict[str, str]) -> Response:
        if groups["cid"] not in self.apps:
            return _error(404, "not_found")
        certificate = (request.get_json(silent=True) or {}).get("certificate") or ""
        try:
            x509.load_pem_x509_certificate(certificate.encode())
        except ValueError:
            return _error(400, "invalid_certificate")
        with self.lock:
            self.apps[groups["cid"]] = certificate
        return Response(status=204)

    # OAuth client credentials ------------------------------------------------
    def _oauth_token(self, request: Request, _: dict[str, str]) -> Response:
        form = request.form
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if request.authorization and request.authorization.type == "basic":
            client_id = request.authorization.username
            secret = request.authorization.password
        if form.get("grant_type") != "client_credentials":
            return _error(400, "unsupported_grant_type")
        if not client_id or secret not in self._client_secrets(client_id).values():
            return _error(401, "invalid_client")
        return _json({"access_token": self._token(client_id), "token_type": "Bearer"})

    def add_oauth_secret(self, client_id: str, secret_id: str, secret: str) -> None:
        """Give ``client_id`` a client secret (as its administrator would)."""
        with self.lock:
            self.oauth_secrets[secret_id] = secret
            self.oauth_owners[secret_id] = client_id

    def _client_secrets(self, client_id: str) -> dict[str, str]:
        return {
            i: s for i, s in self.oauth_secrets.items() if self.oauth_owners.get(i) == client_id
        }

    def _oauth_create(self, request: Request, groups: dict[str, str]) -> Response:
        secret_id, value = f"sec-{std_secrets.token_hex(4)}", std_secrets.token_urlsafe(32)
        self.add_oauth_secret(groups["cid"], secret_id, value)
        with self.lock:
            self.labels[secret_id] = _label(request)
        return _json({"id": secret_id, "secret": value}, 201)

    def _oauth_list(self, request: Request, groups: dict[str, str]) -> Response:
        owned = self._client_secrets(groups["cid"])
        return _json({"secrets": [{"id": i, "label": self.labels.get(i, "")} for i in owned]})

    def _oauth_get(self, request: Request, groups: dict[str, str]) -> Response:
        if groups["id"] in self._client_secrets(groups["cid"]):
            return _json({"id": groups["id"]})
        return _error(404, "not_found")

    def _oauth_del(self, request: Request, groups: dict[str, str]) -> Response:
        with self.lock:
            if self.oauth_owners.get(groups["id"]) == groups["cid"]:
                self.oauth_secrets.pop(groups["id"], None)
                self.oauth_owners.pop(groups["id"], None)
        return Response(status=204)

    # API keys ----------------------------------------------------------------
    def _key_id(self, request: Request) -> str | None:
        presented = request.headers.get("X-Api-Key") or _bearer(request)
        if request.authorization and request.authorization.type == "basic":
            presented = request.authorization.password or ""
        if not presented:
            return None
        return next((i for i, k in self.api_keys.items() if k == presented), None)

    def _key_whoami(self, request: Request, _: dict[str, str]) -> Response:
        key_id = self._key_id(request)
        return _json({"id": key_id}) if key_id else _error(401, "invalid_key")

    def _key_create(self, request: Request, _: dict[str, str]) -> Response:
        key_id, value = f"key-{std_secrets.token_hex(4)}", std_secrets.token_urlsafe(32)
        with self.lock:
            self.api_keys[key_id] = value
            self.labels[key_id] = _label(request)
        return _json({"id": key_id, "key": value}, 201)

    def _key_list(self, request: Request, _: dict[str, str]) -> Response:
        keys = [{"id": i, "label": self.labels.get(i, "")} for i in self.api_keys]
        return _json({"keys": keys})

    def _key_get(self, request: Request, groups: dict[str, str]) -> Response:
        return _json({"id": groups["id"]}) if groups["id"] in self.api_keys else _error(404)

    def _key_del(self, request: Request, groups: dict[str, str]) -> Response:
        with self.lock:
            self.api_keys.pop(groups["id"], None)
        return Response(status=204)

    # Target REST API ---------------------------------------------------------
    def _target_write(self, request: Request, groups: dict[str, str]) -> Response:
        authorised = (
            _bearer(request) in self.tokens
            or self._key_id(request)
            or tba_signature_valid(request, self.tba_tokens)
        )
        if not authorised:
            return _error(401, "invalid_session_id")
        body = request.get_json(silent=True) if request.method == "PATCH" else {}
        if not isinstance(body, dict):
            return _error(400, "json_body_expected")
        with self.lock:
            self.writes.append(
                Upsert(request.method, groups["obj"], groups["field"], groups["id"], body)
            )
        return _json({"id": groups["id"], "created": True}, 201)

    # Snowflake SQL API ---------------------------------------------------------
    def _snowflake_sql(self, request: Request, _: dict[str, str]) -> Response:
        who = keypair_jwt_subject(request, self.snowflake_keys)  # slot 1 or 2 verifies it
        if who is None:
            return _json({"code": "390144", "message": "JWT token is invalid."}, 401)
        statement = str((request.get_json(silent=True) or {}).get("statement", ""))
        if statement.strip().upper() == "SELECT CURRENT_USER()":
            return _json({"data": [[who.split(".", 1)[1]]]})
        match = _ALTER_USER_KEY.fullmatch(statement.strip())
        if match is None:
            return _json({"code": "001003", "message": "SQL compilation error"}, 422)
        account = who.split(".", 1)[0]
        target = f"{account}.{match['user'].upper()}"
        if target != who:  # a user may set its own keys (ownership granted to itself)
            return _json({"code": "003001", "message": "Insufficient privileges"}, 422)
        pem = "-----BEGIN PUBLIC KEY-----\n" + match["key"] + "\n-----END PUBLIC KEY-----\n"
        try:
            serialization.load_pem_public_key(pem.encode())
        except ValueError:
            return _json({"code": "001003", "message": "invalid public key"}, 422)
        with self.lock:
            self.snowflake_keys.setdefault(who, {})["2" if match["two"] else "1"] = pem
        return _json({"data": [["Statement executed successfully."]]})

    def _token(self, client_id: str) -> str:
        token = std_secrets.token_urlsafe(16)
        with self.lock:
            self.tokens[token] = client_id
        return token


# method, path, operation (the handler `_<op>` and the name faults use), and what a request
# must carry: "salesforce" a token from the Salesforce login, "oauth" an access token of
# the client in the path, "key" a key the service issued.
_ROUTES: list[tuple[str, str, str, str]] = [
    ("POST", r"/sf/services/oauth2/token", "sf_token", ""),
    ("PUT", r"/sf-admin/connected-apps/(?P<cid>[^/]+)/certificate", "sf_upload", "salesforce"),
    ("POST", r"/oauth/token", "oauth_token", ""),
    ("POST", r"/oauth-admin/clients/(?P<cid>[^/]+)/secrets", "oauth_create", "oauth"),
    ("GET", r"/oauth-admin/clients/(?P<cid>[^/]+)/secrets", "oauth_list", "oauth"),
    ("GET", r"/oauth-admin/clients/(?P<cid>[^/]+)/secrets/(?P<id>[^/]+)", "oauth_get", "oauth"),
    ("DELETE", r"/oauth-admin/clients/(?P<cid>[^/]+)/secrets/(?P<id>[^/]+)", "oauth_del", "oauth"),
    ("GET", r"/keys/api-(?:keys|tokens)/current", "key_whoami", ""),
    ("POST", r"/keys/api-(?:keys|tokens)", "key_create", "key"),
    ("GET", r"/keys/api-(?:keys|tokens)", "key_list", "key"),
    ("GET", r"/keys/api-(?:keys|tokens)/(?P<id>[^/]+)", "key_get", "key"),
    ("DELETE", r"/keys/api-(?:keys|tokens)/(?P<id>[^/]+)", "key_del", "key"),
    ("POST", r"/snowflake/api/v2/statements", "snowflake_sql", ""),
    ("PATCH", r"/api/(?P<obj>[^/]+)/(?P<field>[^/]+)/(?P<id>[^/]+)", "target_write", ""),
    ("DELETE", r"/api/(?P<obj>[^/]+)/(?P<field>[^/]+)/(?P<id>[^/]+)", "target_write", ""),
]


def _label(request: Request) -> str:
    body = request.get_json(silent=True) if request.is_json else None
    return str(body.get("label") or "") if isinstance(body, dict) else ""


def _error(status: int, code: str = "error") -> Response:
    return _json({"error": code}, status)


def _bearer(request: Request) -> str:
    header = request.headers.get("Authorization", "")
    return header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
