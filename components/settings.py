"""Per-environment settings, read from `stacks/Pulumi.<env>.yaml` or from Pulumi config.

The same model is filled either way: by the program under the real engine (through
`pulumi.Config`) and by the CLI reading the stack file directly, so `plan`, `check` and
`rehearse` see exactly what `pulumi up` would.

Usage::

    settings = load_stack_settings(Path("stacks"), "prod")
    settings.max_rotation_days  # 30
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from components.roadmap import ENVIRONMENTS, Problem, RoadmapFileError, format_loc, read_yaml

__all__ = [
    "CONFIG_NAMESPACE",
    "AlarmEndpoint",
    "AlarmRouting",
    "StackSettings",
    "StackSettingsError",
    "load_stack_settings",
    "settings_from_config",
    "stack_file",
]

CONFIG_NAMESPACE = "integration-provisioner"

# CloudWatch Logs accepts only these retention values (PutRetentionPolicy API reference).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827)


class AlarmEndpoint(BaseModel):
    """Where one alert path's SNS topic delivers."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    protocol: Literal["email", "https", "sqs", "lambda"]
    endpoint: str = Field(min_length=3)


class AlarmRouting(BaseModel):
    """How alert paths map to subscriptions in this environment."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    fallback_email: str | None = Field(default=None, alias="fallbackEmail")
    endpoints: dict[str, AlarmEndpoint] = Field(default_factory=dict)

    def endpoint_for(self, alert_path: str) -> AlarmEndpoint | None:
        """The explicit endpoint, an `email:` path's own address, or the fallback email."""
        if alert_path in self.endpoints:
            return self.endpoints[alert_path]
        channel, _, target = alert_path.partition(":")
        if channel == "email":
            return AlarmEndpoint(protocol="email", endpoint=target)
        if self.fallback_email:
            return AlarmEndpoint(protocol="email", endpoint=self.fallback_email)
        return None


class StackSettings(BaseModel):
    """Everything that differs between dev, staging and prod."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    environment: Literal["dev", "staging", "prod"]
    region: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    account_id: str = Field(alias="accountId", pattern=r"^\d{12}$")
    max_rotation_days: int = Field(alias="maxRotationDays", ge=1, le=365)
    log_retention_days: int = Field(alias="logRetentionDays")
    alarm_routing: AlarmRouting = Field(alias="alarmRouting", default_factory=AlarmRouting)
    protect_stateful: bool = Field(alias="protectStateful", default=False)
    salesforce_api_allocation: int | None = Field(
        alias="salesforceApiAllocation", default=None, gt=0
    )
    kill_switch: tuple[str, ...] = Field(alias="killSwitch", default=())
    permissions_boundary_arn: str | None = Field(alias="permissionsBoundaryArn", default=None)
    roadmap: str = "roadmap.yaml"

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, days: int) -> int:
        if days not in LOG_RETENTION_DAYS:
            allowed = ", ".join(map(str, LOG_RETENTION_DAYS))
            raise ValueError(f"{days} is not a CloudWatch Logs retention; use one of: {allowed}")
        return days

    def trigger_enabled(self, integration: str) -> bool:
        """False when the kill switch holds the integration's triggers off (rollback)."""
        return integration not in self.kill_switch


class StackSettingsError(Exception):
    """The stack file is missing or its settings are invalid; message names file and key."""


def stack_file(stacks_dir: Path, environment: str) -> Path:
    return stacks_dir / f"Pulumi.{environment}.yaml"


def _from_mapping(values: dict[str, Any], source: str, environment: str) -> StackSettings:
    if values.get("environment", environment) != environment:
        raise StackSettingsError(
            f"{source}: config.{CONFIG_NAMESPACE}:environment: says "
            f"{values['environment']!r} but the stack is {environment!r}; make them match"
        )
    try:
        return StackSettings.model_validate({"environment": environment, **values})
    except ValidationError as err:
        lines = []
        for e in err.errors(include_url=False):
            loc = format_loc(e["loc"])
            key = f"config.{'aws:region' if loc == 'region' else f'{CONFIG_NAMESPACE}:{loc}'}"
            lines.append(Problem(key, e["msg"].removeprefix("Value error, ")).render(source))
        raise StackSettingsError("\n".join(lines)) from None


def load_stack_settings(stacks_dir: Path, environment: str) -> StackSettings:
    """Read `stacks/Pulumi.<environment>.yaml` into StackSettings."""
    if environment not in ENVIRONMENTS:
        raise StackSettingsError(
            f"unknown stack {environment!r}; use one of: {', '.join(ENVIRONMENTS)}"
        )
    path = stack_file(stacks_dir, environment)
    try:
        document = read_yaml(path)
    except RoadmapFileError as err:
        raise StackSettingsError(str(err)) from None
    config = (document or {}).get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise StackSettingsError(f"{path}: expected a top-level 'config:' mapping")
    values: dict[str, Any] = {}
    prefix = f"{CONFIG_NAMESPACE}:"
    for key, value in config.items():
        if key == "aws:region":
            values["region"] = value
        elif isinstance(key, str) and key.startswith(prefix):
            values[key.removeprefix(prefix)] = value
    return _from_mapping(values, str(path), environment)


# Pulumi config hands structured values over as JSON text; these keys are plain text.
_TEXT_KEYS = frozenset({"environment", "accountId", "permissionsBoundaryArn", "roadmap"})


def settings_from_config(environment: str, get: Any, region: str | None) -> StackSettings:
    """Build settings from Pulumi config; `get(key)` returns the raw string or None.

    Structured values (objects, lists, numbers, booleans) arrive JSON-encoded, as
    `pulumi.Config.get` returns them; text keys are taken as they are.
    """
    # Every setting the model knows, by its config key (the alias); region comes from aws:.
    keys = [f.alias or n for n, f in StackSettings.model_fields.items() if n != "region"]
    values: dict[str, Any] = {}
    for key in keys:
        raw = get(key)
        if raw is None:
            continue
        if key in _TEXT_KEYS:  # a 12-digit account id is text, not a number
            values[key] = raw
            continue
        try:
            values[key] = json.loads(raw)
        except (TypeError, ValueError):
            values[key] = raw
    if region is not None:
        values["region"] = region
    return _from_mapping(values, f"Pulumi.{environment}.yaml", environment)
