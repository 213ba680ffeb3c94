"""How long the credential a function holds has been current: the ``CredentialAgeDays`` metric.

A credential whose vendor issues the next one only by hand has no rotation function to say
it is due; its secret-age alarm (docs/contracts.md, Metrics) watches this metric instead.
Whoever reads the secret reports, at most once an hour per secret and container, the days
since its current version was stored (GetSecretValue's ``CreatedDate``; the functions may
already call it, no other permission is needed), as an EMF line in namespace
``Integrations/{integration}`` with dimensions ``service`` and ``secret`` (the secret's
name). A failure to report never fails the sync.

Example::

    report_age(os.environ["TARGET_CREDENTIAL_SECRET_ARN"])
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from contract import environment as var
from contract.metrics import CREDENTIAL_AGE_DAYS, SECRET_DIMENSION, SERVICE_DIMENSION, namespace

__all__ = ["report_age"]

# Rotation periods are whole days; an hourly figure is fresh enough for a daily alarm and
# costs one GetSecretValue an hour per warm container.
REPORT_EVERY_SECONDS = 3600
_reported: dict[str, float] = {}
_lock = threading.Lock()


def report_age(
    secret_arn: str,
    *,
    client: Any = None,
    now: float | None = None,
    emit: Callable[[str], None] = print,
) -> float | None:
    """Report the secret's age in days (and return it), unless reported within the hour."""
    if not secret_arn:
        return None
    moment = time.time() if now is None else now
    with _lock:
        if moment - _reported.get(secret_arn, float("-inf")) < REPORT_EVERY_SECONDS:
            return None
        _reported[secret_arn] = moment
    try:
        if client is None:
            import boto3

            client = boto3.client("secretsmanager")
        answer = client.get_secret_value(SecretId=secret_arn)
        days = float(moment - answer["CreatedDate"].timestamp()) / 86_400
        name = str(answer["Name"])
    except Exception:  # a metric, never a reason to fail the sync; the next call retries
        with _lock:
            _reported.pop(secret_arn, None)
        return None
    service = os.environ.get(var.POWERTOOLS_SERVICE_NAME) or os.environ.get(var.INTEGRATION, "")
    published = os.environ.get(var.METRICS_NAMESPACE) or namespace(service)
    emit(
        json.dumps(
            {
                "_aws": {
                    "Timestamp": int(moment * 1000),
                    "CloudWatchMetrics": [
                        {
                            "Namespace": published,
                            "Dimensions": [[SERVICE_DIMENSION, SECRET_DIMENSION]],
                            "Metrics": [{"Name": CREDENTIAL_AGE_DAYS, "Unit": "None"}],
                        }
                    ],
                },
                SERVICE_DIMENSION: service,
                SECRET_DIMENSION: name,
                CREDENTIAL_AGE_DAYS: round(days, 3),
            }
        )
    )
    return days
