"""The policy pack's config as the engine merges it: the stack's settings, the pack config
file of a stack (`config.<stack>.json`, else its environment's), and the merge of schema
defaults, the pack's initial config and that file, validated against each policy's schema.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
from google.protobuf import json_format
from pulumi.runtime.proto import analyzer_pb2

from provisioner.paths import POLICY_PACK_DIR, STACKS_DIR
from provisioner.policy_harness.wire import LEVEL_VALUES, LEVELS


class PolicyConfigError(ValueError):
    """The merged policy config does not satisfy the policies' schemas (as the engine checks)."""


def stack_config(stack: str, stacks_dir: Path = STACKS_DIR) -> dict[str, str]:
    """The stack's config as the engine passes it to a pack: every value a string (JSON)."""
    from provisioner.program import stack_config as program_config

    return program_config(stack, stacks_dir)


def pack_config_file(
    stack: str, environment: str | None = None, pack_dir: Path = POLICY_PACK_DIR
) -> Path | None:
    """The file passed as `--policy-pack-config` for `stack`: `<pack>/config.<stack>.json`,
    else its environment's `config.<environment>.json` (`dev-alice` checks as dev), else None.
    """
    for name in dict.fromkeys((stack, environment or stack)):
        path = pack_dir / f"config.{name}.json"
        if path.exists():
            return path
    return None


def load_pack_config(
    stack: str, pack_dir: Path = POLICY_PACK_DIR, *, environment: str | None = None
) -> dict[str, Any]:
    """The pack config of `stack` (`pack_config_file`) as a dict; {} when there is none."""
    path = pack_config_file(stack, environment, pack_dir)
    if path is None:
        return {}
    try:
        loaded = json.loads(path.read_text())
    except ValueError as err:
        raise PolicyConfigError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(loaded, dict):
        raise PolicyConfigError(f"{path}: expected a JSON object of policy name -> config")
    return loaded


def _split(value: Any, source: str, name: str) -> tuple[str | None, dict[str, Any]]:
    """(enforcement level, properties) of one policy's entry, as the engine parses it."""
    if isinstance(value, str):
        level, props = value, {}
    elif isinstance(value, Mapping):
        props = dict(value)
        level = props.pop("enforcementLevel", None)
    else:
        raise PolicyConfigError(f"{source}: {name}: expected a level or an object")
    if level is not None and level not in LEVEL_VALUES:
        raise PolicyConfigError(f"{source}: {name}: {level!r} is not an enforcement level")
    return level, props


def reconcile_config(
    info: analyzer_pb2.AnalyzerInfo, config: Mapping[str, Any] | None = None
) -> dict[str, tuple[str, dict[str, Any]]]:
    """The engine's merge: schema defaults, then the pack's initial config, then `config`."""
    result: dict[str, tuple[str, dict[str, Any]]] = {}
    schemas: dict[str, dict[str, Any]] = {}
    for policy in info.policies:
        schema = json_format.MessageToDict(policy.configSchema)
        schemas[policy.name] = schema
        defaults = {
            k: copy.deepcopy(v["default"])
            for k, v in schema.get("properties", {}).items()
            if isinstance(v, dict) and "default" in v
        }
        result[policy.name] = (LEVELS[policy.enforcementLevel], defaults)
    initial = {
        name: (
            LEVELS[c.enforcementLevel] if c.enforcementLevel or not c.properties else None,
            json_format.MessageToDict(c.properties),
        )
        for name, c in info.initialConfig.items()
    }
    given = {name: _split(v, "policy config", name) for name, v in (config or {}).items()}
    for layer in (initial, given):
        all_level = layer.get("all", (None, {}))[0]
        if all_level:
            result = {k: (all_level, props) for k, (_, props) in result.items()}
        for name, (level, props) in layer.items():
            if name == "all" and name not in result:
                continue
            old_level, old_props = result.get(name, ("advisory", {}))
            result[name] = (level or old_level, {**old_props, **props})
    _validate(result, schemas)
    return result


def _validate(
    config: Mapping[str, tuple[str, dict[str, Any]]], schemas: Mapping[str, dict[str, Any]]
) -> None:
    problems = []
    for name, schema in schemas.items():
        document = {"type": "object", **schema}
        document.setdefault("properties", {})["enforcementLevel"] = {
            "type": "string",
            "enum": list(LEVEL_VALUES),
        }
        props = config.get(name, ("", {}))[1]
        for error in jsonschema.Draft7Validator(document).iter_errors(props):
            path = ".".join(str(p) for p in error.absolute_path)
            problems.append(f"{name}{'.' + path if path else ''}: {error.message}")
    if problems:
        raise PolicyConfigError("invalid policy pack config:\n  " + "\n  ".join(problems))
