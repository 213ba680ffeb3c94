"""What both baseline programs share: the recorded resources, registered in order.

bench/bare_program.py and bench/typed_program.py each say how one custom resource is
registered; reading the spec, parenting, the components and the exports are the same, so
the two baselines differ in that one respect alone. `typed_resource` registers one the way
a program written with pulumi-aws does; it lives here rather than in the program file so
that what it looks up once (classes, their input types) stays cached from one run to the
next, as the real program's imports do.

Usage (inside a Pulumi program run by bench/plan.py)::

    register_recorded(typed_resource)
"""

from __future__ import annotations

import collections.abc
import functools
import inspect
import json
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws  # noqa: F401  (importing it fills the registry its classes are found in)

from contract.aws_types import INTEGRATION
from provisioner.sdk_seams import input_fields, typed_resource_class, unwrap_input

__all__ = ["register_recorded", "typed_arguments", "typed_resource"]

CustomFactory = Callable[[dict[str, Any], pulumi.ResourceOptions], pulumi.Resource]


def register_recorded(custom: CustomFactory) -> None:
    """Register every resource of the spec (config `bench:resources`) under its recorded
    parent: components with the SDK's `ComponentResource`, custom resources by `custom`."""
    spec: list[dict[str, Any]] = json.loads(
        Path(pulumi.Config("bench").require("resources")).read_text(encoding="utf-8")
    )
    created: dict[str, pulumi.Resource] = {}
    for entry in spec:
        parent = created.get(entry["parent"]) if entry["parent"] else None
        opts = pulumi.ResourceOptions(parent=parent)
        resource: pulumi.Resource
        if entry["custom"]:
            resource = custom(entry, opts)
        else:
            component = pulumi.ComponentResource(entry["type"], entry["name"], None, opts)
            component.register_outputs({})
            resource = component
            if entry["type"] == INTEGRATION:
                pulumi.export(entry["name"], component.urn)
        created[entry["urn"]] = resource


# ----------------------------------------------------------------------------- typed


_SEQUENCES = (list, collections.abc.Sequence)
_MAPPINGS = (dict, collections.abc.Mapping)


@functools.cache
def _resource(token: str) -> tuple[type[Any], dict[str, tuple[str, Any]]]:
    """The provider class of a type token and the fields of the input type it takes as
    `args` (`QueueArgs` for `Queue`), from the `__init__(resource_name, args, opts)`
    overload the class declares."""
    cls = typed_resource_class(token)
    for overload in typing.get_overloads(cls.__init__):
        if "args" in inspect.signature(overload).parameters:
            fields = input_fields(unwrap_input(typing.get_type_hints(overload)["args"]))
            if fields is not None:
                return cls, fields
    raise LookupError(f"{cls.__qualname__} declares no `args` overload of an input type")


@functools.cache
def _shape(annotation: Any) -> tuple[Any, dict[str, tuple[str, Any]] | None, Any, Any]:
    """(type, its fields if an input type, origin, parameters) of an annotation."""
    annotation = unwrap_input(annotation)
    origin, params = typing.get_origin(annotation), typing.get_args(annotation)
    return annotation, input_fields(annotation), origin, params


def _convert(value: Any, annotation: Any) -> Any:
    """A recorded (wire-shaped) value as a typed program passes it for `annotation`."""
    annotation, fields, origin, params = _shape(annotation)
    if fields is not None and isinstance(value, dict):
        return annotation(**typed_arguments(value, fields))
    if origin in _SEQUENCES and isinstance(value, list) and params:
        return [_convert(item, params[0]) for item in value]
    if origin in _MAPPINGS and isinstance(value, dict) and len(params) == 2:
        return {key: _convert(item, params[1]) for key, item in value.items()}
    if isinstance(value, dict) and set(value) == {"archive"} and "path" in value["archive"]:
        return pulumi.FileArchive(value["archive"]["path"])
    return value


def typed_arguments(inputs: dict[str, Any], fields: dict[str, tuple[str, Any]]) -> dict[str, Any]:
    """Recorded camelCase inputs as the snake_case keyword arguments of an input type.

    An input the type does not declare is an error: the baseline would register less
    than the real run did.
    """
    unknown = sorted(set(inputs) - set(fields))
    if unknown:
        raise KeyError(f"inputs {unknown} are not declared by the provider's input type")
    return {
        fields[wire][0]: _convert(value, fields[wire][1])
        for wire, value in inputs.items()
        if value is not None
    }


def typed_resource(entry: dict[str, Any], opts: pulumi.ResourceOptions) -> pulumi.Resource:
    """One recorded custom resource through its pulumi-aws class, with keyword arguments."""
    cls, fields = _resource(entry["type"])
    resource: pulumi.Resource = cls(
        entry["name"], opts=opts, **typed_arguments(entry["inputs"], fields)
    )
    return resource
