"""The rules that span entries of the roadmap, each yielding problems with a location and a fix.

A roadmap that parses can still contradict itself: a reference to a system it lacks, an
object written by a system that does not own it, a phase that rises from dev to prod, a
Salesforce budget spent twice over. `check_rules` runs every rule; the rules about what
each system's connector can do are in `roadmap.connector_rules`.

Usage::

    from roadmap.rules import check_rules

    for problem in check_rules(roadmap):
        print(problem.render("roadmap.yaml"))
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import pairwise

from contract.naming import clashing_names
from contract.phases import ENVIRONMENTS
from roadmap.budget import salesforce_calls_per_day
from roadmap.connector_rules import connector_rules
from roadmap.integrations import (
    Credential,
    CredentialKind,
    Direction,
    FieldMapping,
    Integration,
    Ordering,
)
from roadmap.model import Roadmap
from roadmap.problems import Problem
from roadmap.systems import DataObject, System

__all__ = ["RULES", "check_rules"]


def check_rules(roadmap: Roadmap) -> Iterator[Problem]:
    """Every cross-entry rule, each yielding problems with a location and a fix."""
    for rule in RULES:
        yield from rule(roadmap)


def _duplicates(names: list[str]) -> dict[str, list[int]]:
    seen: dict[str, list[int]] = defaultdict(list)
    for index, name in enumerate(names):
        seen[name].append(index)
    return {name: idx for name, idx in seen.items() if len(idx) > 1}


def _unique_names(roadmap: Roadmap) -> Iterator[Problem]:
    for section, items in (
        ("systems", roadmap.systems),
        ("objects", roadmap.objects),
        ("integrations", roadmap.integrations),
    ):
        for name, indexes in _duplicates([i.name for i in items]).items():
            first = indexes[0]
            for index in indexes[1:]:
                yield Problem(
                    f"{section}[{index}].name",
                    f"{name!r} is already used by {section}[{first}]; names must be unique",
                )
    index_of = {integ.name: i for i, integ in enumerate(roadmap.integrations)}
    for shorter, longer in clashing_names(index_of):
        yield Problem(
            f"integrations[{index_of[longer]}].name",
            f"{longer!r} is {shorter!r} followed by a word its resources use in their names, "
            f"so the two could get the same AWS names; rename {longer!r}",
        )
    for i, integration in enumerate(roadmap.integrations):
        for name, indexes in _duplicates([c.name for c in integration.credentials]).items():
            for index in indexes[1:]:
                yield Problem(
                    f"integrations[{i}].credentials[{index}].name",
                    f"credential {name!r} appears twice in this integration; rename one",
                )


def _renames(roadmap: Roadmap) -> Iterator[Problem]:
    """A former name points at one integration's past, never at a living one."""
    current = {integ.name: i for i, integ in enumerate(roadmap.integrations)}
    claimed: dict[str, int] = {}
    for i, integ in enumerate(roadmap.integrations):
        for r, former in enumerate(integ.renamed_from):
            loc = f"integrations[{i}].renamed_from[{r}]"
            if former in current:
                yield Problem(
                    loc,
                    f"{former!r} is the name of integrations[{current[former]}]; a former "
                    "name must be one no integration uses now, or the two would claim the "
                    f"same resources; remove it from renamed_from",
                )
            elif former in claimed and claimed[former] != i:
                yield Problem(
                    loc,
                    f"{former!r} is already a former name of integrations[{claimed[former]}]; "
                    "one integration's resources can be carried over to one successor only; "
                    "keep it in one renamed_from",
                )
            elif former in claimed:
                yield Problem(loc, f"{former!r} is listed twice; remove one")
            claimed.setdefault(former, i)


@dataclass(frozen=True)
class _Known:
    """The roadmap's systems and objects, and how a reference to neither is refused."""

    systems: dict[str, System]
    objects: frozenset[str]

    def unknown_system(self, name: str) -> str:
        known = ", ".join(sorted(self.systems))
        return f"unknown system {name!r}; add it under systems or use one of: {known}"

    def unknown_object(self, name: str) -> str:
        known = ", ".join(sorted(self.objects))
        return f"unknown object {name!r}; add it under objects or use one of: {known}"


def _references(roadmap: Roadmap) -> Iterator[Problem]:
    known = _Known({s.name: s for s in roadmap.systems}, frozenset(o.name for o in roadmap.objects))
    for o, obj in enumerate(roadmap.objects):
        yield from _object_references(o, obj, known)
    for i, integ in enumerate(roadmap.integrations):
        yield from _integration_references(i, integ, known)
        for c, cred in enumerate(integ.credentials):
            yield from _credential_references(
                f"integrations[{i}].credentials[{c}]", cred, integ, known
            )


def _object_references(o: int, obj: DataObject, known: _Known) -> Iterator[Problem]:
    if obj.owner not in known.systems:
        yield Problem(f"objects[{o}].owner", known.unknown_system(obj.owner))
    for field, owner in obj.field_owners.items():
        if owner not in known.systems:
            yield Problem(f"objects[{o}].field_owners.{field}", known.unknown_system(owner))
        if obj.fields and field not in obj.fields:
            yield Problem(
                f"objects[{o}].field_owners.{field}",
                f"field {field!r} is not listed in objects[{o}].fields; add it there",
            )


def _integration_references(i: int, integ: Integration, known: _Known) -> Iterator[Problem]:
    for side in ("source", "target"):
        name = getattr(integ, side)
        if name not in known.systems:
            yield Problem(f"integrations[{i}].{side}", known.unknown_system(name))
    if integ.source == integ.target:
        yield Problem(
            f"integrations[{i}].target",
            "source and target are the same system; an integration connects two systems",
        )
    for j, obj_name in enumerate(integ.objects):
        if obj_name not in known.objects:
            yield Problem(f"integrations[{i}].objects[{j}]", known.unknown_object(obj_name))
    for m, mapping in enumerate(integ.field_mappings):
        if mapping.object not in integ.objects:
            yield Problem(
                f"integrations[{i}].field_mappings[{m}].object",
                f"{mapping.object!r} is not among this integration's objects; add it to "
                f"integrations[{i}].objects or remove the mapping",
            )


def _credential_references(
    loc: str, cred: Credential, integ: Integration, known: _Known
) -> Iterator[Problem]:
    systems = known.systems
    if cred.system not in systems:
        yield Problem(f"{loc}.system", known.unknown_system(cred.system))
    elif (
        cred.system not in (integ.source, integ.target)
        and {
            integ.source,
            integ.target,
        }
        <= systems.keys()
    ):
        yield Problem(
            f"{loc}.system",
            f"{cred.system!r} is neither the source nor the target; a credential "
            "is scoped to one side of its own integration",
        )
    elif (
        cred.kind is CredentialKind.SALESFORCE_JWT_BEARER and not systems[cred.system].is_salesforce
    ):
        yield Problem(
            f"{loc}.kind",
            f"salesforce_jwt_bearer needs a Salesforce system, {cred.system!r} is not "
            "one; use oauth_client_credentials or api_key",
        )
    if cred.kind is CredentialKind.WEBHOOK_SIGNING_SECRET and cred.system != integ.source:
        yield Problem(
            f"{loc}.system",
            f"a webhook signing secret belongs to the system that pushes (the source, "
            f"{integ.source!r}), not {cred.system!r}; set system: {integ.source}",
        )
    if cred.source_ranges and cred.kind is not CredentialKind.IAM_ACCESS_KEY:
        yield Problem(
            f"{loc}.source_ranges",
            "source ranges apply only to iam_access_key credentials; remove them",
        )


def _written_systems(integ: Integration) -> list[tuple[str, str]]:
    """(writer, written system) pairs: the target, and the source too when bidirectional."""
    pairs = [(integ.source, integ.target)]
    if integ.direction is Direction.BIDIRECTIONAL:
        pairs.append((integ.target, integ.source))
    return pairs


def _written_fields(integ: Integration, obj_name: str) -> list[str]:
    """Target fields written (the mapping's values), or "*" (the whole object) when unmapped."""
    mapping = integ.mapping_for(obj_name)
    if mapping is not None:
        return list(mapping.fields.values())
    return ["*"]


def _ownership(roadmap: Roadmap) -> Iterator[Problem]:
    objects = {o.name: o for o in roadmap.objects}
    for i, integ in enumerate(roadmap.integrations):
        if integ.direction is Direction.BIDIRECTIONAL and integ.conflict_rule is None:
            yield Problem(
                f"integrations[{i}].conflict_rule",
                "bidirectional flows must declare a conflict rule (e.g. strategy: source_wins "
                "with the fields it covers) so both sides cannot overwrite each other",
            )
        rule = integ.conflict_rule
        for j, obj_name in enumerate(integ.objects):
            obj = objects.get(obj_name)
            if obj is None:
                continue
            for writer, _written in _written_systems(integ):
                for field in _written_fields(integ, obj_name):
                    owner = obj.owner if field == "*" else obj.owner_of(field)
                    if owner == writer or (rule is not None and rule.covers(field)):
                        continue
                    what = f"{obj_name!r}" if field == "*" else f"field {obj_name}.{field}"
                    yield Problem(
                        f"integrations[{i}].objects[{j}]",
                        f"writes {what} from {writer!r}, but {owner!r} owns it (source of "
                        f"truth); swap source and target, or declare a conflict_rule covering it",
                    )


def _concurrent_writers(roadmap: Roadmap) -> Iterator[Problem]:
    writers: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    for i, integ in enumerate(roadmap.integrations):
        for _writer, written in _written_systems(integ):
            for obj_name in integ.objects:
                for field in _written_fields(integ, obj_name):
                    writers[(written, obj_name)].append((i, field))
    for (system, obj_name), entries in writers.items():
        for a in range(len(entries)):
            for b in range(a + 1, len(entries)):
                (ia, fa), (ib, fb) = entries[a], entries[b]
                if ia == ib or not (fa == fb or "*" in (fa, fb)):
                    continue
                ra = roadmap.integrations[ia].conflict_rule
                rb = roadmap.integrations[ib].conflict_rule
                field = fb if fa == "*" else fa
                if (ra is not None and ra.covers(field)) or (rb is not None and rb.covers(field)):
                    continue
                what = obj_name if field == "*" else f"{obj_name}.{field}"
                yield Problem(
                    f"integrations[{ib}].objects",
                    f"both {roadmap.integrations[ia].name!r} and "
                    f"{roadmap.integrations[ib].name!r} write {what} into {system!r}; "
                    "declare a conflict_rule on one of them or let only one write it",
                )


def _phases_never_rise(roadmap: Roadmap) -> Iterator[Problem]:
    for i, integ in enumerate(roadmap.integrations):
        for lower, higher in pairwise(ENVIRONMENTS):
            if integ.phase(higher) > integ.phase(lower):
                yield Problem(
                    f"integrations[{i}].phases.{higher}",
                    f"phase {integ.phase(higher)} in {higher} is ahead of phase "
                    f"{integ.phase(lower)} in {lower}; promote through {lower} first "
                    f"(dev >= staging >= prod)",
                )


def _mappings(roadmap: Roadmap) -> Iterator[Problem]:
    """Queued flows that sync (phase >= 3 anywhere) map every object; upsert keys are mapped."""
    for i, integ in enumerate(roadmap.integrations):
        for m, mapping in enumerate(integ.field_mappings):
            if mapping.external_id not in mapping.fields.values():
                yield Problem(
                    f"integrations[{i}].field_mappings[{m}].external_id",
                    f"{mapping.external_id!r} is not a target of any mapped field, so the upsert "
                    "has no key; map the source's id to it, e.g. "
                    f"fields: {{Id: {mapping.external_id}}}",
                )
            if integ.bidirectional:
                yield from _invertible(f"integrations[{i}].field_mappings[{m}]", mapping)
        syncing = max(integ.phase(env) for env in ENVIRONMENTS) >= 3
        if not (integ.pattern.queued and syncing):
            continue
        for j, obj_name in enumerate(integ.objects):
            if integ.mapping_for(obj_name) is None:
                yield Problem(
                    f"integrations[{i}].objects[{j}]",
                    f"{obj_name!r} has no field mapping, but {integ.pattern.value} flows at "
                    "phase >= 3 map each record before the upsert (unmapped records would be "
                    "dead-lettered); add a field_mappings entry with its external_id",
                )


def _webhooks(roadmap: Roadmap) -> Iterator[Problem]:
    """A webhook ingress feeds a queue, carries one of the flow's objects, and is verified
    with the source's signing secret."""
    for i, integ in enumerate(roadmap.integrations):
        hook = integ.webhook
        if hook is None:
            continue
        loc = f"integrations[{i}].webhook"
        if not integ.pattern.queued:
            yield Problem(
                loc,
                f"{integ.pattern.value} flows read on a schedule and have no queue for pushed "
                "deliveries; use event_driven (or middleware, real_time_api), or remove webhook",
            )
        if integ.ordering is not Ordering.NONE:
            yield Problem(
                f"integrations[{i}].ordering",
                f"a webhook ingress cannot keep ordering {integ.ordering.value}: vendors retry "
                "and deliver events out of order, and the ingress enqueues each delivery as it "
                "comes; remove ordering (record versions skip stale writes) or drop the webhook",
            )
        if hook.object not in integ.objects:
            yield Problem(
                f"{loc}.object",
                f"{hook.object!r} is not among this integration's objects; use one of: "
                f"{', '.join(integ.objects)}",
            )
        secrets = [
            c.name for c in integ.credentials if c.kind is CredentialKind.WEBHOOK_SIGNING_SECRET
        ]
        if hook.credential not in secrets:
            yield Problem(
                f"{loc}.credential",
                f"{hook.credential!r} is not a webhook_signing_secret credential of this "
                "integration; "
                + (
                    f"use one of: {', '.join(secrets)}"
                    if secrets
                    else f"add one under credentials (kind: webhook_signing_secret, system: "
                    f"{integ.source})"
                ),
            )


def _invertible(loc: str, mapping: FieldMapping) -> Iterator[Problem]:
    """A bidirectional flow writes back through the same pairs the other way round, so each
    target field comes from one source field, and that one is a field, not a part of one."""
    firsts: dict[str, str] = {}
    for source, target in mapping.fields.items():
        if "." in source:
            yield Problem(
                f"{loc}.fields.{source}",
                f"{source!r} is a part of a source field; the reverse direction writes "
                f"{target!r} back into a whole field, so map whole fields in a bidirectional flow",
            )
        if target in firsts:
            yield Problem(
                f"{loc}.fields.{source}",
                f"{target!r} is also mapped from {firsts[target]!r}; the reverse direction "
                f"could not tell which one to write back, so map each target field once",
            )
        firsts.setdefault(target, source)


def _schedules(roadmap: Roadmap) -> Iterator[Problem]:
    for i, integ in enumerate(roadmap.integrations):
        if integ.pattern.scheduled and integ.schedule is None:
            yield Problem(
                f"integrations[{i}].schedule",
                f"{integ.pattern.value} integrations run on a schedule; add one such as "
                "'rate(1 hour)' or 'cron(0 2 * * ? *)'",
            )
        if not integ.pattern.scheduled and integ.schedule is not None:
            yield Problem(
                f"integrations[{i}].schedule",
                f"{integ.pattern.value} integrations are triggered by their queue, not a "
                "schedule; remove it or change the pattern to batch",
            )


def _ordering(roadmap: Roadmap) -> Iterator[Problem]:
    """Ordering is promised only where the pattern keeps it; elsewhere it is refused."""
    for i, integ in enumerate(roadmap.integrations):
        if integ.ordering is Ordering.NONE or not integ.pattern.scheduled:
            continue
        yield Problem(
            f"integrations[{i}].ordering",
            f"{integ.pattern.value} flows cannot keep ordering {integ.ordering.value}: each run "
            "copies the latest state of records changed since the last watermark (intermediate "
            "changes are never seen) and a record that fails is parked and retried on its own "
            "later; remove ordering, or use event_driven, whose FIFO queue keeps per-record order",
        )


def _both_ways(roadmap: Roadmap) -> Iterator[Problem]:
    """Bidirectional flows run a queue and consumer each way; a schedule runs one way only."""
    for i, integ in enumerate(roadmap.integrations):
        if integ.bidirectional and integ.pattern.scheduled:
            yield Problem(
                f"integrations[{i}].direction",
                f"{integ.pattern.value} flows run one way: a scheduled job pages through the "
                "source's changes into the target, and nothing carries the target's changes "
                "back; use a queued pattern (event_driven, middleware, real_time_api), whose "
                "consumers run both ways, or declare a second integration for the way back",
            )


def _salesforce_budget(roadmap: Roadmap) -> Iterator[Problem]:
    """All flows' Salesforce calls/day, computed from their pattern, volume and batches
    (roadmap.budget), fit each org's allocation minus the headroom."""
    spend = {i.name: salesforce_calls_per_day(i, roadmap) for i in roadmap.integrations}
    headroom = roadmap.settings.api_headroom_percent
    for s, system in enumerate(roadmap.systems):
        if system.salesforce is None:
            continue
        users = [
            i for i in roadmap.integrations if system.name in (i.source, i.target) and spend[i.name]
        ]
        total = sum(spend[i.name] for i in users)
        allocation = system.salesforce.allocation
        budget = allocation * (100 - headroom) // 100
        if total > budget:
            top = sorted(users, key=lambda i: -spend[i.name])[:3]
            largest = ", ".join(f"{i.name} {spend[i.name]:,}" for i in top)
            yield Problem(
                f"systems[{s}].salesforce",
                f"integrations spend {total:,} Salesforce API calls/day but {system.name!r} "
                f"allows {budget:,} ({allocation:,} allocation minus {headroom}% headroom); "
                f"lower service_levels.expected_records_per_day or schedules (largest: "
                f"{largest}), or raise licences/api_addon_calls",
            )


# Every rule, in the order its problems are reported.
RULES: tuple[Callable[[Roadmap], Iterator[Problem]], ...] = (
    _unique_names,
    _renames,
    _references,
    _ownership,
    _concurrent_writers,
    _phases_never_rise,
    _schedules,
    _ordering,
    _both_ways,
    _mappings,
    connector_rules,
    _webhooks,
    _salesforce_budget,
)
