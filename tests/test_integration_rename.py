"""Renaming an integration: its resources are carried over by alias, not deleted and re-made.

The program's run records, for each resource, the URNs the engine resolves its aliases to
(its own and those inherited from its parents). Every resource the old name registered must
be one of those for exactly one resource under the new name: then `pulumi up` updates or
replaces each in place of a delete-and-create of the whole integration.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from program_runs import stack_run
from roadmap_examples import EXAMPLE, problems_after

from provisioner.cli import main
from provisioner.policy_harness.wire import analyze_request
from provisioner.program import run_program
from provisioner.records import ProgramRun, RecordedResource

OLD = "quote-to-order"
NEW = "deal-to-order"


def _renamed(data: dict[str, Any]) -> dict[str, Any]:
    renamed = copy.deepcopy(data)
    integration = next(i for i in renamed["integrations"] if i["name"] == OLD)
    integration["name"] = NEW
    integration["renamed_from"] = [OLD]
    return renamed


def _subtree(run: ProgramRun, name: str) -> list[RecordedResource]:
    return [r for r in run.resources if run.integration_of(r) == name]


def test_every_resource_of_the_old_name_is_an_alias_of_one_under_the_new(
    tmp_path: Path,
) -> None:
    roadmap = tmp_path / "roadmap.yaml"
    roadmap.write_text(yaml.safe_dump(_renamed(EXAMPLE), sort_keys=False))
    before = _subtree(stack_run("dev"), OLD)
    after = _subtree(run_program("dev", roadmap=roadmap), NEW)

    assert before, f"{OLD} provisions nothing in dev"
    assert len(after) == len(before)
    carried: dict[str, str] = {}
    for resource in after:
        assert NEW in resource.urn
        # Only the aliases that carry the former name (pulumi-aws adds its own aliases of
        # renamed types, such as BucketV2, under the same name).
        for alias in {a for a in resource.options["aliases"] if OLD in a}:
            assert alias not in carried, f"{alias} claimed twice"
            carried[alias] = resource.urn
    missing = [r.urn for r in before if r.urn not in carried]
    assert not missing, f"{len(missing)} resources would be deleted and re-created: {missing[:3]}"
    by_urn = {r.urn: r for r in after}
    for old in before:
        assert by_urn[carried[old.urn]].type == old.type


def test_unrenamed_resources_have_no_former_names_and_the_pack_sees_aliases() -> None:
    run = stack_run("dev")
    # Without renamed_from no alias names another resource (the provider's own type aliases
    # keep the name).
    assert all(a.rsplit("::", 1)[1] == r.name for r in run.resources for a in r.options["aliases"])
    renamed = {**run.resources[0].to_json(), "options": {"aliases": ["urn:pulumi:a::b::c::d"]}}
    assert list(analyze_request(renamed).options.aliases) == ["urn:pulumi:a::b::c::d"]


def test_a_former_name_still_in_use_is_refused() -> None:
    def reuse(data: dict[str, Any]) -> None:
        data["integrations"][1]["renamed_from"] = [data["integrations"][0]["name"]]

    (problem,) = problems_after(reuse)
    assert problem.loc == "integrations[1].renamed_from[0]"
    assert "is the name of integrations[0]" in problem.msg
    assert "remove it from renamed_from" in problem.msg


def test_a_former_name_has_one_successor_and_is_listed_once() -> None:
    def share(data: dict[str, Any]) -> None:
        data["integrations"][0]["renamed_from"] = ["old-flow", "old-flow"]
        data["integrations"][1]["renamed_from"] = ["old-flow"]

    problems = {p.loc: p.msg for p in problems_after(share)}
    assert problems["integrations[0].renamed_from[1]"] == "'old-flow' is listed twice; remove one"
    assert "already a former name of integrations[0]" in problems["integrations[1].renamed_from[0]"]
    assert len(problems) == 2


def test_plan_says_what_the_rename_keeps_and_what_aws_re_creates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roadmap = tmp_path / "roadmap.yaml"
    roadmap.write_text(yaml.safe_dump(_renamed(EXAMPLE), sort_keys=False))
    assert main(["plan", "--stack", "dev", "--roadmap", str(roadmap), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    plan = next(i for i in doc["integrations"] if i["name"] == NEW)
    assert plan["renamed_from"] == [OLD]
    recreated = set(plan["recreated_by_rename"])
    assert {f"{NEW}-queue", f"{NEW}-dlq", f"{NEW}-role"} <= recreated
    assert f"{NEW}-key" not in recreated  # a KMS key has no name: it is kept, data and all
    assert all(not i["recreated_by_rename"] for i in doc["integrations"] if i["name"] != NEW)

    assert main(["plan", "--stack", "dev", "--roadmap", str(roadmap)]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert (
        f"renamed from {OLD}: its resources are carried over by alias; AWS changes no name in "
        f"place, so the {len(recreated)} with AWS names are re-created"
    ) in text
