"""Declaring a policy: its name, description, config schema and check, in one call.

Every policy of the pack is mandatory. A resource policy's check runs only on the types it
names and reads the resource as a `Subject` (plain props, its config, the `[integration]
name` its messages open with), so no rule repeats those opening lines; a stack policy's
check reads the whole stack (`StackView.shared`). The check keeps its rationale and its
config in its docstring.

Usage::

    def kms_key_rotation(key: Subject, report: Report) -> None:
        '''Every symmetric customer-managed KMS key rotates (rationale...).'''
        if key.props.get("enableKeyRotation") is not True:
            report(f"{key.who} has key rotation off. Fix: set enable_key_rotation=True.")

    KMS_KEY_ROTATION = resource_policy(
        "kms-key-rotation-enabled", "Customer-managed KMS keys rotate automatically.",
        kms_key_rotation, KMS_KEY,
    )
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._common import integration_hint, label, plain

__all__ = ["Report", "Subject", "resource_policy", "stack_policy"]

# A resource policy's violations are about the resource judged: only the message varies.
Report = Callable[[str], None]
StackCheck = Callable[[StackValidationArgs, ReportViolation], None]


class Subject:
    """The one resource a resource policy judges, read once for its check."""

    def __init__(self, args: ResourceValidationArgs) -> None:
        self._args = args
        self.type: str = args.resource_type
        self.name: str = args.name

    @cached_property
    def props(self) -> dict[str, Any]:
        """The resource's inputs as plain values (unknowns as the engine's sentinels)."""
        return plain(self._args.props)

    @cached_property
    def config(self) -> Mapping[str, Any]:
        """The policy's config: schema defaults, the pack's, then `--policy-pack-config`."""
        return self._args.get_config()

    @cached_property
    def owner_label(self) -> str:
        """`[integration] ` (empty when no integration owns it), as messages open."""
        return label(integration_hint(self.props, self.name))

    @property
    def who(self) -> str:
        """`[integration] name`, as every message about the resource opens."""
        return f"{self.owner_label}{self.name}"


ResourceCheck = Callable[[Subject, Report], None]


def _mandatory(config: Mapping[str, dict[str, Any]] | None) -> dict[str, Any]:
    """What every policy of the pack is declared with besides its name and check."""
    return {
        "enforcement_level": EnforcementLevel.MANDATORY,
        "config_schema": PolicyConfigSchema(properties=dict(config)) if config else None,
    }


def resource_policy(
    name: str,
    description: str,
    check: ResourceCheck,
    *types: str,
    config: Mapping[str, dict[str, Any]] | None = None,
) -> ResourceValidationPolicy:
    """A mandatory policy running `check` on each resource of `types` (every type if none);
    `config` is its config schema's properties."""
    wanted = frozenset(types)

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if wanted and args.resource_type not in wanted:
            return
        check(Subject(args), lambda message: report(message, None))

    validate.__doc__ = check.__doc__
    return ResourceValidationPolicy(name, description, validate, **_mandatory(config))


def stack_policy(
    name: str,
    description: str,
    check: StackCheck,
    *,
    config: Mapping[str, dict[str, Any]] | None = None,
) -> StackValidationPolicy:
    """A mandatory policy running `check` over the stack; `config` as `resource_policy`'s."""
    return StackValidationPolicy(name, description, check, **_mandatory(config))
