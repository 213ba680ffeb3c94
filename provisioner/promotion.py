"""Promotion: raise an integration's phase in one environment once its exit criteria hold.

A promotion of integration I in environment E from phase p to q (q > p) is allowed when

* order: q does not exceed I's phase in the environment below E (dev has none below, so
  only phase 5 limits it);
* evidence: for every phase being left (p .. q-1), each item `REQUIREMENTS` lists is
  recorded in the roadmap (`integrations[n].evidence.<phase>.<item>`);
* automated criteria: each `AutomatedCheck` passes. The defaults are
  `policy_pack_passes` (the policy pack over the plan of E at phase q) and
  `rehearsal_passes` (the rehearsal's checks for I in the environment below). A check that
  cannot run fails with the reason; it never passes silently.

Only when every criterion passes is the roadmap rewritten, changing that one value and
nothing else, atomically (a temporary file in the same directory, then `os.replace`), and
only if the edited roadmap still validates. Tests pass their own checks::

    outcome = promote(Path("roadmap.yaml"), "quote-to-order", "prod", checks=[my_fake])
    print(outcome.diff if outcome.promoted else outcome.assessment.failed)
"""

from __future__ import annotations

import contextlib
import difflib
import io
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from components.evidence import PHASE_NAMES, REQUIREMENTS, Measurement, SampleValidation, SignOff
from components.roadmap import ENVIRONMENTS, Integration, Roadmap, RoadmapError, parse_roadmap
from components.source_file import SourceFileError, load_yaml, read_source
from provisioner.errors import CheckFailed, UsageError

__all__ = [
    "AUTOMATED_CHECKS",
    "Assessment",
    "AutomatedCheck",
    "Criterion",
    "Outcome",
    "Pending",
    "Proposal",
    "Step",
    "assess",
    "below",
    "edit_phase",
    "pending",
    "plan_step",
    "policy_pack_passes",
    "promote",
    "rehearsal_passes",
    "write_atomically",
]

LAST_PHASE = 5
Status = Literal["passed", "failed"]


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Step:
    """The proposed change: one integration's phase in one environment, from -> to."""

    integration: str
    index: int
    environment: str
    current: int
    target: int
    held_below: int | None = None

    @property
    def below(self) -> str | None:
        return below(self.environment)

    @property
    def phases_left(self) -> range:
        """The phases whose exit criteria this step needs (current .. target-1)."""
        return range(self.current, self.target)


@dataclass(frozen=True)
class Criterion:
    """One exit criterion's result; a failed one says what to do in `fix`."""

    id: str
    kind: Literal["order", "evidence", "automated", "roadmap"]
    status: Status
    detail: str
    fix: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "passed": self.passed,
            "detail": self.detail,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Proposal:
    """What an automated check sees: the step, the roadmap before it and a copy after it."""

    step: Step
    before: Roadmap
    after: Roadmap
    roadmap_path: Path
    after_text: str = ""


AutomatedCheck = Callable[[Proposal], Criterion]


@dataclass(frozen=True)
class Assessment:
    """Every criterion of one step, in the order they were checked."""

    step: Step
    criteria: tuple[Criterion, ...]

    @property
    def failed(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if not c.passed)

    @property
    def promotable(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class Outcome:
    """What `promote` did: the assessment, the diff, and whether the file was written."""

    assessment: Assessment
    diff: str
    dry_run: bool
    written: bool
    path: Path
    notes: tuple[str, ...] = field(default=())

    @property
    def promoted(self) -> bool:
        return self.assessment.promotable

    def as_dict(self) -> dict[str, Any]:
        step = self.assessment.step
        lower = step.below
        return {
            "roadmap": str(self.path),
            "integration": step.integration,
            "environment": step.environment,
            "from_phase": step.current,
            "to_phase": step.target,
            "below": None if lower is None else {"environment": lower, "phase": step.held_below},
            "dry_run": self.dry_run,
            "promoted": self.promoted,
            "written": self.written,
            "criteria": [c.as_dict() for c in self.assessment.criteria],
            "failed": [c.id for c in self.assessment.failed],
            "diff": self.diff,
        }


def below(environment: str) -> str | None:
    """The environment under `environment` (dev -> None, staging -> dev, prod -> staging)."""
    position = ENVIRONMENTS.index(environment)
    return ENVIRONMENTS[position - 1] if position else None


# --------------------------------------------------------------------------- planning


def plan_step(roadmap: Roadmap, name: str, environment: str, to_phase: int | None = None) -> Step:
    """Resolve the request into a Step, or raise UsageError naming what is wrong."""
    if environment not in ENVIRONMENTS:
        raise UsageError(
            f"unknown environment {environment!r}; use one of: {', '.join(ENVIRONMENTS)}"
        )
    try:
        integration = roadmap.integration(name)
    except KeyError as err:
        raise UsageError(str(err.args[0])) from None
    index = roadmap.integrations.index(integration)
    current = integration.phase(environment)
    if to_phase is None:
        if current >= LAST_PHASE:
            raise UsageError(
                f"{name} is at phase {LAST_PHASE} ({PHASE_NAMES[LAST_PHASE]}) in {environment}, "
                "the last phase; there is nothing to promote"
            )
        target = current + 1
    elif not 1 <= to_phase <= LAST_PHASE:
        raise UsageError(f"--to-phase {to_phase}: phases run from 1 to {LAST_PHASE}")
    elif to_phase <= current:
        raise UsageError(
            f"--to-phase {to_phase}: {name} is already at phase {current} in {environment}; "
            f"promotion only raises a phase (choose {current + 1}..{LAST_PHASE})"
            if current < LAST_PHASE
            else f"{name} is already at phase {current} in {environment}, the last phase"
        )
    else:
        target = to_phase
    lower = below(environment)
    held = None if lower is None else integration.phase(lower)
    return Step(name, index, environment, current, target, held)


def raised(roadmap: Roadmap, step: Step) -> Roadmap:
    """A copy of the roadmap with the step applied (not re-validated: checks may need it)."""
    integration = roadmap.integrations[step.index]
    phases = integration.phases.model_copy(update={step.environment: step.target})
    integrations = list(roadmap.integrations)
    integrations[step.index] = integration.model_copy(update={"phases": phases})
    return roadmap.model_copy(update={"integrations": tuple(integrations)})


def roadmap_option(path: Path | str | None) -> str:
    """` --roadmap PATH` for a fix hint when the user named another roadmap than the default,
    so the command the hint suggests checks the same file."""
    from provisioner.paths import ROADMAP

    if path is None or Path(path).resolve() == ROADMAP.resolve():
        return ""
    return f" --roadmap {path}"


# --------------------------------------------------------------------------- criteria


def order_criterion(roadmap: Roadmap, step: Step, roadmap_path: Path | None = None) -> Criterion:
    """The new phase may not exceed the phase held in the environment below."""
    lower = step.below
    if lower is None:
        return Criterion(
            "order",
            "order",
            "passed",
            f"{step.environment} is the lowest environment; only phase {LAST_PHASE} limits it",
        )
    held = roadmap.integrations[step.index].phase(lower)
    if step.target <= held:
        return Criterion(
            "order",
            "order",
            "passed",
            f"phase {step.target} in {step.environment} does not exceed phase {held} in {lower}",
        )
    return Criterion(
        "order",
        "order",
        "failed",
        f"phase {step.target} in {step.environment} would be ahead of phase {held} in {lower}",
        f"promote {lower} first: provisioner promote {step.integration} --to {lower}"
        + (f" --to-phase {step.target}" if step.target > held + 1 else "")
        + roadmap_option(roadmap_path),
    )


def describe(item: Any) -> str:
    """One line for a recorded piece of evidence."""
    if isinstance(item, SignOff):
        return f"{item.name} <{item.email}> ({item.role}), {item.date.isoformat()}" + (
            f", {item.link}" if item.link else ""
        )
    if isinstance(item, SampleValidation):
        return f"{item.records} records validated {item.date.isoformat()}, {item.link}"
    if isinstance(item, Measurement):
        unit = f" {item.unit}" if item.unit else ""
        verdict = "improved" if item.improved else f"NOT improved ({item.better} is better)"
        return (
            f"{item.metric}: {item.before:g} -> {item.after:g}{unit}, {verdict}, "
            f"{item.date.isoformat()}"
        )
    return str(item)


def evidence_criteria(
    integration: Integration, index: int, phases: Sequence[int], source: str = "roadmap.yaml"
) -> list[Criterion]:
    """One criterion per evidence item that leaving each of `phases` needs."""
    out = []
    for phase in phases:
        for req in REQUIREMENTS[phase]:
            item = integration.evidence.recorded(phase, req.field)
            cid = f"evidence.{phase}.{req.field}"
            if item is not None:
                out.append(Criterion(cid, "evidence", "passed", describe(item)))
                continue
            out.append(
                Criterion(
                    cid,
                    "evidence",
                    "failed",
                    f"{req.what} (to leave phase {phase}, {PHASE_NAMES[phase]}) is not recorded",
                    f"record it in {source} at integrations[{index}].evidence.{phase}."
                    f"{req.field}: {req.example}",
                )
            )
    return out


def _run_check(check: AutomatedCheck, proposal: Proposal) -> Criterion:
    """Run one automated check; its own crash is a failed criterion, never a pass.

    Each takes from seconds to a minute or more (a plan and the policy pack, a rehearsal),
    so it says on stderr what it is doing, and how long it took, keeping stdout for results.
    """
    import sys
    import time

    name = getattr(check, "__name__", repr(check))
    step = proposal.step
    what = name.removesuffix("_passes").replace("_", " ")
    print(
        f"checking {what} for {step.integration} -> {step.environment} phase {step.target} ...",
        file=sys.stderr,
        flush=True,
    )
    started = time.monotonic()
    try:
        return check(proposal)
    except Exception as err:
        return Criterion(
            name.removesuffix("_passes").replace("_", "-"),
            "automated",
            "failed",
            f"the check itself failed: {type(err).__name__}: {err}",
            "rerun with PROVISIONER_DEBUG=1 and report it if it persists; the promotion "
            "cannot be approved without this check",
        )
    finally:
        print(f"  {what}: {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)


def assess(
    roadmap: Roadmap,
    step: Step,
    *,
    checks: Sequence[AutomatedCheck] = (),
    roadmap_path: Path = Path("roadmap.yaml"),
    after_text: str = "",
) -> Assessment:
    """Every criterion of `step`: order, recorded evidence, then each automated check.

    `after_text` is the roadmap file as it would be written; checks that run the program
    plan from it.
    """
    integration = roadmap.integrations[step.index]
    criteria = [order_criterion(roadmap, step, roadmap_path)]
    criteria += evidence_criteria(integration, step.index, step.phases_left, roadmap_path.name)
    if checks:
        proposal = Proposal(step, roadmap, raised(roadmap, step), roadmap_path, after_text)
        criteria += [_run_check(check, proposal) for check in checks]
    return Assessment(step, tuple(criteria))


@dataclass(frozen=True)
class Pending:
    """An integration's next promotion in one environment (None at the last phase)."""

    integration: str
    environment: str
    phase: int
    assessment: Assessment | None


def pending(
    roadmap: Roadmap,
    *,
    checks: Sequence[AutomatedCheck] = (),
    roadmap_path: Path = Path("roadmap.yaml"),
    text: str = "",
) -> list[Pending]:
    """The next one-step promotion of every integration in every environment.

    Automated checks are expensive (a plan, a policy run, a rehearsal each), so they run
    only for promotions that order and recorded evidence do not already block.
    """
    out = []
    for integration in roadmap.integrations:
        for environment in ENVIRONMENTS:
            phase = integration.phase(environment)
            if phase >= LAST_PHASE:
                out.append(Pending(integration.name, environment, phase, None))
                continue
            step = plan_step(roadmap, integration.name, environment)
            recorded = assess(roadmap, step, roadmap_path=roadmap_path)
            if checks and recorded.promotable:
                after = edit_phase(text, step, roadmap_path.name)
                recorded = assess(
                    roadmap, step, checks=checks, roadmap_path=roadmap_path, after_text=after
                )
            out.append(Pending(integration.name, environment, phase, recorded))
    return out


# --------------------------------------------------------------------------- automated checks


@contextlib.contextmanager
def _after_file(proposal: Proposal) -> Iterator[Path]:
    """The roadmap text after the step, in a private temporary file (the program reads files)."""
    with tempfile.TemporaryDirectory(prefix="promote-") as folder:
        path = Path(folder) / proposal.roadmap_path.name
        path.write_text(proposal.after_text, encoding="utf-8")
        yield path


def _after_invalid(proposal: Proposal, cid: str) -> Criterion | None:
    """A failed criterion when the raised roadmap breaks a rule (the program would refuse it)."""
    try:
        parse_roadmap(_safe_load(proposal.after_text, "roadmap"), source="roadmap")
    except RoadmapError as err:
        return Criterion(
            cid,
            "automated",
            "failed",
            "not run: the roadmap with the raised phase is invalid ("
            + "; ".join(p.render(proposal.roadmap_path.name) for p in err.problems[:3])
            + ")",
            "resolve the failed order or roadmap criterion first, then rerun",
        )
    return None


def policy_pack_passes(proposal: Proposal) -> Criterion:
    """The policy pack reports no mandatory violation for the integration at its new phase.

    Plans ENV with the raised roadmap (`provisioner.program.run_program`, the real program
    under mocks) and runs the pack over every resource as the engine does
    (`provisioner.policy_harness.check_resources`), so stack-level policies see the whole
    stack; only violations on the integration's own resources (or stack-level ones naming
    it) count against this promotion.
    """
    cid = "policy-pack"
    # Imported here: the program and the harness pull in the Pulumi SDK and gRPC, which
    # every other command (and `--help`) can do without.
    from provisioner import policy_harness as harness
    from provisioner import program

    invalid = _after_invalid(proposal, cid)
    if invalid is not None:
        return invalid
    step = proposal.step
    with _after_file(proposal) as after:
        try:
            run = program.run_program(step.environment, roadmap=after)
        except program.ProgramError as err:
            return Criterion(
                cid,
                "automated",
                "failed",
                f"the program failed to plan {step.environment} at the new phase: {err}",
                f"run `provisioner plan --stack {step.environment}"
                f"{roadmap_option(proposal.roadmap_path)}` on the edited roadmap and fix what "
                "it reports",
            )
        result = harness.check_resources(
            [r.to_json() for r in run.resources], stack=step.environment, config=run.config
        )
    own = {r.urn for r in run.resources if run.integration_of(r) == step.integration}
    mine = [
        v
        for v in result.violations
        if v.urn in own or (not v.urn and step.integration in v.message)
    ]
    mandatory = [v for v in mine if v.level == "mandatory"]
    others = len(result.violations) - len(mine)
    summary = (
        f"{len(result.policies)} policies over {result.resources_analyzed} resources of "
        f"{step.environment} at phase {step.target}: {len(mandatory)} mandatory and "
        f"{len(mine) - len(mandatory)} advisory violation(s) for {step.integration}"
        + (f" ({others} for other integrations, not counted)" if others else "")
    )
    if not mandatory:
        return Criterion(cid, "automated", "passed", summary)
    shown = "; ".join(f"{v.policy}: {v.message}" for v in mandatory[:5])
    return Criterion(
        cid,
        "automated",
        "failed",
        f"{summary}: {shown}",
        f"fix the violations (see `provisioner check --stack {step.environment}"
        f"{roadmap_option(proposal.roadmap_path)}`) so phase "
        f"{step.target} provisions what the policy pack requires, then rerun",
    )


_REHEARSALS: dict[str, Any] = {}


def _rehearsal_key(proposal: Proposal, where: str) -> str:
    """What the rehearsal of `where` depends on: the roadmap with only `where`'s phases.

    Promotions in staging (or prod) of different integrations all rehearse dev (or
    staging) as it is, so one rehearsal serves them all.
    """
    data = proposal.after.model_dump(mode="json")
    for integration in data["integrations"]:
        integration["phases"] = integration["phases"][where]
    return where + json.dumps(data, sort_keys=True, default=str)


def rehearsal_passes(proposal: Proposal) -> Criterion:
    """The rehearsal's checks for the integration pass in the environment below.

    dev has no environment below; there the rehearsal runs dev itself at the new phase, so
    a dev promotion is still proven against the emulator. Checks named for another
    integration (`alarms:<name>`, `access-matrix:sqs:<name>`) do not count; stack-wide ones
    (deploy, policy pack) do.
    """
    cid = "rehearsal"
    step = proposal.step
    where = step.below or step.environment
    from provisioner.rehearsal import Progress as progress
    from provisioner.rehearsal import rehearse

    invalid = _after_invalid(proposal, cid)
    if invalid is not None:
        return invalid
    key = _rehearsal_key(proposal, where)
    report = _REHEARSALS.get(key)
    if report is None:
        with _after_file(proposal) as after:
            report = rehearse(where, roadmap=after, progress=progress(quiet=True))
        _REHEARSALS.clear()  # keep one: `status --with-checks` asks for the same one in a row
        _REHEARSALS[key] = report
    names = {i.name for i in proposal.before.integrations}

    def owner(check_name: str) -> str | None:
        last = check_name.rsplit(":", 1)[-1]
        return last if last in names else None

    counted = [c for c in report.checks if owner(c.name) in (None, step.integration)]
    failed = [c for c in counted if not c.ok]
    summary = (
        f"{len(counted) - len(failed)} of {len(counted)} rehearsal checks passed in {where}"
        + ("" if step.below else f" at phase {step.target}")
    )
    if counted and not failed:
        return Criterion(cid, "automated", "passed", summary)
    shown = "; ".join(f"{c.name}: {c.detail}" for c in failed[:5]) or "no checks ran"
    return Criterion(
        cid,
        "automated",
        "failed",
        f"{summary}: {shown}",
        f"run `provisioner rehearse --stack {where}{roadmap_option(proposal.roadmap_path)}`, "
        "fix what fails, then rerun",
    )


AUTOMATED_CHECKS: tuple[AutomatedCheck, ...] = (policy_pack_passes, rehearsal_passes)


# --------------------------------------------------------------------------- the edit


_SCALAR = re.compile(r"(?:!!int[ \t]+)?([\"']?)([0-9]+)\1")


def _round_trip_yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt", pure=True)
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long flow mappings
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _safe_load(text: str, source: str) -> Any:
    try:
        return load_yaml(text, source)
    except SourceFileError as err:
        raise UsageError(str(err)) from None


def edit_phase(text: str, step: Step, source: str = "roadmap.yaml") -> str:
    """The roadmap text with `integrations[i].phases.<env>` set to the step's target.

    The file is loaded round-trip (ruamel) and dumped with the value changed; when that dump
    would touch any other line (a file indented or quoted differently from ruamel's
    settings, CRLF line ends), the new value is instead spliced in at the position the
    round-trip parser recorded for it. Either way the result is checked: exactly the one
    line differs and the data equals the old data with that one value changed.
    """
    from ruamel.yaml.error import YAMLError

    loc = f"integrations[{step.index}].phases.{step.environment}"
    yaml = _round_trip_yaml()
    try:
        data = yaml.load(text)
        phases = data["integrations"][step.index]["phases"]
        line, column = phases.lc.value(step.environment)
    except (YAMLError, KeyError, IndexError, TypeError, AttributeError) as err:
        raise UsageError(f"{source}: cannot locate {loc} to edit it ({err})") from None

    expected = _safe_load(text, source)
    expected_phases = expected["integrations"][step.index]["phases"]
    # A quoted phase ('2') stays quoted: the edit changes the value, not its style.
    quoted = isinstance(expected_phases[step.environment], str)
    expected_phases[step.environment] = str(step.target) if quoted else step.target

    phases[step.environment] = step.target
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    for candidate in (buffer.getvalue(), _splice(text, line, column, step.target)):
        if (
            candidate is not None
            and _only_line_changed(text, candidate, line)
            and _safe_load(candidate, source) == expected
        ):
            return candidate
    raise CheckFailed(
        f"{source}: {loc}: cannot change this value without touching other lines (is it an "
        f"anchor, alias or multi-line scalar?); nothing was written. Set it to {step.target} "
        "by hand and run `provisioner validate`"
    )


def _splice(text: str, line: int, column: int, value: int) -> str | None:
    lines = text.splitlines(keepends=True)
    if line >= len(lines):
        return None
    match = _SCALAR.match(lines[line], column)
    if match is None:
        return None
    start, end = match.span(2)
    lines[line] = lines[line][:start] + str(value) + lines[line][end:]
    return "".join(lines)


def _only_line_changed(old: str, new: str, line: int) -> bool:
    before, after = old.splitlines(keepends=True), new.splitlines(keepends=True)
    if len(before) != len(after):
        return False
    changed = [n for n, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    return changed == [line]


def unified_diff(old: str, new: str, path: Path) -> str:
    """A unified diff of the roadmap edit, as `git diff` would label it."""
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{path.name}",
            tofile=f"b/{path.name}",
        )
    )


def write_atomically(path: Path, new: bytes, expected_old: bytes) -> None:
    """Replace `path` with `new` in one step, only if it still holds `expected_old`.

    The bytes go to a temporary file in the same directory (same file system, so
    `os.replace` is atomic), are flushed to disk, take the original's permissions, and
    replace the file. Any failure or interrupt before the replace removes the temporary
    file and leaves the roadmap untouched.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".promote", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(new)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        if path.read_bytes() != expected_old:
            raise CheckFailed(
                f"{path}: changed by someone else while promoting; nothing was written, rerun"
            )
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable where supported
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


# --------------------------------------------------------------------------- promote


def read_text(path: Path) -> tuple[bytes, str]:
    """The roadmap's bytes and text; unreadable files are usage errors naming the file."""
    try:
        text = read_source(path)
    except SourceFileError as err:
        raise UsageError(str(err)) from None
    return text.encode("utf-8"), text  # UTF-8 round-trips: these are the bytes read


def load_from_text(text: str, path: Path) -> Roadmap:
    """Validate roadmap text; an invalid roadmap cannot be promoted (CheckFailed, exit 1)."""
    data = _safe_load(text, str(path))
    try:
        return parse_roadmap(data, source=path.name)
    except RoadmapError as err:
        raise CheckFailed(
            f"{path} is invalid ({len(err.problems)} problem(s)); fix it first, see "
            f"`provisioner validate --roadmap {path}`:\n{err}"
        ) from None


def promote(
    path: Path,
    name: str,
    environment: str,
    to_phase: int | None = None,
    *,
    dry_run: bool = False,
    checks: Sequence[AutomatedCheck] = AUTOMATED_CHECKS,
) -> Outcome:
    """Check every criterion of the promotion and, when all pass, write it (unless dry run)."""
    raw, text = read_text(path)
    roadmap = load_from_text(text, path)
    step = plan_step(roadmap, name, environment, to_phase)
    new_text = edit_phase(text, step, path.name)
    assessment = assess(roadmap, step, checks=checks, roadmap_path=path, after_text=new_text)

    # Never write an invalid roadmap: validate exactly the text that would be written.
    try:
        parse_roadmap(_safe_load(new_text, str(path)), source=path.name)
    except RoadmapError as err:
        order_failed = not assessment.criteria[0].passed
        own = f"integrations[{step.index}].phases."
        problems = [p for p in err.problems if not (order_failed and p.loc.startswith(own))]
        if problems:
            invalid = Criterion(
                "roadmap-valid",
                "roadmap",
                "failed",
                "the edited roadmap would break its rules: "
                + "; ".join(p.render(path.name) for p in problems),
                "fix those problems in the roadmap first (provisioner validate"
                f"{roadmap_option(path)}), then rerun",
            )
            assessment = Assessment(step, (*assessment.criteria, invalid))

    diff = unified_diff(text, new_text, path)
    written = False
    if assessment.promotable and not dry_run:
        write_atomically(path, new_text.encode("utf-8"), raw)
        written = True
    return Outcome(assessment, diff, dry_run, written, path)
