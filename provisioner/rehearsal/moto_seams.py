"""Where the rehearsal leans on moto's internals (checked against moto 5.2.5, the pinned one).

Bucket policies. moto judges a bucket policy with its IAM evaluator but passes it no request
context, and that evaluator does not know the `Bool` operator: a statement under `Bool`
matches every request. So the TLS-only Deny every stage bucket carries
(`aws:SecureTransport` "false": S3 user guide, "Enforce encryption in transit") would refuse
every call, where S3 refuses only plain-HTTP ones. The emulator's HTTP is its own transport:
the deployed functions reach S3 over TLS (the AWS SDK's default), so their requests are
judged as `aws:SecureTransport` "true" and such a Deny does not apply to them. Every other
statement is judged by moto as before. docs/moto-differences.md lists this difference.

Function code. moto keeps each function's zip twice, decoded (``code_bytes``) and as the
request's base64 text (``code["ZipFile"]``), and every function of an integration ships
one of the same two bundles (~7 MB each): memory grew by ~16 MB a function, 3.4 GB for a
40-integration roadmap. Equal zips now share one decoded copy (with its size and SHA-256,
which moto reports as before) and the base64 text, which nothing reads after creation
(``LambdaFunction.get_code`` answers from ``S3Key``), is dropped. The rehearsal stages each
zip once in S3 and creates functions from it (``backend/lambda_.py``); moto reads and hashes
the object again for each function and keeps a copy each, so code from one S3 object (by
its ETag and size) is shared the same way.

A rotation's AWSPENDING version. RotateSecret labels the new version id AWSPENDING before it
invokes createSecret, which then reads AWSPENDING to find it absent and puts its value
(Secrets Manager user guide, "Lambda rotation functions"); there is no API to create such an
empty version, and moto's RotateSecret would run its own Lambda. While ``pending_version``
announces a token, the secret's VersionIdsToStages (DescribeSecret, ListSecrets) show it as
AWSPENDING until a version of that id exists, exactly as the service shows it.

The recorder's view of moto. ``serve_through`` puts a WSGI middleware in front of the app a
``ThreadedMotoServer`` serves (``provisioner.rehearsal.recorder``); ``key_owner`` says whose
access key signed a request (the role an STS session was issued for, or the IAM user), and
``backdate_access_key`` moves the emulator's view of a user's key back in time (its creation
and last use), which is how the rehearsal lets a grace period pass without waiting for it.

Services. To find which service a request is for, moto's server asks whether the host names
one of its packages (``moto.backends.list_of_moto_modules``), which lists moto's directory
and stats each of its ~150 entries on every request: about half the server's cost of a
request, paid thousands of times a rehearsal. The packages of an installed moto do not
change while it runs, so they are listed once.

Action names. To find the method that answers a request's action, moto lists the functions
of the service's response class (``inspect.getmembers``) on every request, about a tenth of
the server's own time per request; the classes do not change while it runs, so each is
listed once.

KMS keys. moto makes an RSA-2048 private key for every KMS key it creates, symmetric ones
too (~45 ms each, one key or more an integration), for Sign and Verify, which only an
asymmetric key allows. The key is now made when it is first used.

Usage::

    install()  # once, before the emulator serves S3
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "backdate_access_key",
    "install",
    "judged_bucket_policy",
    "key_owner",
    "pending_version",
    "serve_through",
]

_PENDING = "AWSPENDING"
# Announced rotations: the secret's ARN -> the token RotateSecret labelled AWSPENDING.
_ANNOUNCED: dict[str, str] = {}

# Decoded zips by their base64 text (moto.awslambda.models._zipfile_content's result).
_ZIPS: dict[str, tuple[bytes, int, str, str]] = {}

_INSTALLED = False


def _denies_plain_http_only(statement: dict[str, Any]) -> bool:
    condition = statement.get("Condition")
    if statement.get("Effect") != "Deny" or not isinstance(condition, dict):
        return False
    if set(condition) != {"Bool"} or not isinstance(condition["Bool"], dict):
        return False
    values = {k.lower(): v for k, v in condition["Bool"].items()}
    value = values.get("aws:securetransport")
    return set(values) == {"aws:securetransport"} and str(value).lower() == "false"


def judged_bucket_policy(policy: str) -> str:
    """The bucket policy as it applies to a request over TLS: TLS-only Denies dropped."""
    document = json.loads(policy)
    found = document.get("Statement", [])
    statements = found if isinstance(found, list) else [found]
    kept = [s for s in statements if not _denies_plain_http_only(s)]
    return json.dumps({**document, "Statement": kept})


def install() -> None:
    """Judge bucket policies as for TLS requests, keep one copy of equal function code, list
    moto's services and each response class's actions once, make KMS keys' private keys
    when used (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    _judge_bucket_policies_as_tls()
    _share_function_code()
    _show_announced_pending_versions()
    _list_services_once()
    _list_action_names_once()
    _make_kms_private_keys_on_first_use()
    _INSTALLED = True


def _judge_bucket_policies_as_tls() -> None:
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        judged = judged_bucket_policy(self.policy.decode())
        return IAMPolicy(judged).is_action_permitted(action, resource)

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


def _share_function_code() -> None:
    from moto.awslambda import models

    decode = models._zipfile_content
    read = models._s3_content
    set_code = models.LambdaFunction._set_function_code
    from_s3: dict[tuple[str, int], tuple[bytes, int, str, str]] = {}

    def shared(content: str | bytes) -> tuple[bytes, int, str, str]:
        key = content if isinstance(content, str) else content.decode("ascii", "replace")
        if key not in _ZIPS:
            _ZIPS[key] = decode(content)
        return _ZIPS[key]

    def shared_object(key: Any) -> tuple[bytes, int, str, str]:
        content = (str(key.etag), int(key.size))
        if content not in from_s3:
            from_s3[content] = read(key)
        return from_s3[content]

    def set_function_code(self: Any, updated_spec: dict[str, Any]) -> None:
        set_code(self, updated_spec)
        self.code.pop("ZipFile", None)

    models._zipfile_content = shared  # type: ignore[assignment]
    models._s3_content = shared_object
    models.LambdaFunction._set_function_code = set_function_code  # type: ignore[method-assign]


def _show_announced_pending_versions() -> None:
    from moto.secretsmanager.models import FakeSecret

    stages_of = FakeSecret._form_version_ids_to_stages

    def form(self: Any) -> dict[str, Any]:
        found: dict[str, Any] = stages_of(self)
        token = _ANNOUNCED.get(str(self.arn))
        if token is None or token in found:
            return found
        shown = {v: [s for s in stages if s != _PENDING] for v, stages in found.items()}
        return {**shown, token: [_PENDING]}

    FakeSecret._form_version_ids_to_stages = form  # type: ignore[method-assign]


@contextmanager
def pending_version(secret_arn: str, token: str) -> Iterator[None]:
    """Show ``token`` as the secret's AWSPENDING version for the duration of the block."""
    _ANNOUNCED[secret_arn] = token
    try:
        yield
    finally:
        _ANNOUNCED.pop(secret_arn, None)


def serve_through(server: Any, middleware: Callable[[Any], Any]) -> None:
    """Serve a started ``ThreadedMotoServer``'s app through ``middleware(app)``: werkzeug's
    request handler reads the server's ``app`` for each request."""
    wsgi = server._server
    wsgi.app = middleware(wsgi.app)


def key_owner(account_id: str, access_key_id: str) -> tuple[str, str] | None:
    """("role", role ARN) for an STS session's key, ("user", user name) for a user's key,
    None for a key the emulator never issued (the deployer's)."""
    from moto.iam.models import iam_backends

    key = iam_backends[account_id]["aws"].access_keys.get(access_key_id)
    if key is None:
        return None
    if key.role_arn:
        return "role", str(key.role_arn)
    return ("user", str(key.user_name)) if key.user_name else None


def backdate_access_key(account_id: str, access_key_id: str, seconds: float) -> None:
    """Move a user's access key's creation and last use ``seconds`` into the past."""
    from moto.iam.models import AccessKeyLastUsed, iam_backends

    key = iam_backends[account_id]["aws"].access_keys[access_key_id]
    delta = datetime.timedelta(seconds=seconds)
    key.create_date = key.create_date - delta
    used = key.last_used
    if isinstance(used, AccessKeyLastUsed):
        key.last_used = AccessKeyLastUsed(used.timestamp - delta, used.service, used.region)


def _list_services_once() -> None:
    from moto import backends

    services = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: services


def _list_action_names_once() -> None:
    from moto.core import responses

    listed: dict[object, tuple[str, ...]] = {}
    list_names = responses.method_names_from_class  # type: ignore[attr-defined]

    def names_once(clazz: object) -> list[str]:
        if clazz not in listed:
            listed[clazz] = tuple(list_names(clazz))
        return list(listed[clazz])

    responses.method_names_from_class = names_once  # type: ignore[attr-defined]


class _KeyOnFirstUse:
    """moto's private key of a KMS key, made the first time anything reads it."""

    def __init__(self, make: Callable[[str], Any], spec: str) -> None:
        self._make, self._spec, self._key = make, spec, None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_make", "_spec", "_key"):
            raise AttributeError(name)  # copying and pickling see a plain object
        if self._key is None:
            self._key = self._make(self._spec)
        return getattr(self._key, name)


def _make_kms_private_keys_on_first_use() -> None:
    from moto.kms import models, utils

    make = utils.generate_private_key

    def on_first_use(key_spec: str) -> Any:
        return _KeyOnFirstUse(make, key_spec)

    # models imported the name from utils; its Key reads it from models.
    models.generate_private_key = on_first_use  # type: ignore[attr-defined]
