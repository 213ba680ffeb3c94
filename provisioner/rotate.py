"""Run a credential rotation on demand, deployed or in-process.

``rotate_now`` asks Secrets Manager to rotate a deployed secret and waits until
the new version is AWSCURRENT (``provisioner rotate``). ``run_rotation_locally``
drives the same four steps in this process through the very handler code the
Lambda runs (``credential_rotation.handler`` from the ``secrets/`` bundle), for
the rehearsal, where the emulator cannot run Lambda containers.

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
    "rotate_now",
    "run_rotation_locally",
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
    """Outcome of a completed rotation."""

    secret_arn: str
    version_id: str
    previous_version_id: str | None
    seconds: float


def _current_version(versions: dict[str, list[str]]) -> str | None:
    return next((v for v, stages in versions.items() if "AWSCURRENT" in stages), None)


def rotate_now(
    secret_id: str,
    *,
    session: ClientSource,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    poll_seconds: float = DEFAULT_POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> RotationResult:
    """Start a rotation with the secret's configured function and wait until it completes."""
    sm = session.client("secretsmanager")
    started = time.monotonic()
    try:
        before = sm.describe_secret(SecretId=secret_id)
        response = sm.rotate_secret(SecretId=secret_id)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise RotationFailed(
            f"cannot rotate {secret_id}: {error.get('Code')}: {error.get('Message')}. A previous "
            "rotation may still be in progress (see its AWSPENDING version), or the secret has "
            "no rotation function configured (`pulumi up` the stack first)."
        ) from None
    arn, token = response["ARN"], response["VersionId"]
    previous = _current_version(before.get("VersionIdsToStages", {}))
    while True:
        versions = sm.describe_secret(SecretId=arn).get("VersionIdsToStages", {})
        if "AWSCURRENT" in versions.get(token, []):
            return RotationResult(arn, token, previous, time.monotonic() - started)
        if time.monotonic() - started >= timeout_seconds:
            raise RotationTimeout(
                f"rotation of {arn} did not finish within {timeout_seconds:.0f}s: version "
                f"{token} is {versions.get(token) or 'not created'} and AWSCURRENT is still "
                f"{_current_version(versions)}. Read the rotation function's CloudWatch logs; "
                "Secrets Manager retries the same version on the next attempt."
            )
        sleep(poll_seconds)


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


def _handler_module() -> Any:
    """Import the rotation handler from the ``secrets/`` bundle folder."""
    if str(BUNDLE_DIR) not in sys.path:
        sys.path.insert(0, str(BUNDLE_DIR))
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
    previous = _current_version(versions)
    unfinished = [v for v, s in versions.items() if "AWSPENDING" in s and "AWSCURRENT" not in s]
    token = unfinished[0] if unfinished else str(uuid.uuid4())
    local = handler.Dependencies(**{**vars(deps), "secretsmanager": None})
    local.secretsmanager = _PendingVersionStub(deps.secretsmanager, token)
    rotation = handler.Rotation(local)
    for step in STEPS:
        try:
            rotation.run({"SecretId": arn, "ClientRequestToken": token, "Step": step})
        except Exception as exc:
            raise RotationFailed(
                f"{step} failed for {arn} (version {token}): {type(exc).__name__}: {exc}. "
                "AWSCURRENT moves only after testSecret passed; run the rotation again to resume."
            ) from exc
    return RotationResult(arn, token, previous, time.monotonic() - started)
