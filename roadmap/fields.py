"""What every entry of the roadmap is built from: the name rules and the frozen base model.

Usage::

    from roadmap.fields import Name, StrictModel

    class Team(StrictModel):
        name: Name
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from contract.alerting import ALERT_CHANNELS, ALERT_PATH
from contract.naming import SLUG_PATTERN
from roadmap.problems import allowed_pattern

__all__ = [
    "ALERT_PATH_PATTERN",
    "API_NAME_PATTERN",
    "NAME_PATTERN",
    "SCHEDULE_PATTERN",
    "Name",
    "StrictModel",
]

# Lower-case letters, digits and hyphens, 3-32 characters: usable inside every AWS name;
# `contract.naming` keeps the physical names built from it within AWS's limits.
NAME_WORDS = (
    "3-32 lower-case letters, digits or hyphens, starting with a letter and ending with "
    "a letter or digit"
)
NAME_PATTERN = allowed_pattern(SLUG_PATTERN, NAME_WORDS)
Name = Annotated[str, Field(pattern=NAME_PATTERN, description=NAME_WORDS)]
# A system's own name for an object: it ends up in an API path segment (Salesforce
# `/sobjects/HW_Order__c/...`), so letters, digits, underscores and hyphens only.
API_NAME_PATTERN = allowed_pattern(
    r"^[A-Za-z][A-Za-z0-9_-]{0,79}$",
    "1-80 letters, digits, underscores or hyphens, starting with a letter (e.g. HW_Order__c)",
)
ALERT_PATH_PATTERN = allowed_pattern(
    ALERT_PATH,
    f"<channel>:<target>, the channel one of {', '.join(ALERT_CHANNELS[:-1])} or "
    f"{ALERT_CHANNELS[-1]} and the target "
    "2-100 letters, digits or @ . _ + - (e.g. pagerduty:revops-oncall)",
)
SCHEDULE_PATTERN = re.compile(
    r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\((\S+ ){5}\S+\))$"
)


class StrictModel(BaseModel):
    """A roadmap entry: unknown keys are refused, and a loaded entry never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)
