"""The checklist's questions about running the flows: credentials, recovery, tests,
ownership, rollout and support after go-live.

Usage::

    [f.text for f in post_go_live(inputs)]
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

from contract.phases import ENVIRONMENTS
from provisioner.report.checklist.findings import (
    REPORTING_KINDS,
    Finding,
    Inputs,
    Verdict,
    bad,
    due_finding,
    evidence_finding,
    info,
    is_high_value,
    ok,
    policy_finding,
    question,
)
from roadmap.budget import salesforce_calls_per_day
from roadmap.integrations import CredentialKind, Direction, Integration
from roadmap.systems import System

__all__ = [
    "api_limits_and_credentials",
    "ownership_agreed",
    "phased_rollout",
    "post_go_live",
    "retry_replay_monitoring",
    "uat_and_contract_tests",
]


@question(
    "api-limits-credentials", "Are API limits, scopes, service accounts and rotation documented?"
)
def api_limits_and_credentials(inputs: Inputs) -> Iterator[Finding]:
    """API limits, scopes, service accounts and rotation are documented for what provisions.

    Per integration at phase >= 2 in this stack: both systems document an API limit
    (daily calls, requests per second, or a Salesforce org's allocation), and a flow touching
    Salesforce shows the calls a day it spends (roadmap.budget); it holds a credential (service
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
    for integ in active:
        problems = [
            *_side_problems(integ, systems),
            *_credential_problems(integ, inputs.settings.max_rotation_days, inputs.stack),
        ]
        if problems:
            yield bad(f"{integ.name}: {'; '.join(problems)}")
        else:
            creds = ", ".join(f"{c.name} ({c.rotation_days} d)" for c in integ.credentials)
            spend = salesforce_calls_per_day(
                integ, roadmap, phase=integ.phase(inputs.settings.environment)
            )
            calls = f"; {spend:,} Salesforce API calls/day" if spend else ""
            yield ok(f"{integ.name}: limits documented{calls}; credentials {creds}")


def _side_problems(integ: Integration, systems: dict[str, System]) -> Iterator[str]:
    """What its source and target leave undocumented: the API limit, the call plan, the
    service account."""
    for side in (integ.source, integ.target):
        system = systems.get(side)
        if system is None:
            yield f"{side} is not a listed system"
            continue
        if not (system.api.daily_call_limit or system.api.requests_per_second or system.salesforce):
            yield f"{side} documents no API limit"
        if not any(c.system == side for c in integ.credentials):
            yield f"no credential (service account) for {side}"


def _credential_problems(integ: Integration, limit: int, stack: str) -> Iterator[str]:
    """Credentials without scopes (or, for a pusher's access key, source ranges), and those
    rotating less often than the stack allows."""
    for cred in integ.credentials:
        if cred.kind is CredentialKind.IAM_ACCESS_KEY:
            if not cred.source_ranges:
                yield f"credential {cred.name} names no source ranges"
        elif not cred.scopes:
            yield f"credential {cred.name} names no scopes"
        if cred.rotation_days > limit:
            yield (
                f"credential {cred.name} rotates every {cred.rotation_days} days, more than "
                f"{stack}'s {limit}"
            )


@question(
    "retry-replay-monitoring",
    "Are retry, replay, monitoring and reconciliation defined per integration?",
)
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
        yield policy_finding(inputs, integ, "DLQ, alarms and reconciliation for its phase")
        if phase >= 4:
            yield evidence_finding(inputs, integ, 3, "monitoring_confirmed")
            yield evidence_finding(inputs, integ, 3, "rollback_plan")


@question("uat-contract-tests", "Do high-value flows have UAT and contract tests?")
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
            yield evidence_finding(inputs, integ, 3, "uat_signoff")
        else:
            yield due_finding(inputs, integ, 3, "uat_signoff")


@question("ownership-agreed", "Is ownership agreed?")
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
            yield evidence_finding(inputs, integ, 1, "source_of_truth_matrix")
        if inputs.phase(integ) >= 4:
            yield evidence_finding(inputs, integ, 3, "owner_signoff")
        elif inputs.phase(integ) == 3:
            yield due_finding(inputs, integ, 3, "owner_signoff")


@question("phased-rollout", "Is the rollout phased?")
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


@question("post-go-live", "Are post-go-live support and reporting validation in place?")
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
        elif delivery.state == "waiting":  # a person's one-time step (Chatbot authorisation)
            yield Finding(Verdict.WAITING, text)
        else:
            yield bad(f"{text} in {inputs.stack}")
        if inputs.phase(integ) >= 4:
            yield policy_finding(inputs, integ, "reconciliation and dashboard")
        if inputs.phase(integ) >= 5:
            yield evidence_finding(inputs, integ, 4, "support_runbook")
            yield evidence_finding(inputs, integ, 4, "reconciliation_checks")
    kinds = {s.name: s.kind for s in inputs.roadmap.systems}
    reporting = [i for i in inputs.active() if kinds.get(i.target) in REPORTING_KINDS]
    if reporting:
        names = ", ".join(f"{i.name} -> {i.target}" for i in reporting)
        yield ok(f"reporting fed by {names}")
    else:
        yield bad(f"no integration into a BI or analytics system is active in {inputs.stack}")
