"""What the stack policy tests share: the recorded stack a case breaks, the edits that break
it, judging every case with one running pack, and what a refusal must say.

A case copies the stack `provisioner check` sends (the real program's recorded resources,
with their options), breaks one thing in the copy and expects the named policy to refuse
it with the integration and a fix.

Usage::

    CASES = [("secret-fenced", drop("quote-to-order-cred-x-policy"), "no resource policy")]
    clean, broken = judge(recorded_stack("dev"), [c[1] for c in CASES], stack="dev")
    assert_refused(broken[0], "secret-fenced", "no resource policy", "quote-to-order")
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from program_runs import stack_run

from provisioner.paths import POLICY_PACK_DIR
from provisioner.policy_harness import PolicyHarness, Violation, stack_config

Plan = list[dict[str, Any]]
Mutation = Callable[[Plan], None]
# The clean stack's violations, then each broken copy's (`judge`).
Verdicts = tuple[list[Violation], list[list[Violation]]]


def recorded_stack(stack: str) -> Plan:
    """The stack's recorded resources as `provisioner check` sends them (a fresh copy)."""
    return [{**r.to_json(), "options": dict(r.options)} for r in stack_run(stack).resources]


def named(plan: Plan, name: str, type_suffix: str = "") -> dict[str, Any]:
    """The resource of `plan` with logical name `name` (and a type ending in `type_suffix`)."""
    return next(r for r in plan if r["name"] == name and r["type"].endswith(type_suffix))


def drop(name: str) -> Mutation:
    def mutate(plan: Plan) -> None:
        plan.remove(named(plan, name))

    return mutate


def set_input(name: str, key: str, value: Any, type_suffix: str = "") -> Mutation:
    """Sets one input of a resource; None removes it."""

    def mutate(plan: Plan) -> None:
        inputs = named(plan, name, type_suffix)["inputs"]
        if value is None:
            inputs.pop(key, None)
        else:
            inputs[key] = value

    return mutate


def judge(
    clean: Plan,
    mutations: Iterable[Mutation],
    *,
    stack: str,
    config: Mapping[str, str] | None = None,
) -> Verdicts:
    """`AnalyzeStack` of the clean stack, then of one broken copy per mutation, with one pack."""
    with PolicyHarness(
        stack=stack, config=stack_config(stack) if config is None else config
    ) as pack:
        baseline = pack.analyze_stack(clean)
        broken = []
        for mutate in mutations:
            plan = copy.deepcopy(clean)
            mutate(plan)
            broken.append(pack.analyze_stack(plan))
    return baseline, broken


def each_case(
    names: Sequence[str], cases: Sequence[Sequence[Any]], *columns: int
) -> pytest.MarkDecorator:
    """Parametrizes a test over `cases` by position: `index`, then `names` from `columns`
    of each case; each case is named by its policy (column 0) and its last column."""
    return pytest.mark.parametrize(
        ("index", *names),
        [(i, *(case[c] for c in columns)) for i, case in enumerate(cases)],
        ids=[f"{case[0]}:{str(case[columns[-1]])[:40]}" for case in cases],
    )


def assert_refused(
    violations: Sequence[Violation], policy: str, fragment: str, integration: str | None = None
) -> None:
    """`policy` refused the case, mandatorily, saying `fragment`, the integration and a fix."""
    found = [v for v in violations if v.policy == policy]
    assert found, f"{policy} reported nothing; got {[v.policy for v in violations]}"
    hits = [v for v in found if fragment in v.message]
    assert hits, [v.message for v in found]
    assert all("Fix:" in v.message for v in hits), [v.message for v in hits]
    if integration is not None:
        assert all(f"[{integration}]" in v.message for v in hits), [v.message for v in hits]
    assert all(v.level == "mandatory" for v in found)


def pack_without(folder: Path, names: Iterable[str]) -> Path:
    """A copy of the pack in `folder` that leaves out the policies `names` (same modules)."""
    folder.mkdir()
    shutil.copy(POLICY_PACK_DIR / "PulumiPolicy.yaml", folder)
    (folder / "__main__.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(POLICY_PACK_DIR)!r})\n"
        "from pulumi_policy import EnforcementLevel, PolicyPack\n"
        "from integration_policies import POLICIES\n"
        "PolicyPack(name='without', enforcement_level=EnforcementLevel.MANDATORY,\n"
        f"           policies=[p for p in POLICIES if p.name not in {sorted(names)!r}])\n"
    )
    return folder
