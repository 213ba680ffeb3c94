"""The checklist's questions about what the roadmap declares: systems, owners, cleanup,
patterns.

Usage::

    [f.text for f in systems_listed(inputs)]
"""

from __future__ import annotations

from collections.abc import Iterator

from provisioner.report.checklist.findings import (
    REPORTING_KINDS,
    Finding,
    Inputs,
    bad,
    evidence_finding,
    info,
    ok,
    question,
)
from roadmap.integrations import Direction

__all__ = ["cleanup_before_sync", "pattern_per_workflow", "source_of_truth", "systems_listed"]


@question("systems-listed", "Is every system listed?")
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


@question("source-of-truth", "Is the source of truth defined for each object?")
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


@question("cleanup-before-sync", "Is data cleaned up before it syncs?")
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
        yield evidence_finding(inputs, integ, 2, "validated_samples")
        yield evidence_finding(inputs, integ, 2, "sync_rules_signoff")


@question("pattern-per-workflow", "Does each workflow have an integration pattern?")
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
