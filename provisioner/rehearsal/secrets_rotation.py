"""Secrets Manager's side of a rotation in the emulator: the four steps sent to the deployed
rotation function, which runs in a worker process of its own (``lambda_runner``).

RotateSecret labels a new version id AWSPENDING, then invokes the secret's rotation
function (its ``RotationLambdaARN``) with ``{"SecretId", "ClientRequestToken", "Step"}``
for createSecret, setSecret, testSecret and finishSecret in turn, and stops at the first
step that fails (Secrets Manager user guide, "Lambda rotation functions"); a rotation left
unfinished (an AWSPENDING version that is not AWSCURRENT) is resumed with its token.
moto's RotateSecret would run moto's own Lambda, so ``rotate`` plays the service: the
AWSPENDING label is shown by the emulator itself (``moto_seams.pending_version``), and the
function's code runs as Lambda runs it, with only its deployed environment and its role's
STS credentials; what the role may do is judged by the emulator's recorder, not here.

Usage::

    with LambdaRunner(aws) as lambdas:
        result = rotate(aws, lambdas, secret_arn)  # RotationFailed names the failed step
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from provisioner.rehearsal.moto_seams import pending_version
from provisioner.rotate import (
    STEPS,
    RotationFailed,
    RotationResult,
    current_version,
    resume_token,
    step_failed,
)

if TYPE_CHECKING:
    from provisioner.rehearsal.emulator import Emulator
    from provisioner.rehearsal.lambda_runner import LambdaRunner

__all__ = ["rotate"]


def rotate(aws: Emulator, lambdas: LambdaRunner, secret_arn: str) -> RotationResult:
    """Run one rotation of ``secret_arn`` through its deployed rotation function."""
    meta = aws.admin("secretsmanager").describe_secret(SecretId=secret_arn)
    arn, function = meta["ARN"], meta.get("RotationLambdaARN")
    if not meta.get("RotationEnabled") or not function:
        raise RotationFailed(f"{arn} has no rotation function configured")
    versions: dict[str, list[str]] = meta.get("VersionIdsToStages", {})
    token = resume_token(versions)
    started = time.monotonic()
    with pending_version(arn, token):
        for step in STEPS:
            event = {"SecretId": arn, "ClientRequestToken": token, "Step": step}
            invocation = lambdas.invoke(function, event)
            if invocation.error is not None:
                raise step_failed(step, arn, token, ": ".join(invocation.error))
    return RotationResult(arn, token, current_version(versions), time.monotonic() - started)
