"""A stack's settings read from `stacks/Pulumi.<stack>.yaml` or from Pulumi config.

The same model (`roadmap.settings.StackSettings`) is filled either way: by the program
under the real engine (through `pulumi.Config`) and by the CLI reading the stack file
directly, so `plan`, `check` and `rehearse` see exactly what `pulumi up` would. A stack
named after an environment is that environment; any other says whose rules it follows.

Usage::

    settings = load_stack_settings(Path("stacks"), "prod")
    settings.max_rotation_days  # 30
    load_stack_settings(Path("stacks"), "dev-alice").environment  # 'dev'
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from contract.naming import CONFIG_NAMESPACE, PREFIX_PATTERN, SECRET
from contract.phases import ENVIRONMENTS
from roadmap.io import SourceFileError, read_yaml
from roadmap.problems import Problem, format_loc, plain_message
from roadmap.settings import AWS_KEYS, STACK_NAME_PATTERN, StackSettings

__all__ = [
    "StackSettingsError",
    "known_stacks",
    "load_stack_settings",
    "read_stack_config",
    "settings_from_config",
    "stack_file",
]


class StackSettingsError(Exception):
    """The stack file is missing or its settings are invalid; message names file and key."""


def stack_file(stacks_dir: Path, stack: str) -> Path:
    return stacks_dir / f"Pulumi.{stack}.yaml"


def known_stacks(stacks_dir: Path) -> list[str]:
    """The stacks that have a settings file in `stacks_dir`, sorted."""
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in stacks_dir.glob("Pulumi.*.yaml"))


def _config_key(field: str) -> str:
    """The stack file's key of a model field (`region` -> `aws:region`)."""
    for key, name in AWS_KEYS.items():
        if field == name or field.startswith((f"{name}.", f"{name}[")):
            return key + field[len(name) :]
    return f"{CONFIG_NAMESPACE}:{field}"


def _from_mapping(values: dict[str, Any], source: str, stack: str) -> StackSettings:
    env_key = f"config.{CONFIG_NAMESPACE}:environment"
    if "environment" not in values:
        if stack not in ENVIRONMENTS:
            raise StackSettingsError(
                f"{source}: {env_key}: missing; stack {stack!r} is not itself an environment, "
                f"so say whose rules it follows: one of {', '.join(ENVIRONMENTS)}"
            )
        values = {**values, "environment": stack}
    elif stack in ENVIRONMENTS and values["environment"] != stack:
        raise StackSettingsError(
            f"{source}: {env_key}: says {values['environment']!r} but the stack is {stack!r}; "
            "make them match (a stack named after an environment is that environment)"
        )
    if "namePrefix" not in values:
        if not re.match(PREFIX_PATTERN, stack):
            raise StackSettingsError(
                f"{source}: config.{CONFIG_NAMESPACE}:namePrefix: missing, and the stack name "
                f"{stack!r} cannot prefix AWS names; set a prefix matching {PREFIX_PATTERN}"
            )
        values = {**values, "namePrefix": stack}
    try:
        return StackSettings.model_validate(values)
    except ValidationError as err:
        lines = []
        for e in err.errors(include_url=False):
            key = f"config.{_config_key(format_loc(e['loc']))}"
            lines.append(Problem(key, plain_message(e)).render(source))
        raise StackSettingsError("\n".join(lines)) from None


def _without_secure(value: Any) -> tuple[Any, bool]:
    """`value` with every `{secure: <ciphertext>}` replaced by SECRET, and whether it had one.

    Pulumi writes a secret config value (also one nested in an object, set with `--path`)
    as a mapping with the single key `secure`; only the engine can decrypt it.
    """
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET, True
        pairs = {k: _without_secure(v) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(s for _, s in pairs.values())
    if isinstance(value, list):
        items = [_without_secure(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


def read_stack_config(stacks_dir: Path, stack: str) -> tuple[dict[str, Any], frozenset[str]]:
    """The `config:` mapping of a stack file, `secure:` values replaced by SECRET, and the
    full keys (`integration-provisioner:alarmRouting`) that held one.

    Nothing is decrypted: offline, a secret is known only to be one. Other top-level keys
    (`environment:` imports of Pulumi ESC, `secretsprovider:`, `encryptedkey:`) belong to
    the engine and are left to it.
    """
    path = stack_file(stacks_dir, stack)
    if not re.match(STACK_NAME_PATTERN, stack) or not path.is_file():
        known = ", ".join(known_stacks(stacks_dir)) or "none"
        raise StackSettingsError(
            f"unknown stack {stack!r}: no {path}; use one of: {known} (or create its stack "
            "file, declaring integration-provisioner:environment)"
        )
    try:
        document = read_yaml(path)
    except SourceFileError as err:
        raise StackSettingsError(str(err)) from None
    config = (document or {}).get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise StackSettingsError(f"{path}: expected a top-level 'config:' mapping")
    plain: dict[str, Any] = {}
    secret: set[str] = set()
    for key, value in config.items():
        plain[str(key)], is_secret = _without_secure(value)
        if is_secret:
            secret.add(str(key))
    return plain, frozenset(secret)


def load_stack_settings(stacks_dir: Path, stack: str) -> StackSettings:
    """Read `stacks/Pulumi.<stack>.yaml` into StackSettings (secure values as SECRET)."""
    path = stack_file(stacks_dir, stack)
    config, secret = read_stack_config(stacks_dir, stack)
    values: dict[str, Any] = {}
    prefix = f"{CONFIG_NAMESPACE}:"
    for key, value in config.items():
        if key in AWS_KEYS:
            values[AWS_KEYS[key]] = value
        elif key.startswith(prefix):
            values[key.removeprefix(prefix)] = value
    values["secret_keys"] = frozenset(k.removeprefix(prefix) for k in secret)
    return _from_mapping(values, str(path), stack)


# Pulumi config hands structured values over as JSON text; these keys are plain text.
_TEXT_KEYS = frozenset(
    {"environment", "namePrefix", "permissionsBoundaryArn", "roadmap", "auditTrail"}
)


def settings_from_config(
    stack: str, get: Any, aws_get: Any, is_secret: Any = lambda key: False
) -> StackSettings:
    """Build settings from Pulumi config; `get(key)` and `aws_get(key)` return the raw
    string or None for a key of this project's namespace and of `aws:`; `is_secret(key)`
    says whether the engine marked a key of this namespace secret.

    Structured values (objects, lists, numbers, booleans) arrive JSON-encoded, as
    `pulumi.Config.get` returns them; text keys are taken as they are.
    """
    # Every setting the model knows, by its config key (the alias) and namespace.
    aws_fields = {name: key.removeprefix("aws:") for key, name in AWS_KEYS.items()}
    values: dict[str, Any] = {}
    for name, info in StackSettings.model_fields.items():
        key = info.alias or name
        if info.exclude:  # not a config key
            continue
        raw = aws_get(aws_fields[key]) if key in aws_fields else get(key)
        if raw is None:
            continue
        if key in _TEXT_KEYS:  # a 12-digit account id is text, not a number
            values[key] = raw
            continue
        try:
            values[key] = json.loads(raw) if key != "region" else raw
        except (TypeError, ValueError):
            values[key] = raw
    values["secret_keys"] = frozenset(k for k in values if k not in aws_fields and is_secret(k))
    return _from_mapping(values, f"Pulumi.{stack}.yaml", stack)
