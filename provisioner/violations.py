"""A policy violation: what the policy pack reports, and whose resource it is once known.

The harness (`provisioner.policy_harness`) reads violations off the pack's answers; the
report and `provisioner promote` attribute each to the integration owning its resource.
This module imports nothing heavy, so the report reads violations without loading gRPC.

Usage::

    violation = Violation("dlq-present", "mandatory", urn, "no DLQ", "quote-to-order")
    violation.mandatory  # True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["Violation"]


@dataclass(frozen=True)
class Violation:
    """One policy violation, as `provisioner check --json` prints it."""

    policy: str
    level: str
    urn: str
    message: str
    # Whose resource it is (the integration's name), when attributed; the pack never knows.
    integration: str | None = None

    @property
    def mandatory(self) -> bool:
        return self.level == "mandatory"

    def as_dict(self) -> dict[str, str]:
        """Its fields; `integration` only once attributed."""
        return {k: v for k, v in asdict(self).items() if v is not None}
