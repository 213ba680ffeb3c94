"""The roadmap article's checklist, each question answered for one stack with its evidence.

Every item is a small pure function of the roadmap, the stack's settings and the other
parts' results. It returns findings (one line of evidence each, with its own status); the
item's verdict follows from them: any `fail` fails it, else any `not available` makes it
not available (a part it needs is missing: never a silent pass), else it passes.

Usage::

    items = evaluate(roadmap, "prod", settings, policy, promotion)
    [(item.key, item.verdict) for item in items]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from typing import Any

from components.evidence import PHASE_NAMES, REQUIREMENTS, SampleValidation, SignOff
from components.roadmap import (
    ENVIRONMENTS,
    CredentialKind,
    Direction,
    Integration,
    Roadmap,
    SystemKind,
)
from components.settings import StackSettings
from provisioner.report.sources import PolicyResults, PromotionResults

__all__ = [
    "CHECKLIST",
    "HIGH_VALUE_TARGET_KINDS",
    "PHASE_NAMES",
    "ChecklistItem",
    "Finding",
    "Inputs",
    "Verdict",
    "evaluate",
    "is_high_value",
]


# Systems people act on: a wrong or late record there costs money or a customer.
HIGH_VALUE_TARGET_KINDS = frozenset(
    {
        SystemKind.CRM,
        SystemKind.ERP,
        SystemKind.ACCOUNTING,
        SystemKind.ECOMMERCE,
        SystemKind.BILLING,
        SystemKind.LOGISTICS,
    }
)
# Flows whose data must be this fresh are business-critical whatever their target.
HIGH_VALUE_MAX_STALENESS_MINUTES = 15
# Reporting targets: loads there are snapshots for analysis, not upserts into operations.
REPORTING_KINDS = frozenset({SystemKind.BI, SystemKind.ANALYTICS})


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNAVAILABLE = "not available"
    WAITING = "waiting"  # evidence a person still has to give; not a pass
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    """One line of evidence and what it means for the verdict."""

    status: Verdict
    text: str


@dataclass(frozen=True)
class Inputs:
    """Everything an item may look at."""

    roadmap: Roadmap
    stack: str
    settings: StackSettings
    policy: PolicyResults
    promotion: PromotionResults

    def phase(self, integ: Integration) -> int:
        return integ.phase(self.settings.environment)

    def active(self) -> list[Integration]:
        """Integrations that provision anything here (phase >= 2: credentials, role, key)."""
        return [i for i in self.roadmap.integrations if self.phase(i) >= 2]

    def live(self) -> list[Integration]:
        """Integrations that move records here (phase >= 3: queue or schedule, alarms)."""
        return [i for i in self.roadmap.integrations if self.phase(i) >= 3]

    def lower_stacks(self) -> tuple[str, ...]:
        return ENVIRONMENTS[: ENVIRONMENTS.index(self.settings.environment)]


@dataclass(frozen=True)
class ChecklistItem:
    """A checklist question, the rule that answers it, and the evidence found."""

    key: str
    question: str
    rule: str
    findings: tuple[Finding, ...]

    @property
    def verdict(self) -> Verdict:
        statuses = {f.status for f in self.findings}
        if Verdict.FAIL in statuses:
            return Verdict.FAIL
        if Verdict.UNAVAILABLE in statuses:
            return Verdict.UNAVAILABLE
        if Verdict.WAITING in statuses:
            return Verdict.WAITING
        return Verdict.PASS


Rule = Callable[[Inputs], Iterator[Finding]]


def ok(text: str) -> Finding:
    return Finding(Verdict.PASS, text)


def bad(text: str) -> Finding:
    return Finding(Verdict.FAIL, text)


def info(text: str) -> Finding:
    return Finding(Verdict.INFO, text)


def unavailable(text: str) -> Finding:
    return Finding(Verdict.UNAVAILABLE, text)


def is_high_value(roadmap: Roadmap, integ: Integration) -> bool:
    """Writes into an operational system (CRM, ERP, accounting, commerce) or must be fresh."""
    target = next((s for s in roadmap.systems if s.name == integ.target), None)
    operational = target is not None and target.kind in HIGH_VALUE_TARGET_KINDS
    fresh = integ.service_levels.max_staleness_minutes <= HIGH_VALUE_MAX_STALENESS_MINUTES
    return operational or fresh


def describe(item: Any) -> str:
    """One line for a recorded piece of evidence (a sign-off, a link, a sample report)."""
    if isinstance(item, SignOff):
        return f"{item.name} ({item.role}), {item.date.isoformat()}"
    if isinstance(item, SampleValidation):
        return f"{item.records} records validated {item.date.isoformat()}"
    return str(item)


def _evidence(inputs: Inputs, integ: Integration, phase: int, field: str) -> Finding:
    """The roadmap's recorded exit-criteria evidence for leaving `phase` (the promotion model).

    Required once the integration is past `phase` in this stack; promotion demands it, so
    a phase above it without the evidence means the roadmap was edited around promotion.
    """
    what = next(r.what for r in REQUIREMENTS[phase] if r.field == field)
    item = integ.evidence.recorded(phase, field)
    if item is not None:
        return ok(f"{integ.name}: {what}: {describe(item)}")
    return bad(
        f"{integ.name}: at phase {inputs.phase(integ)} in {inputs.stack} but {what} (to leave "
        f"phase {phase}, {PHASE_NAMES[phase]}) is not recorded; record it under "
        f"evidence.{phase}.{field}"
    )


def _due(inputs: Inputs, integ: Integration, phase: int, field: str) -> Finding:
    """Evidence to leave the integration's current phase: recorded, or waiting on its owner.

    Not a failure (promotion will demand it), but not a pass either: the question it
    answers stays open until a person gives it.
    """
    item = integ.evidence.recorded(phase, field)
    what = next(r.what for r in REQUIREMENTS[phase] if r.field == field)
    if item is not None:
        return ok(f"{integ.name}: {what}: {describe(item)}")
    return Finding(
        Verdict.WAITING,
        f"{integ.name}: {what} not given yet; {integ.owner_team} to record it under "
        f"evidence.{phase}.{field} before phase {phase + 1}",
    )


def _policy(inputs: Inputs, integ: Integration, what: str) -> Finding:
    """The policy pack's verdict on the integration's resources in this stack."""
    if not inputs.policy.available:
        return unavailable(f"{integ.name}: {what}: {inputs.policy.reason}")
    mandatory = [v for v in inputs.policy.for_integration(integ.name) if v.mandatory]
    if mandatory:
        names = ", ".join(sorted({v.policy for v in mandatory}))
        return bad(f"{integ.name}: {len(mandatory)} mandatory policy violation(s): {names}")
    return ok(f"{integ.name}: {what}: policy pack passes ({len(inputs.policy.policies)} policies)")


# --------------------------------------------------------------------------- the items


def systems_listed(inputs: Inputs) -> Iterator[Finding]:
    """Every system named anywhere is declared, with a vendor, a description and an API URL."""
    roadmap = inputs.roadmap
    declared = {s.name for s in roadmap.systems}
    named: dict[str, str] = {}
    for obj in roadmap.objects:
        named.setdefault(obj.owner, f"owner of {obj.name}")
        for field, owner in obj.field_owners.items():
            named.setdefault(owner, f"owner of {obj.name}.{field}")
    for integ in roadmap.integrations:
        for name in (integ.source, integ.target, *(c.system for c in integ.credentials)):
            named.setdefault(name, f"used by {integ.name}")
    for name, where in sorted(named.items()):
        if name not in declared:
            yield bad(f"{name} ({where}) is not listed under systems; add it")
    for system in roadmap.systems:
        missing = [
            what
            for what, present in (
                ("a description", bool(system.description.strip())),
                ("an API base URL", system.api.base_url is not None),
            )
            if not present
        ]
        flows = sum(system.name in (i.source, i.target) for i in roadmap.integrations)
        owns = sum(o.owner == system.name for o in roadmap.objects)
        line = (
            f"{system.name} ({system.kind.value}, {system.vendor}): "
            f"owns {owns} object(s), {flows} flow(s)"
        )
        yield bad(f"{line}; missing {' and '.join(missing)}") if missing else ok(line)


def source_of_truth(inputs: Inputs) -> Iterator[Finding]:
    """Each object (and field) has one declared owner; flows write only what their source owns.

    A write into data the writer does not own needs a conflict rule covering it.
    """
    roadmap = inputs.roadmap
    declared = {s.name for s in roadmap.systems}
    objects = {o.name: o for o in roadmap.objects}
    for obj in roadmap.objects:
        problems = []
        if obj.owner not in declared:
            problems.append(f"owner {obj.owner!r} is not a listed system")
        for field, owner in obj.field_owners.items():
            if owner not in declared:
                problems.append(f"field owner of {field} {owner!r} is not a listed system")
        fields = ", ".join(f"{f}: {o}" for f, o in obj.field_owners.items())
        line = f"{obj.name}: owned by {obj.owner}" + (f" (fields {fields})" if fields else "")
        yield bad(f"{line}; {'; '.join(problems)}") if problems else ok(line)
    for integ in roadmap.integrations:
        writers = [integ.source] + (
            [integ.target] if integ.direction is Direction.BIDIRECTIONAL else []
        )
        for obj_name in integ.objects:
            owned = objects.get(obj_name)
            if owned is None:
                yield bad(f"{integ.name}: object {obj_name!r} is not listed under objects")
                continue
            mapping = integ.mapping_for(obj_name)
            written = list(mapping.fields.values()) if mapping else ["*"]
            for writer in writers:
                for field in written:
                    owner = owned.owner if field == "*" else owned.owner_of(field)
                    covered = integ.conflict_rule is not None and integ.conflict_rule.covers(field)
                    if owner != writer and not covered:
                        what = obj_name if field == "*" else f"{obj_name}.{field}"
                        yield bad(
                            f"{integ.name}: {writer} writes {what}, which {owner} owns, with "
                            "no conflict rule"
                        )


def cleanup_before_sync(inputs: Inputs) -> Iterator[Finding]:
    """No integration syncs records (phase >= 3) before its data was cleaned up (phase 2).

    Per integration at phase >= 3 in this stack: every lower stack has it at phase >= 2;
    every object it writes into an operational system has a field mapping with an external
    id (the upsert key that keeps duplicates out; snapshot loads into BI/analytics are
    exempt); and phase 2's exit evidence is recorded: validated sample records and the
    sync rules' sign-off.
    """
    roadmap = inputs.roadmap
    live = inputs.live()
    if not live:
        yield info(f"no integration syncs records in {inputs.stack} yet (none at phase >= 3)")
    kinds = {s.name: s.kind for s in roadmap.systems}
    for integ in live:
        for lower in inputs.lower_stacks():
            if integ.phase(lower) < 2:
                yield bad(
                    f"{integ.name}: phase {inputs.phase(integ)} in {inputs.stack} but phase "
                    f"{integ.phase(lower)} in {lower}; clean up (phase 2) in {lower} first"
                )
        if kinds.get(integ.target) in REPORTING_KINDS:
            yield ok(f"{integ.name}: snapshot load into {integ.target}; no upsert key needed")
        else:
            unkeyed = [o for o in integ.objects if integ.mapping_for(o) is None]
            if unkeyed:
                yield bad(
                    f"{integ.name}: at phase {inputs.phase(integ)} in {inputs.stack} but no field "
                    f"mapping with external id for {', '.join(unkeyed)}; add field_mappings "
                    "(the upsert key keeps duplicates out)"
                )
            else:
                keys = ", ".join(
                    f"{o} by {m.external_id}"
                    for o in integ.objects
                    if (m := integ.mapping_for(o)) is not None
                )
                yield ok(f"{integ.name}: upserts {keys}")
        yield _evidence(inputs, integ, 2, "validated_samples")
        yield _evidence(inputs, integ, 2, "sync_rules_signoff")


def pattern_per_workflow(inputs: Inputs) -> Iterator[Finding]:
    """Every integration names a pattern, and its trigger fits it.

    Batch and warehouse pipelines run on a schedule; the others are fed by a queue and
    have none. Ordered flows (FIFO) need a queued pattern.
    """
    for integ in inputs.roadmap.integrations:
        pattern = integ.pattern
        trigger = f"schedule {integ.schedule}" if integ.schedule else "queue"
        if pattern.scheduled and not integ.schedule:
            yield bad(f"{integ.name}: {pattern.value} without a schedule; add one")
        elif not pattern.scheduled and integ.schedule:
            yield bad(f"{integ.name}: {pattern.value} has a schedule; queued flows have none")
        elif integ.ordering.value != "none" and not pattern.queued:
            yield bad(f"{integ.name}: ordering {integ.ordering.value} needs a queued pattern")
        else:
            fifo = ", FIFO" if integ.fifo else ""
            yield ok(f"{integ.name}: {pattern.value} ({trigger}{fifo})")


def api_limits_and_credentials(inputs: Inputs) -> Iterator[Finding]:
    """API limits, scopes, service accounts and rotation are documented for what provisions.

    Per integration at phase >= 2 in this stack: both systems document an API limit
    (daily calls, requests per second, or a Salesforce org's allocation); flows touching
    Salesforce plan their daily Salesforce API calls; it holds a credential (service
    account) for each side; every credential names its scopes (an IAM access key for an
    external pusher names its source ranges instead) and rotates within the stack's
    maximum (`maxRotationDays`).
    """
    roadmap = inputs.roadmap
    systems = {s.name: s for s in roadmap.systems}
    active = inputs.active()
    if not active:
        yield info(
            f"nothing provisions credentials in {inputs.stack} (no integration at phase >= 2)"
        )
    limit = inputs.settings.max_rotation_days
    for integ in active:
        problems = []
        for side in (integ.source, integ.target):
            system = systems.get(side)
            if system is None:
                problems.append(f"{side} is not a listed system")
                continue
            if not (
                system.api.daily_call_limit or system.api.requests_per_second or system.salesforce
            ):
                problems.append(f"{side} documents no API limit")
            if system.salesforce and not integ.service_levels.salesforce_api_calls_per_day:
                problems.append("no salesforce_api_calls_per_day planned")
            if not any(c.system == side for c in integ.credentials):
                problems.append(f"no credential (service account) for {side}")
        for cred in integ.credentials:
            if cred.kind is CredentialKind.IAM_ACCESS_KEY:
                if not cred.source_ranges:
                    problems.append(f"credential {cred.name} names no source ranges")
            elif not cred.scopes:
                problems.append(f"credential {cred.name} names no scopes")
            if cred.rotation_days > limit:
                problems.append(
                    f"credential {cred.name} rotates every {cred.rotation_days} days, more than "
                    f"{inputs.stack}'s {limit}"
                )
        if problems:
            yield bad(f"{integ.name}: {'; '.join(problems)}")
        else:
            creds = ", ".join(f"{c.name} ({c.rotation_days} d)" for c in integ.credentials)
            yield ok(f"{integ.name}: limits documented; credentials {creds}")


def retry_replay_monitoring(inputs: Inputs) -> Iterator[Finding]:
    """Retry, replay, monitoring and reconciliation are in place for each syncing flow.

    Per integration at phase >= 3 in this stack: retry and replay come from its queue's
    DLQ (queued) or its schedule's watermark (scheduled); the policy pack finds no
    mandatory violation for it (DLQ, alarms for its phase, reconciliation job from phase 4,
    as the README's phase table requires). Past phase 3: the alarms were confirmed to page
    the alert path and a rollback plan is linked (phase 3's exit evidence).
    """
    live = inputs.live()
    if not live:
        yield info(f"no integration syncs records in {inputs.stack} yet (none at phase >= 3)")
    for integ in live:
        phase = inputs.phase(integ)
        retry = "DLQ redrive" if integ.pattern.queued else "rerun from watermark"
        recon = "reconciliation job" if phase >= 4 else "reconciliation from phase 4"
        yield ok(f"{integ.name}: retry/replay by {retry}; {recon}; runbook {integ.runbook}")
        yield _policy(inputs, integ, "DLQ, alarms and reconciliation for its phase")
        if phase >= 4:
            yield _evidence(inputs, integ, 3, "monitoring_confirmed")
            yield _evidence(inputs, integ, 3, "rollback_plan")


def uat_and_contract_tests(inputs: Inputs) -> Iterator[Finding]:
    """High-value flows have a contract (field mapping with external id) and UAT sign-off.

    High value: writes into a CRM, ERP, accounting or commerce system, or must be fresher
    than 15 minutes. Checked for those at phase >= 3 in this stack; past phase 3 the UAT
    sign-off (phase 3's exit evidence) is recorded.
    """
    high = [i for i in inputs.live() if is_high_value(inputs.roadmap, i)]
    if not high:
        yield info(f"no high-value flow syncs in {inputs.stack} yet")
    for integ in high:
        missing = [o for o in integ.objects if integ.mapping_for(o) is None]
        if missing:
            yield bad(
                f"{integ.name}: no field mapping (the contract its tests pin) for "
                f"{', '.join(missing)}; add field_mappings"
            )
        else:
            count = sum(len(m.fields) for m in integ.field_mappings)
            yield ok(f"{integ.name}: contract of {count} mapped field(s)")
        if inputs.phase(integ) >= 4:
            yield _evidence(inputs, integ, 3, "uat_signoff")
        else:
            yield _due(inputs, integ, 3, "uat_signoff")


def ownership_agreed(inputs: Inputs) -> Iterator[Finding]:
    """Each active flow has an owner team, an approved matrix and, when live, a sign-off.

    Per integration at phase >= 2 in this stack: an owner team; a conflict rule when it is
    bidirectional; the source-of-truth matrix approval (phase 1's exit evidence); past
    phase 3, the owning team's sign-off (phase 3's exit evidence).
    """
    active = inputs.active()
    if not active:
        yield info(f"no integration provisions in {inputs.stack} yet")
    for integ in active:
        if integ.direction is Direction.BIDIRECTIONAL and integ.conflict_rule is None:
            yield bad(f"{integ.name}: bidirectional with no conflict rule")
        else:
            rule = (
                f", conflicts: {integ.conflict_rule.strategy.value}" if integ.conflict_rule else ""
            )
            yield ok(f"{integ.name}: owned by {integ.owner_team}{rule}")
        if inputs.phase(integ) >= 2:
            yield _evidence(inputs, integ, 1, "source_of_truth_matrix")
        if inputs.phase(integ) >= 4:
            yield _evidence(inputs, integ, 3, "owner_signoff")
        elif inputs.phase(integ) == 3:
            yield _due(inputs, integ, 3, "owner_signoff")


def phased_rollout(inputs: Inputs) -> Iterator[Finding]:
    """Phases never rise from dev to staging to prod, and the kill switch names real flows."""
    for integ in inputs.roadmap.integrations:
        phases = [integ.phase(e) for e in ENVIRONMENTS]
        risen = [
            f"{b} ({integ.phase(b)}) is ahead of {a} ({integ.phase(a)})"
            for a, b in pairwise(ENVIRONMENTS)
            if integ.phase(b) > integ.phase(a)
        ]
        path = " -> ".join(str(p) for p in phases)
        yield bad(f"{integ.name}: {'; '.join(risen)}") if risen else ok(f"{integ.name}: {path}")
    known = {i.name for i in inputs.roadmap.integrations}
    for name in inputs.settings.kill_switch:
        if name not in known:
            yield bad(f"killSwitch in {inputs.stack} names unknown integration {name!r}")


def post_go_live(inputs: Inputs) -> Iterator[Finding]:
    """Support is reachable for every syncing flow, and reporting is fed and validated.

    Per integration at phase >= 3: its alert path reaches an endpoint in this stack's
    alarm routing. Flows at phase >= 4 (reconciliation job, dashboard) pass the policy
    pack; past phase 4, a support runbook and the reconciliation checks' latest result are
    linked (phase 4's exit evidence). Reporting: some integration into a BI or analytics
    system is at phase >= 2 here.
    """
    routing = inputs.settings.alarm_routing
    for integ in inputs.live():
        delivery = routing.delivery(integ.alert_path)
        text = f"{integ.name}: {integ.alert_path} -> {delivery.reason}"
        if delivery.state == "confirmed":
            yield ok(text)
        elif delivery.state == "pending":  # whether it was confirmed is not known from here
            yield Finding(Verdict.UNAVAILABLE, text)
        else:
            yield bad(f"{text} in {inputs.stack}")
        if inputs.phase(integ) >= 4:
            yield _policy(inputs, integ, "reconciliation and dashboard")
        if inputs.phase(integ) >= 5:
            yield _evidence(inputs, integ, 4, "support_runbook")
            yield _evidence(inputs, integ, 4, "reconciliation_checks")
    kinds = {s.name: s.kind for s in inputs.roadmap.systems}
    reporting = [i for i in inputs.active() if kinds.get(i.target) in REPORTING_KINDS]
    if reporting:
        names = ", ".join(f"{i.name} -> {i.target}" for i in reporting)
        yield ok(f"reporting fed by {names}")
    else:
        yield bad(f"no integration into a BI or analytics system is active in {inputs.stack}")


CHECKLIST: tuple[tuple[str, str, Rule], ...] = (
    ("systems-listed", "Is every system listed?", systems_listed),
    ("source-of-truth", "Is the source of truth defined for each object?", source_of_truth),
    ("cleanup-before-sync", "Is data cleaned up before it syncs?", cleanup_before_sync),
    (
        "pattern-per-workflow",
        "Does each workflow have an integration pattern?",
        pattern_per_workflow,
    ),
    (
        "api-limits-credentials",
        "Are API limits, scopes, service accounts and rotation documented?",
        api_limits_and_credentials,
    ),
    (
        "retry-replay-monitoring",
        "Are retry, replay, monitoring and reconciliation defined per integration?",
        retry_replay_monitoring,
    ),
    (
        "uat-contract-tests",
        "Do high-value flows have UAT and contract tests?",
        uat_and_contract_tests,
    ),
    ("ownership-agreed", "Is ownership agreed?", ownership_agreed),
    ("phased-rollout", "Is the rollout phased?", phased_rollout),
    (
        "post-go-live",
        "Are post-go-live support and reporting validation in place?",
        post_go_live,
    ),
)
"""(key, question, rule) in the article's order; each rule's docstring states it."""


def evaluate(
    roadmap: Roadmap,
    stack: str,
    settings: StackSettings,
    policy: PolicyResults,
    promotion: PromotionResults,
) -> list[ChecklistItem]:
    """Answer every checklist question for the stack."""
    inputs = Inputs(roadmap, stack, settings, policy, promotion)
    return [
        ChecklistItem(key, question, _rule_text(rule), tuple(rule(inputs)))
        for key, question, rule in CHECKLIST
    ]


def _rule_text(rule: Rule) -> str:
    """The rule's docstring as one paragraph: what the report shows under the question."""
    return " ".join((rule.__doc__ or "").split())
