"""Helpers shared by the policies: plain values, unknowns, tags, IAM documents, config.

Policies receive `args.props` as a read-only Mapping proxy that raises on values unknown
during preview. `plain()` turns it into ordinary dicts and lists in which an unknown value is
left as the engine's sentinel string, so a policy can say "cannot judge" (`is_unknown`) instead
of failing or reporting a false violation.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi.runtime
from pulumi_policy.deserialize import serialize_properties
from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

from contract.alerting import ALERT_PATH
from contract.aws_types import (
    IAM_GROUP_POLICY,
    IAM_POLICY,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_USER_POLICY,
    KMS_KEY,
    S3_BUCKET_POLICY,
    SECRETS_MANAGER_SECRET_POLICY,
    SNS_TOPIC,
    SNS_TOPIC_POLICY,
    SQS_QUEUE,
    SQS_QUEUE_POLICY,
)
from contract.naming import CONFIG_NAMESPACE, SLUG_PATTERN
from contract.phases import ENVIRONMENTS

from ._once import DictProxy, ListProxy

# The stack settings namespace (docs/contracts.md "Stack settings"); the engine passes the
# stack's config to the pack in PULUMI_CONFIG, which pulumi.runtime reads on every call.
NAME_RE = re.compile(SLUG_PATTERN)
ALERT_PATH_RE = re.compile(ALERT_PATH)

_UNKNOWNS = frozenset(
    (
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    )
)


def plain(props: Mapping[str, Any]) -> dict[str, Any]:
    """The props as plain dicts/lists; unknown values stay as sentinel strings.

    The SDK wraps the deserialized props in proxies that raise on unknown values and hands
    out their targets under the key `"__target"` (pulumi-policy 1.21.0, `proxy.py`);
    unwrapping them is much faster than `serialize_properties`, which every policy would
    otherwise pay on every resource. Anything else goes through `serialize_properties`.
    """
    if isinstance(props, DictProxy):
        return _unwrapped(props)  # type: ignore[no-any-return]
    return dict(serialize_properties(props))


def _unwrapped(value: Any) -> Any:
    if isinstance(value, DictProxy):
        return {k: _unwrapped(v) for k, v in value["__target"].items()}
    if isinstance(value, ListProxy):
        return [_unwrapped(v) for v in value["__target"]]
    return value


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value in _UNKNOWNS


def contains_unknown(value: Any) -> bool:
    if is_unknown(value):
        return True
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False


def as_int(value: Any) -> int | None:
    """Numbers arrive as floats through protobuf Struct; None when absent or unknown."""
    if isinstance(value, bool) or value is None or is_unknown(value):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def tags_of(props: Mapping[str, Any]) -> dict[str, str] | None:
    """The resource's tags; None when they are unknown (cannot judge)."""
    tags = props.get("tags")
    if is_unknown(tags):
        return None
    if not isinstance(tags, dict):
        return {}
    return {k: v for k, v in tags.items() if isinstance(v, str)}


def label(integration: str | None) -> str:
    return f"[{integration}] " if integration else ""


def integration_from_name(name: str, known: set[str] | frozenset[str] = frozenset()) -> str | None:
    """Longest known integration name that prefixes the logical name `{integration}-{role}`."""
    best = None
    for integ in known:
        if name.startswith(f"{integ}-") and (best is None or len(integ) > len(best)):
            best = integ
    return best


# ---------------------------------------------------------------------------- stack settings


def stack_setting(key: str) -> str | None:
    """A stack setting as the engine passes it (PULUMI_CONFIG), e.g. `environment`."""
    try:
        value = pulumi.runtime.get_config(f"{CONFIG_NAMESPACE}:{key}")
    except Exception:  # the runtime may be unconfigured outside the engine
        value = None
    return value if isinstance(value, str) else None


def environment_of(tags: Mapping[str, str] | None) -> str | None:
    """The resource's `environment` tag, else the stack's setting, else the stack's name."""
    for candidate in (
        (tags or {}).get("environment"),
        stack_setting("environment"),
        os.environ.get("PULUMI_STACK"),
    ):
        if candidate in ENVIRONMENTS:
            return candidate
    return None


def config_int(config: Mapping[str, Any], key: str, default: int) -> int:
    value = as_int(config.get(key))
    return default if value is None else value


@dataclass(frozen=True)
class EnvironmentBound:
    """A number bounded for every environment (`key`) and per environment (`{key}ByEnvironment`),
    as the pack's config sets it: e.g. `maxRotationDays` and `maxRotationDaysByEnvironment`."""

    key: str
    default: int
    by_environment: Mapping[str, int]

    def schema(self) -> dict[str, dict[str, Any]]:
        """The two config schema properties, each a positive integer."""
        positive = {"type": "integer", "minimum": 1}
        return {
            self.key: {**positive, "default": self.default},
            f"{self.key}ByEnvironment": {
                "type": "object",
                "additionalProperties": positive,
                "default": dict(self.by_environment),
            },
        }

    def values(self, config: Mapping[str, Any], environment: str | None) -> list[int]:
        """The bound for every environment, then this environment's when it has one (the
        schema default applies when the engine sent none)."""
        found = [config_int(config, self.key, self.default)]
        table = config.get(f"{self.key}ByEnvironment", self.by_environment)
        if environment is not None and isinstance(table, Mapping):
            value = as_int(table.get(environment))
            if value is not None:
                found.append(value)
        return found


def list_schema(default: list[str]) -> dict[str, Any]:
    """Config schema of a list of strings, which `config_list` reads."""
    return {"type": "array", "items": {"type": "string"}, "default": default}


def config_list(config: Mapping[str, Any], key: str, default: list[str]) -> list[str]:
    value = config.get(key)
    return [str(v) for v in as_list(value)] if value is not None else list(default)


# ---------------------------------------------------------------------------- IAM documents

# Where each resource type keeps its policy documents: (field, kind). Identity policies grant
# a principal access; resource policies say who may use the resource.
IDENTITY = "identity"
RESOURCE = "resource"
POLICY_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    IAM_ROLE_POLICY: (("policy", IDENTITY),),
    IAM_POLICY: (("policy", IDENTITY),),
    IAM_USER_POLICY: (("policy", IDENTITY),),
    IAM_GROUP_POLICY: (("policy", IDENTITY),),
    SQS_QUEUE_POLICY: (("policy", RESOURCE),),
    SQS_QUEUE: (("policy", RESOURCE),),
    SNS_TOPIC_POLICY: (("policy", RESOURCE),),
    SNS_TOPIC: (("policy", RESOURCE),),
    SECRETS_MANAGER_SECRET_POLICY: (("policy", RESOURCE),),
    KMS_KEY: (("policy", RESOURCE),),
    S3_BUCKET_POLICY: (("policy", RESOURCE),),
}


# Every type `documents` finds a policy document in.
DOCUMENT_TYPES = frozenset({*POLICY_FIELDS, IAM_ROLE})


def parse_document(value: Any) -> dict[str, Any] | str | None:
    """A policy document from a JSON string or object; None if absent/unknown; str = error."""
    if value is None or value == "" or contains_unknown(value):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as err:
            return f"the policy is not valid JSON ({err})"
    return value if isinstance(value, dict) else "the policy is not a JSON object"


def statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [s for s in as_list(document.get("Statement")) if isinstance(s, dict)]


def documents(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """Every (field, kind, parsed document) the resource carries, incl. a role's inline ones."""
    for field, kind in POLICY_FIELDS.get(resource_type, ()):
        parsed = parse_document(props.get(field))
        if parsed is not None:
            yield field, kind, parsed
    if resource_type == IAM_ROLE:
        for i, inline in enumerate(as_list(props.get("inlinePolicies"))):
            if isinstance(inline, dict):
                parsed = parse_document(inline.get("policy"))
                if parsed is not None:
                    yield f"inlinePolicies[{i}].policy", IDENTITY, parsed


def action_matches(pattern: str, action: str) -> bool:
    """IAM action matching: case-insensitive, `*` and `?` wildcards."""
    regex = re.escape(pattern.lower()).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, action.lower()) is not None


def is_wildcard_resource(resource: Any) -> bool:
    """`*`, or an ARN whose every part after the service is a wildcard."""
    if not isinstance(resource, str):
        return False
    if resource == "*":
        return True
    parts = resource.split(":", 5)
    return len(parts) == 6 and all(p in ("", "*") for p in parts[3:]) and parts[5] == "*"


def condition_keys(statement: Mapping[str, Any]) -> set[str]:
    keys: set[str] = set()
    condition = statement.get("Condition")
    if isinstance(condition, dict):
        for block in condition.values():
            if isinstance(block, dict):
                keys.update(k.lower() for k in block)
    return keys


def condition_values(statement: Mapping[str, Any], key: str) -> list[Any]:
    found: list[Any] = []
    condition = statement.get("Condition")
    if isinstance(condition, dict):
        for block in condition.values():
            if isinstance(block, dict):
                for k, v in block.items():
                    if k.lower() == key.lower():
                        found.extend(as_list(v))
    return found


# Roles from docs/contracts.md "Names": a logical name is `{integration}-{role}[-...]`.
_ROLE_RE = re.compile(
    r"-(role|policy|key|cred-[a-z0-9-]+|queue|dlq|consumer|batch|reconcile|rotation|state"
    r"|alerts|dashboard|alarm-[a-z0-9-]+)(-.*)?$"
)


def integration_hint(props: Mapping[str, Any], name: str) -> str | None:
    """The `integration` tag, else the name before its role suffix (for messages only)."""
    tags = tags_of(props) or {}
    if tags.get("integration"):
        return tags["integration"]
    match = _ROLE_RE.search(name)
    return name[: match.start()] if match and match.start() > 0 else None
