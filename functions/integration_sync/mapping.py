"""Apply the integration's FIELD_MAPPING to a change, giving the target write.

Example::

    write = to_target_write(change, settings.mapping)
    client.upsert(write.object, write.external_id_field, write.external_id, write.body)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from integration_sync.config import ObjectMapping
from integration_sync.envelope import DELETE, Change
from integration_sync.errors import SchemaMismatch

_SCALARS = (str, int, float, bool, type(None))
_MISSING = object()


@dataclass(frozen=True)
class TargetWrite:
    """An idempotent write: upsert (or delete) ``object`` keyed by its external id."""

    object: str
    external_id_field: str
    external_id: str
    body: dict[str, Any]
    delete: bool = False


def normalise_object_name(name: str) -> str:
    """``OrderChangeEvent``, ``HW_Order__c``, ``HwOrder``, ``hw-order`` -> ``order``, ``hworder``.

    Roadmap object names are lower-case with hyphens; Salesforce API names are CamelCase or
    underscored, with ``__c`` (custom object), ``__e`` (platform event) or ``ChangeEvent``
    (``__ChangeEvent`` for custom objects) suffixes (Change Data Capture Developer Guide,
    "Change Event Object Support"). Case, hyphens and underscores are not significant.
    """
    name = re.sub(r"(__ChangeEvent|ChangeEvent|__c|__e)$", "", name)
    return re.sub(r"[-_]", "", name).lower()


def find_object_mapping(obj: str, mapping: Mapping[str, ObjectMapping]) -> ObjectMapping:
    """The mapping whose source API name (or slug) is ``obj``; else SchemaMismatch.

    An exact name wins; otherwise the one mapping whose names normalise alike. Two such
    mappings are ambiguous and refused rather than guessed.
    """
    for spec in mapping.values():
        if obj in (spec.source_object, spec.name):
            return spec
    wanted = normalise_object_name(obj)
    matches = [
        spec
        for spec in mapping.values()
        if wanted in (normalise_object_name(spec.source_object), normalise_object_name(spec.name))
    ]
    if len(matches) == 1:
        return matches[0]
    known = sorted(f"{s.name} ({s.source_object})" for s in mapping.values())
    if matches:
        raise SchemaMismatch(
            f"object {obj!r} matches several FIELD_MAPPING entries "
            f"{sorted(s.name for s in matches)}; give each its api_name in the roadmap"
        )
    raise SchemaMismatch(f"object {obj!r} is not in FIELD_MAPPING (known: {known})")


def api_names(obj: str, mapping: Mapping[str, ObjectMapping]) -> tuple[str, str]:
    """(source, target) API names of a roadmap object; the slug itself when it is unmapped."""
    spec = mapping.get(obj)
    return (spec.source_object, spec.target_object) if spec else (obj, obj)


def to_target_write(change: Change, mapping: Mapping[str, ObjectMapping]) -> TargetWrite | None:
    """Map a change to its target write; None when no mapped field changed (nothing to do)."""
    spec = find_object_mapping(change.object, mapping)
    external_id = _external_id(change, spec)
    if change.operation == DELETE:
        return TargetWrite(spec.target_object, spec.external_id, external_id, {}, delete=True)

    body: dict[str, Any] = {}
    for source_field, target_field in spec.fields.items():
        if target_field == spec.external_id:
            continue  # carried in the URL: upsert by external id
        value = _lookup(change.fields, source_field)
        if value is _MISSING:
            continue
        if not isinstance(value, _SCALARS):
            raise SchemaMismatch(
                f"{change.object}.{source_field} is a {type(value).__name__}, the target field "
                f"{target_field!r} takes a scalar; map its parts ({source_field}.<part>)"
            )
        body[target_field] = value
    if not body:
        if change.changed_fields or change.origin == "salesforce-cdc":
            # A CDC UPDATE that touched only unmapped fields: nothing for this target.
            return None
        raise SchemaMismatch(
            f"{change.object} record has none of the mapped fields {sorted(spec.fields)}"
        )
    return TargetWrite(spec.target_object, spec.external_id, external_id, body)


def _external_id(change: Change, spec: ObjectMapping) -> str:
    """The value stored in the target's external id field, from the mapped source field."""
    for source_field, target_field in spec.fields.items():
        if target_field == spec.external_id:
            value = _lookup(change.fields, source_field)
            if value not in (_MISSING, None, ""):
                return str(value)
            raise SchemaMismatch(
                f"{change.object} record lacks {source_field!r}, the source of external id "
                f"{spec.external_id!r}"
            )
    if change.record_id:
        return change.record_id
    raise SchemaMismatch(f"{change.object} record has no id for external id {spec.external_id!r}")


def _lookup(fields: Mapping[str, Any], path: str) -> Any:
    """Read ``a.b`` from nested dicts (Salesforce compound fields such as BillingAddress.City)."""
    value: Any = fields
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value
