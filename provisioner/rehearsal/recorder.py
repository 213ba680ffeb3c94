"""The emulator's own judgement of least privilege: a WSGI middleware in front of moto's app.

moto checks Secrets Manager calls, and IAM calls on users, against the resource ``*``
instead of the secret's or user's ARN, and ignores secrets' resource policies, so its IAM
enforcement cannot judge a correctly scoped role. The recorder can: for every request it
reads who signed it (the SigV4 credential's access key, resolved to the role an STS session
was issued for or to the IAM user, ``moto_seams.key_owner``), the action (``X-Amz-Target``
of the JSON protocols, ``Action`` of the query ones) and its parameters. A request of a
role being judged (``judging``) is evaluated on the resource it names with that role's
``access.EvaluatedCalls``, which records it; a denied one (or one that cannot be judged)
is answered with the error AWS sends (``AccessDeniedException``, or ``AccessDenied`` for
the query protocols), naming the action and resource, and moto never serves it. Whatever
sends the request (a Lambda worker process, a CLI) gets the refusal as it would from AWS.
Observers (``watching``) see each request before it is served, e.g. to probe a key while a
function proves another one.

Requests of nobody judged or watched pass straight through, their bodies unread.

Usage::

    recorder = Recorder(account_id)          # the emulator installs it (Emulator.recorder)
    with recorder.judging(role_arn, calls):  # calls: access.EvaluatedCalls of that role
        lambdas.invoke(...)                  # the worker's requests, judged
    with recorder.watching(lambda request: ...): ...
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote
from xml.sax.saxutils import escape

from provisioner.rehearsal.moto_seams import key_owner

__all__ = ["Judge", "Recorder", "Request"]

# "AWS4-HMAC-SHA256 Credential=AKID/20261130/eu-west-1/secretsmanager/aws4_request, ..."
# or, presigned, "X-Amz-Credential=AKID/20261130/eu-west-1/sts/aws4_request&..."
_CREDENTIAL = re.compile(r"Credential=([^/,&\s]+)/[^/]+/[^/]+/([^/]+)/aws4_request")
WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


class Judge(Protocol):
    """Why a call is refused, or None (``access.EvaluatedCalls.judge``)."""

    def judge(self, prefix: str, operation: str, params: Mapping[str, Any]) -> str | None: ...


@dataclass(frozen=True)
class Request:
    """One signed request: who sent it, which service and operation, with what parameters."""

    access_key_id: str
    service: str  # the signing name, which is the IAM action prefix
    operation: str
    params: Mapping[str, Any] = field(default_factory=dict)
    role_arn: str | None = None  # the role whose STS session signed it
    user_name: str | None = None  # the IAM user whose key signed it


class Recorder:
    """Judges the requests of roles being judged, shows every request to observers."""

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self._judges: dict[str, Judge] = {}
        self._observers: list[Callable[[Request], None]] = []
        self._lock = threading.Lock()

    @contextmanager
    def judging(self, role_arn: str, judge: Judge) -> Iterator[Judge]:
        """Judge every request signed by a session of ``role_arn`` during the block."""
        with self._lock:
            self._judges[role_arn] = judge
        try:
            yield judge
        finally:
            with self._lock:
                self._judges.pop(role_arn, None)

    @contextmanager
    def watching(self, observer: Callable[[Request], None]) -> Iterator[None]:
        """Show ``observer`` each signed request before the emulator serves it."""
        with self._lock:
            self._observers.append(observer)
        try:
            yield
        finally:
            with self._lock:
                self._observers.remove(observer)

    def __call__(self, app: WsgiApp) -> WsgiApp:
        """The middleware around moto's WSGI ``app`` (``moto_seams.serve_through``)."""

        def serve(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            refusal = self._refusal(environ) if self._judges or self._observers else None
            if refusal is None:
                return app(environ, start_response)
            status, headers, body = refusal
            start_response(status, headers)
            return [body]

        return serve

    def _refusal(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes] | None:
        # Signed in the Authorization header, or presigned in the query string.
        signed = environ.get("HTTP_AUTHORIZATION") or unquote(environ.get("QUERY_STRING", ""))
        found = _CREDENTIAL.search(signed)
        if found is None:
            return None
        access_key_id, service = found.groups()
        owner = key_owner(self.account_id, access_key_id)
        role_arn = owner[1] if owner and owner[0] == "role" else None
        with self._lock:
            judge = self._judges.get(role_arn or "")
            observers = list(self._observers)
        if judge is None and not observers:
            return None
        json_protocol = "HTTP_X_AMZ_TARGET" in environ
        operation, params = _operation(environ)
        request = Request(
            access_key_id,
            service,
            operation,
            params,
            role_arn,
            owner[1] if owner and owner[0] == "user" else None,
        )
        for observer in observers:
            observer(request)
        if judge is None:
            return None
        try:
            why = judge.judge(service, operation, params)
        except Exception as err:  # refused, not let through unjudged
            why = f"the emulator could not judge {service}:{operation}: {type(err).__name__}: {err}"
        return None if why is None else _denied(why, json_protocol)


def _operation(environ: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The operation and its parameters, the body put back for moto to read."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:  # JSON protocol: "secretsmanager.GetSecretValue", the parameters as JSON
        params = json.loads(body or b"{}")
        return str(target).rsplit(".", 1)[-1], params if isinstance(params, dict) else {}
    query = environ.get("QUERY_STRING", "")  # a presigned request's parameters
    form = {k: v[0] for k, v in parse_qs(f"{query}&{body.decode(errors='replace')}").items()}
    return form.pop("Action", ""), form


def _denied(message: str, json_protocol: bool) -> tuple[str, list[tuple[str, str]], bytes]:
    """The error response AWS sends for a refused call, in the request's protocol."""
    if json_protocol:
        body = json.dumps({"__type": "AccessDeniedException", "message": message})
        return "400 Bad Request", [("Content-Type", "application/x-amz-json-1.1")], body.encode()
    xml = (
        "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
        f"<Message>{escape(message)}</Message></Error><RequestId>rehearsal</RequestId>"
        "</ErrorResponse>"
    )
    return "403 Forbidden", [("Content-Type", "text/xml")], xml.encode()
