"""What every service module of the backend shares: the context, the table entry and helpers.

A service module (``sqs.py``, ``iam.py``...) maps each Pulumi type token of its service to a
`Resource`: a ``create(ctx, logical_name, inputs) -> (id, outputs)`` that makes the API calls
the AWS provider would make, a ``find(ctx, id, outputs)`` that raises unless the
resource is in the emulator afterwards, and, where the service has a list call, a
``listed(ctx, [(id, outputs), ...])`` that reads all of them at once and answers the ids it
saw (`listing`). Inputs are camelCase, as the engine hands them to the provider; outputs are
the provider's state (`state`).

Usage::

    RESOURCES = {
        SQS_QUEUE_POLICY: Resource(
            setting("queueUrl", lambda c, i: c("sqs").set_queue_attributes(...)),
            lambda c, rid, o: c("sqs").get_queue_attributes(QueueUrl=rid, ...),
        ),
    }
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from provisioner.rehearsal.emulator import Emulator

__all__ = [
    "Created",
    "CreationFailed",
    "Ctx",
    "Inputs",
    "Listed",
    "Outputs",
    "Planned",
    "Resource",
    "as_int",
    "as_list",
    "attribute_value",
    "attributes",
    "by_prefix",
    "described",
    "drop_none",
    "int_or_none",
    "listable",
    "listing",
    "pages",
    "physical",
    "retry_policy",
    "setting",
    "state",
    "tag_list",
    "tags",
]

Inputs = Mapping[str, Any]
Outputs = dict[str, Any]
Created = tuple[str, Outputs]


class CreationFailed(Exception):
    """The emulator refused to create a resource; the message names it and the API error."""


@dataclass
class Ctx:
    """What a creator needs: clients for the emulator (``c("sqs")``) and the stack's coordinates."""

    aws: Emulator
    # Resources of services moto does not have, checked and kept here (chatbot.py).
    recorded: dict[str, Outputs] = field(default_factory=dict)
    # What creators put in the emulator only to create resources (lambda_.py's function
    # code: the bucket, and each zip's key by its path), and how each removes it once the
    # program has run.
    staging_bucket: str = ""
    staged: dict[str, str] = field(default_factory=dict)
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def __call__(self, service: str) -> Any:
        return self.aws.admin(service)

    @property
    def region(self) -> str:
        return self.aws.region

    @property
    def account(self) -> str:
        return self.aws.account_id

    def arn(self, service: str, resource: str, *, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account}:{resource}"


Create = Callable[[Ctx, str, Inputs], Created]
Find = Callable[[Ctx, str, Outputs], object]
Planned = tuple[str, Outputs]
"""A resource as its finders take it: its id and its outputs."""
Listed = Callable[[Ctx, Sequence[Planned]], Collection[str]]
"""Reads resources of one type with as few calls as the API allows; the ids of those it saw."""


class Resource(NamedTuple):
    """How the rehearsal creates one resource type in the emulator, and finds it again.

    ``listed``, when the service has a list call, finds many at once; what it did not see
    is still looked up with ``find`` before it counts as missing (`AwsCreator.absent`).
    """

    create: Create
    find: Find
    listed: Listed | None = None


def described(service: str, method: str, key: str) -> Find:
    """A finder calling ``c(service).method(key=id)``: AWS raises when there is no such thing."""

    def find(c: Ctx, rid: str, o: Outputs) -> object:
        return getattr(c(service), method)(**{key: rid})

    return find


def pages(c: Ctx, service: str, operation: str, path: str, **params: Any) -> Iterator[Any]:
    """Every item at ``path`` (JMESPath) of every page of a list call.

    botocore's paginator follows each token until the last page, so a page limit (AWS's,
    or none at all, as moto often has) never cuts the answer short.
    """
    yield from c(service).get_paginator(operation).paginate(**params).search(path)


def listing(
    read: Callable[[Ctx, Sequence[Planned]], Iterable[str]],
    identity: Callable[[str, Outputs], str] = lambda rid, o: rid,
) -> Listed:
    """A `Listed` from ``read``, which answers the identities a list call returned, and
    ``identity``, the one each resource's ``find`` looks it up by (by default its id)."""

    def listed(c: Ctx, planned: Sequence[Planned]) -> Collection[str]:
        seen = set(read(c, planned))
        return {rid for rid, o in planned if identity(rid, o) in seen}

    return listed


def listable(
    create: Create, service: str, find: tuple[str, str], every: tuple[str, str]
) -> Resource:
    """A resource its service finds by id, ``find`` = (method, parameter naming the id),
    and lists all at once, ``every`` = (list method taking no filter the planned ones
    could narrow, JMESPath of the ids in its pages): ListTables, ListKeys, ListTopics..."""
    operation, path = every
    return Resource(
        create,
        described(service, *find),
        listing(lambda c, planned: pages(c, service, operation, path)),
    )


def by_prefix(parameter: str, names: Iterable[str]) -> dict[str, str]:
    """A list call's name-prefix filter (``parameter``) for the longest prefix all ``names``
    share; no filter when they share none (such filters take at least one character)."""
    # Character by character, as the filters compare: these names are not paths.
    prefix = os.path.commonprefix(list(names))  # noqa: RUF071
    return {parameter: prefix} if prefix else {}


def as_int(value: Any) -> int:
    # The engine's protobuf Struct carries every number as a float.
    return int(value)


def int_or_none(inputs: Mapping[str, Any], key: str) -> int | None:
    """``inputs[key]`` as an int, or None when the input is not set (the API's default)."""
    value = inputs.get(key)
    return None if value is None else as_int(value)


def as_list(value: Any) -> list[Any]:
    """A list input that the engine may hand over as one value, a tuple or nothing."""
    return list(value) if isinstance(value, list | tuple) else [] if value is None else [value]


def physical(name: str, inputs: Inputs, key: str = "name") -> str:
    # Pulumi would auto-name with a random suffix; the logical name is stable and unique.
    return str(inputs.get(key) or name)


def tags(inputs: Inputs) -> dict[str, str]:
    return {str(k): str(v) for k, v in (inputs.get("tags") or {}).items()}


def tag_list(inputs: Inputs, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in tags(inputs).items()]


def drop_none(**params: Any) -> dict[str, Any]:
    """API parameters without the unset ones, so the API applies its own defaults."""
    return {k: v for k, v in params.items() if v is not None and v != {} and v != []}


def state(inputs: Inputs, **computed: Any) -> Outputs:
    """The provider's state: the inputs, what AWS computed, and ``tagsAll``."""
    return {**inputs, "tagsAll": tags(inputs), **computed}


def attribute_value(value: Any) -> str:
    """An SQS or SNS attribute value: those APIs take every attribute as a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def attributes(
    inputs: Inputs,
    names: Iterable[str],
    renamed: Mapping[str, str] | None = None,
    unset: tuple[Any, ...] = (None, ""),
) -> dict[str, str]:
    """The set inputs among ``names`` as SQS or SNS attributes, as those APIs take them.

    An attribute is named as its pulumi-aws input in PascalCase (``fifoQueue``:
    ``FifoQueue``) unless ``renamed`` names it otherwise.
    """
    renamed = renamed or {}
    return {
        renamed.get(key, key[0].upper() + key[1:]): attribute_value(inputs[key])
        for key in [*names, *renamed]
        if inputs.get(key) not in unset
    }


def retry_policy(retry: Mapping[str, Any]) -> dict[str, Any]:
    """An EventBridge rule target's or a schedule's ``retryPolicy`` as the API takes it."""
    return drop_none(
        MaximumRetryAttempts=int_or_none(retry, "maximumRetryAttempts"),
        MaximumEventAgeInSeconds=int_or_none(retry, "maximumEventAgeInSeconds"),
    )


def setting(parent: str, apply: Callable[[Ctx, Inputs], object]) -> Create:
    """A resource that configures another (a bucket's policy, a queue's redrive...).

    ``apply`` makes the one API call; the resource's id is its parent's, the input
    ``parent`` names (``bucket``, ``queueUrl``...), as the provider's is.
    """

    def create(c: Ctx, name: str, i: Inputs) -> Created:
        apply(c, i)
        return str(i[parent]), state(i)

    return create
