"""Which module creates each resource type: one service module per AWS service, as moto has.

Usage::

    RESOURCES[SQS_QUEUE].create(ctx, name, inputs)
"""

from __future__ import annotations

from types import ModuleType

from provisioner.rehearsal.backend import (
    chatbot,
    cloudtrail,
    cloudwatch,
    dynamodb,
    events,
    iam,
    kms,
    lambda_,
    s3,
    scheduler,
    secretsmanager,
    sns,
    sqs,
)
from provisioner.rehearsal.backend.base import Resource

__all__ = ["RESOURCES", "SERVICES", "merge"]

SERVICES: tuple[ModuleType, ...] = (
    iam,
    kms,
    secretsmanager,
    sqs,
    lambda_,
    events,
    scheduler,
    sns,
    cloudwatch,
    chatbot,
    dynamodb,
    s3,
    cloudtrail,
)
"""The service modules, each with its ``RESOURCES`` table."""


def merge(services: tuple[ModuleType, ...]) -> dict[str, Resource]:
    """The services' tables as one; a type two of them create is refused."""
    merged: dict[str, Resource] = {}
    for service in services:
        for type_, resource in service.RESOURCES.items():
            if type_ in merged:  # two creators for one type: which one runs is an accident
                raise ValueError(f"{type_} is created by two service modules")
            merged[type_] = resource
    return merged


RESOURCES: dict[str, Resource] = merge(SERVICES)
"""Pulumi type token -> how the rehearsal creates it in the emulator and finds it again."""
