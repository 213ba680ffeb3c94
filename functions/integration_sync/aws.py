"""The execution environment's readers that keep state across invocations.

Every AWS client of the bundle comes from boto3's default session (``boto3.client(...)``):
it reads botocore's endpoint data and service models once per execution environment. A
library that makes a session of its own (Powertools' ``get_secret`` does, and its
DynamoDB persistence layer) reads them again, ~40 ms of a cold start each, so those are
handed a default-session client instead.

Example::

    value = secrets_provider().get(arn, transform="json", max_age=300)
    # a test that runs several roles' handlers in one process: forget the provider
    secrets_provider.cache_clear()
"""

from __future__ import annotations

from functools import cache

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider

__all__ = ["secrets_provider"]


@cache
def secrets_provider() -> SecretsProvider:
    """The Secrets Manager reader whose cache (``max_age`` a read) lives across invocations,
    as Powertools' own ``get_secret`` keeps one per process."""
    return SecretsProvider(boto3_client=boto3.client("secretsmanager"))
