"""Exit-criteria evidence: what people record before an integration leaves a rollout phase.

Each phase of the roadmap article ends with exit criteria. Those a person vouches for are
recorded in the roadmap under the integration, keyed by the phase being left::

    evidence:
      1:                              # leaving discovery
        source_of_truth_matrix: {name: Priya Natarajan, email: priya@northwind.example,
                                 role: Enterprise architect, date: 2026-03-02,
                                 link: https://wiki.northwind.example/sot/quote-to-order}
      3:                              # leaving first workflow
        uat_signoff: {name: ..., email: ..., role: ..., date: 2026-06-11}
        rollback_plan: https://wiki.northwind.example/rollback/quote-to-order

Every item is optional in the file so evidence can be recorded as it arrives;
`missing(phase)` lists what a promotion out of that phase still needs. The form of what is
recorded is strict: https links, ISO dates not in the future, e-mail addresses.

Usage::

    from roadmap.evidence import Evidence, REQUIREMENTS

    evidence = Evidence.model_validate({3: {"rollback_plan": "https://wiki.example/rb"}})
    [r.field for r in evidence.missing(3)]  # ['uat_signoff', 'monitoring_confirmed', ...]
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from types import NoneType
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationError,
    model_validator,
)
from pydantic.fields import FieldInfo

from roadmap.fields import StrictModel

__all__ = [
    "PHASE_NAMES",
    "REQUIREMENTS",
    "AdjacentSystemsEvidence",
    "Approval",
    "AutomationEvidence",
    "CleanupEvidence",
    "DiscoveryEvidence",
    "Evidence",
    "FirstWorkflowEvidence",
    "Measurement",
    "Requirement",
    "SampleValidation",
    "SignOff",
]

PHASE_NAMES: dict[int, str] = {
    1: "discovery",
    2: "cleanup",
    3: "first workflow",
    4: "adjacent systems",
    5: "automation",
}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


def _iso_date(value: Any) -> dt.date:
    """Accept a YAML date or a 'YYYY-MM-DD' string; a date in the future is not evidence."""
    if isinstance(value, dt.datetime):
        value = value.date()
    elif isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("not an ISO date; write it as YYYY-MM-DD") from None
    elif not isinstance(value, dt.date):
        raise ValueError("expected an ISO date such as 2026-03-14")
    if value > dt.date.today():
        raise ValueError(
            f"{value.isoformat()} is in the future; record the date the evidence was given"
        )
    given: dt.date = value
    return given


def _https(value: str) -> str:
    """A well-formed https URL, kept as written (pydantic's HttpUrl would normalise it)."""
    try:
        url = HttpUrl(value)
    except ValidationError:
        raise ValueError(
            "not a URL; link to the document, e.g. https://wiki.example/page"
        ) from None
    if url.scheme != "https":
        raise ValueError("not an https link; evidence links must use https")
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("not an e-mail address like dana@northwind.example")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
HttpsLink = Annotated[str, Field(min_length=9, max_length=2000), AfterValidator(_https)]
Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]
Text = Annotated[str, Field(min_length=2, max_length=200)]


class SignOff(StrictModel):
    """Who agreed, in which role, and when; optionally where it is written down."""

    name: Text
    email: Email
    role: Text
    date: IsoDate
    link: HttpsLink | None = None


class Approval(SignOff):
    """A sign-off on a document, which must be linked."""

    link: HttpsLink


class SampleValidation(StrictModel):
    """Sample records checked against the target: how many, when, and the report."""

    link: HttpsLink
    records: int = Field(ge=1, description="number of sample records validated")
    date: IsoDate


class Measurement(StrictModel):
    """One measured improvement: a named metric before and after the automation."""

    metric: Text
    unit: str = Field(default="", max_length=40)
    before: float
    after: float
    better: Literal["lower", "higher"] = Field(description="which direction is an improvement")
    date: IsoDate
    link: HttpsLink | None = None

    @property
    def improved(self) -> bool:
        """True when `after` moved from `before` in the `better` direction."""
        return self.after < self.before if self.better == "lower" else self.after > self.before


_SIGNOFF = "{name: ..., email: ...@..., role: ..., date: YYYY-MM-DD}"
_MEASURE = "{metric: ..., unit: ..., before: N, after: N, better: lower|higher, date: YYYY-MM-DD}"


def _needed(what: str, example: str) -> Any:
    """A piece of evidence a phase's exit needs: what it is, and how to record it."""
    return Field(default=None, description=what, json_schema_extra={"example": example})


class DiscoveryEvidence(StrictModel):
    """Leaving discovery: the source-of-truth matrix is approved."""

    source_of_truth_matrix: Approval | None = _needed(
        "approval of the source-of-truth matrix (who owns each object and field)",
        "{name: ..., email: ..., role: ..., date: YYYY-MM-DD, link: https://...}",
    )


class CleanupEvidence(StrictModel):
    """Leaving cleanup: sample records validated and the sync rules signed off."""

    validated_samples: SampleValidation | None = _needed(
        "a report of sample records validated against the target",
        "{link: https://..., records: N, date: YYYY-MM-DD}",
    )
    sync_rules_signoff: SignOff | None = _needed("sign-off of the sync rules", _SIGNOFF)


class FirstWorkflowEvidence(StrictModel):
    """Leaving the first workflow: UAT, monitoring, rollback and the owner's sign-off."""

    uat_signoff: SignOff | None = _needed("user-acceptance-test sign-off", _SIGNOFF)
    monitoring_confirmed: SignOff | None = _needed(
        "confirmation that the alarms page the alert path", _SIGNOFF
    )
    rollback_plan: HttpsLink | None = _needed("a link to the rollback plan", "https://...")
    owner_signoff: SignOff | None = _needed("the owning team's sign-off", _SIGNOFF)


class AdjacentSystemsEvidence(StrictModel):
    """Leaving adjacent systems: reconciliation checks and a support runbook exist."""

    reconciliation_checks: HttpsLink | None = _needed(
        "a link to the reconciliation checks and their latest result", "https://..."
    )
    support_runbook: HttpsLink | None = _needed("a link to the support runbook", "https://...")


class AutomationEvidence(StrictModel):
    """The automation phase's exit: measured cycle-time, data-quality and adoption gains."""

    cycle_time: Measurement | None = _needed("measured cycle-time improvement", _MEASURE)
    data_quality: Measurement | None = _needed("measured data-quality improvement", _MEASURE)
    adoption: Measurement | None = _needed("measured adoption improvement", _MEASURE)


@dataclass(frozen=True)
class Requirement:
    """One piece of evidence a phase's exit needs, with an example of how to record it."""

    phase: int
    field: str
    what: str
    example: str


class Evidence(StrictModel):
    """An integration's evidence, keyed in the file by the phase being left (1-5)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    discovery: DiscoveryEvidence | None = Field(default=None, alias="1")
    cleanup: CleanupEvidence | None = Field(default=None, alias="2")
    first_workflow: FirstWorkflowEvidence | None = Field(default=None, alias="3")
    adjacent_systems: AdjacentSystemsEvidence | None = Field(default=None, alias="4")
    automation: AutomationEvidence | None = Field(default=None, alias="5")

    @model_validator(mode="before")
    @classmethod
    def _phase_keys(cls, data: Any) -> Any:
        # YAML reads `3:` as the int 3; the fields are aliased "1".."5" so that error
        # locations read `evidence.3.uat_signoff.date`, as the file is written.
        if isinstance(data, dict):
            return {
                str(k) if isinstance(k, int) and not isinstance(k, bool) else k: v
                for k, v in data.items()
            }
        return data

    def for_phase(self, phase: int) -> BaseModel | None:
        """The evidence recorded for leaving `phase`, or None."""
        field = _FIELD_BY_PHASE.get(phase)
        return None if field is None else getattr(self, field)

    def recorded(self, phase: int, field: str) -> Any:
        """One recorded item (e.g. phase 3, 'uat_signoff'), or None when absent."""
        block = self.for_phase(phase)
        return None if block is None else getattr(block, field, None)

    def missing(self, phase: int) -> list[Requirement]:
        """What leaving `phase` still needs, in the order the phase lists it."""
        return [r for r in REQUIREMENTS.get(phase, ()) if self.recorded(phase, r.field) is None]


def _block(info: FieldInfo) -> type[BaseModel]:
    """The model of one phase's evidence (``FirstWorkflowEvidence | None``)."""
    return next(a for a in get_args(info.annotation) if isinstance(a, type) and a is not NoneType)


def _requirement(phase: int, field: str, info: FieldInfo) -> Requirement:
    extra = info.json_schema_extra
    if info.description is None or not isinstance(extra, dict):
        raise TypeError(f"evidence {phase}.{field} is not declared with _needed(what, example)")
    return Requirement(phase, field, info.description, str(extra["example"]))


# The phase each block of evidence is recorded under ("3:") -> its field, and what leaving
# each phase needs: read from the models above, which declare both.
_FIELD_BY_PHASE = {int(info.alias or 0): name for name, info in Evidence.model_fields.items()}
REQUIREMENTS: dict[int, tuple[Requirement, ...]] = {
    phase: tuple(
        _requirement(phase, field, info)
        for field, info in _block(Evidence.model_fields[name]).model_fields.items()
    )
    for phase, name in sorted(_FIELD_BY_PHASE.items())
}
