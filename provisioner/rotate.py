"""Run a credential rotation on demand, deployed or in-process.

``rotate_now`` asks Secrets Manager to rotate a deployed secret, waits until the
rotation function has run its four steps (the new version is AWSCURRENT and no longer
AWSPENDING), then reads the new version and tests it the way the function's testSecret
does (``verify_credential``), or says plainly that it could not (``provisioner rotate``).
``run_rotation_locally`` drives the same four steps in this process through the very
handler code the Lambda runs (``credential_rotation.handler`` from the ``secrets/``
bundle), for tests of the handler against moto and fakes. The rehearsal runs the deployed
function in a worker process instead (``provisioner.rehearsal.secrets_rotation``).

Usage::

    result = rotate_now("prod/quote-to-order/cred-salesforce", session=boto3.Session())
    print(result.version_id, result.seconds)
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.exceptions import ClientError

__all__ = [
    "RotationFailed",
    "RotationResult",
    "RotationTimeout",
    "Unverifiable",
    "bundle_on_path",
    "current_version",
    "resume_token",
    "rotate_now",
    "run_rotation_locally",
    "step_failed",
    "verify_credential",
]

BUNDLE_DIR = Path(__file__).resolve().parents[1] / "secrets"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
# A rotation function runs four steps, each bounded by the function's timeout;
# ten minutes covers a slow issuer plus IAM's propagation retries.
DEFAULT_TIMEOUT_SECONDS = 600.0
DEFAULT_POLL_SECONDS = 5.0


class ClientSource(Protocol):
    """Where clients come from: a boto3 Session or ``provisioner.deployed.EndpointSession``."""

    def client(self, service: str) -> Any: ...


class RotationFailed(RuntimeError):
    """A rotation could not be started or did not complete; the message says what to check."""


class RotationTimeout(RotationFailed):
    """The new version did not become AWSCURRENT in time."""


@dataclass(frozen=True)
class RotationResult:
    """Outcome of a completed rotation; ``verified`` None when the new credential was not tested."""

    secret_arn: str
    version_id: str
    previous_version_id: str | None
    seconds: float
    verified: bool | None = None
    verification: str = ""


class Unverifiable(Exception):
    """The new credential could not be tested from here (the message says why)."""


Verifier = Callable[[str, str, dict[str, Any]], str]


def current_version(versions: dict[str, list[str]]) -> str | None:
    """The version id labelled AWSCURRENT in a DescribeSecret's VersionIdsToStages."""
    return next((v for v, stages in versions.items() if "AWSCURRENT" in stages), None)


def resume_token(versions: dict[str, list[str]]) -> str:
    """The version id a rotation runs as: an unfinished one's (AWSPENDING, not AWSCURRENT),
    which Secrets Manager resumes, else a new one."""
    unfinished = [v for v, s in versions.items() if "AWSPENDING" in s and "AWSCURRENT" not in s]
    return unfinished[0] if unfinished else str(uuid.uuid4())


def step_failed(step: str, arn: str, token: str, error: str) -> RotationFailed:
    """A rotation step's failure (``error`` "Type: message"), and what it leaves behind."""
    return RotationFailed(
        f"{step} failed for {arn} (version {token}): {error}. AWSCURRENT moves only after "
        "testSecret passed; run the rotation again to resume."
    )


def rotate_now(
    secret_id: str,
    *,
    session: ClientSource,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    poll_seconds: float = DEFAULT_POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    verify: Verifier | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> RotationResult:
    """Rotate with the secret's own function, wait for its steps, then verify the result.

    ``verify(arn, version, document)`` tests the new credential and returns what proved
    it; it raises ``Unverifiable`` when it cannot tell, anything else when the credential
    is bad. Without ``verify`` the result says the credential was not tested.
    """
    sm = session.client("secretsmanager")
    started = time.monotonic()
    try:
        before = sm.describe_secret(SecretId=secret_id)
    except ClientError as exc:
        raise RotationFailed(
            f"cannot rotate {secret_id}: {_error(exc)}. Is the stack deployed here "
            "(`pulumi up`), and are these credentials for its account?"
        ) from None
    if not before.get("RotationEnabled") or not before.get("RotationLambdaARN"):
        raise RotationFailed(
            f"cannot rotate {secret_id}: it has no rotation function configured, so nothing "
            "would issue a new credential (`pulumi up` the stack first)"
        )
    old = _read(sm, secret_id, VersionStage="AWSCURRENT")
    try:
        response = sm.rotate_secret(SecretId=secret_id)
    except ClientError as exc:
        raise RotationFailed(
            f"cannot rotate {secret_id}: {_error(exc)}. A previous rotation may still be in "
            "progress (see its AWSPENDING version), or the secret has no rotation function "
            "configured (`pulumi up` the stack first)."
        ) from None
    arn, token = response["ARN"], response["VersionId"]
    previous = current_version(before.get("VersionIdsToStages", {}))
    progress(f"{arn}: rotation function started for version {token}; waiting for its steps")
    while True:
        stages = sm.describe_secret(SecretId=arn).get("VersionIdsToStages", {})
        mine = stages.get(token, [])
        if "AWSCURRENT" in mine and "AWSPENDING" not in mine:
            break
        if time.monotonic() - started >= timeout_seconds:
            raise RotationTimeout(
                f"rotation of {arn} did not finish within {timeout_seconds:.0f}s: version "
                f"{token} is {mine or 'not created'} and AWSCURRENT is still "
                f"{current_version(stages)}. Read the rotation function's CloudWatch logs; "
                "Secrets Manager retries the same version on the next attempt."
            )
        sleep(poll_seconds)
    seconds = time.monotonic() - started
    new = _read(sm, arn, VersionId=token)
    if isinstance(new, str):
        raise RotationFailed(
            f"{arn}: version {token} became AWSCURRENT but has no readable credential "
            f"({new}): the rotation function did not run its steps. Callers now read that "
            f"version; put AWSCURRENT back on {previous} (`aws secretsmanager "
            "update-secret-version-stage`) and read the function's CloudWatch logs."
        )
    if isinstance(old, dict) and _credential(new) == _credential(old):
        raise RotationFailed(
            f"{arn}: version {token} is AWSCURRENT but holds the same credential as version "
            f"{previous}: the rotation function did not issue a new one (read its logs)"
        )
    if verify is None:
        return RotationResult(arn, token, previous, seconds, None, "not tested")
    progress(f"{arn}: testing the new credential as the rotation function does")
    try:
        proof = verify(arn, token, new)
    except Unverifiable as exc:
        return RotationResult(arn, token, previous, seconds, None, f"could not test it: {exc}")
    except Exception as exc:
        raise RotationFailed(
            f"{arn}: version {token} is AWSCURRENT but the new credential failed its test: "
            f"{type(exc).__name__}: {exc}. AWSPREVIOUS ({previous}) still holds the old one."
        ) from None
    return RotationResult(arn, token, previous, seconds, True, proof)


def verify_credential(
    session: Any, endpoint_url: str | None
) -> Callable[[str, str, dict[str, Any]], str]:
    """A ``rotate_now`` verifier that runs the rotation bundle's own testSecret strategy."""
    handler = _handler_module()
    from credential_rotation.clients import CredentialRejected, IssuerError
    from credential_rotation.strategies import StepContext

    deps = handler.default_dependencies(session, endpoint_url)

    def verify(arn: str, token: str, doc: dict[str, Any]) -> str:
        ctx = StepContext(arn, token, current=doc, pending=doc)
        try:
            deps.strategy(doc.get("kind", "")).test(ctx)
        except CredentialRejected:
            raise
        except IssuerError as exc:
            raise Unverifiable(f"{doc.get('kind')} issuer unreachable from here: {exc}") from None
        return f"{doc.get('kind')} credential accepted by its issuer"

    return verify


def _read(sm: Any, arn: str, **version: str) -> dict[str, Any] | str:
    """The parsed SecretString of a version, or why it cannot be read."""
    import json

    try:
        raw = sm.get_secret_value(SecretId=arn, **version).get("SecretString")
        doc = json.loads(raw or "")
    except ClientError as exc:
        return _error(exc)
    except ValueError:
        return "no JSON SecretString"
    return doc if isinstance(doc, dict) else "not a JSON object"


def _credential(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("bootstrap",)}


def _error(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code')}: {error.get('Message')}"


class _PendingVersionStub:
    """Secrets Manager client that reports ``token`` as AWSPENDING before it has a value.

    RotateSecret creates the new version id with the AWSPENDING label before it
    invokes createSecret (Secrets Manager User Guide, "Lambda rotation functions");
    there is no public API to create such an empty version, so the local driver
    adds it to ``describe_secret`` and passes every other call through.
    """

    def __init__(self, client: Any, token: str) -> None:
        self._client = client
        self._token = token

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def describe_secret(self, **kwargs: Any) -> Any:
        meta = self._client.describe_secret(**kwargs)
        versions: dict[str, list[str]] = meta.setdefault("VersionIdsToStages", {})
        if self._token not in versions:
            for stages in versions.values():
                if "AWSPENDING" in stages:
                    stages.remove("AWSPENDING")
            versions[self._token] = ["AWSPENDING"]
        return meta


def bundle_on_path() -> None:
    """Make the ``secrets/`` bundle's ``credential_rotation`` package importable here."""
    if str(BUNDLE_DIR) not in sys.path:
        sys.path.insert(0, str(BUNDLE_DIR))


def _handler_module() -> Any:
    """Import the rotation handler from the ``secrets/`` bundle folder."""
    bundle_on_path()
    import credential_rotation.handler as handler

    return handler


def run_rotation_locally(
    secret_id: str,
    *,
    session: boto3.Session,
    endpoint_url: str | None = None,
    dependencies: Any = None,
) -> RotationResult:
    """Drive createSecret..finishSecret in-process against ``endpoint_url`` with the Lambda's code.

    Resumes an unfinished rotation (an AWSPENDING version that is not AWSCURRENT)
    with its token, as Secrets Manager does, otherwise starts a new version.
    ``dependencies`` (a ``credential_rotation.handler.Dependencies``) replaces the
    default clients, e.g. to point issuer clients at fakes. Raises ``RotationFailed``
    naming the step that failed; AWSCURRENT is then unchanged.
    """
    handler = _handler_module()
    deps = dependencies or handler.default_dependencies(session, endpoint_url)
    started = time.monotonic()
    meta = deps.secretsmanager.describe_secret(SecretId=secret_id)
    arn = meta["ARN"]
    versions: dict[str, list[str]] = meta.get("VersionIdsToStages", {})
    previous = current_version(versions)
    token = resume_token(versions)
    local = handler.Dependencies(**{**vars(deps), "secretsmanager": None})
    local.secretsmanager = _PendingVersionStub(deps.secretsmanager, token)
    rotation = handler.Rotation(local)
    for step in STEPS:
        try:
            rotation.run({"SecretId": arn, "ClientRequestToken": token, "Step": step})
        except Exception as exc:
            raise step_failed(step, arn, token, f"{type(exc).__name__}: {exc}") from exc
    return RotationResult(arn, token, previous, time.monotonic() - started)
