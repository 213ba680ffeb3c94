"""The example roadmap as data, and the one way the rule tests break a copy of it.

Shared by the roadmap-rule and evidence tests: each mutates a fresh deep copy of the example
(never EXAMPLE itself) and asks which problems the roadmap model reports::

    problems = problems_after(lambda data: data["integrations"].pop())
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from roadmap.io import parse_roadmap
from roadmap.model import Roadmap
from roadmap.problems import Problem, RoadmapError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE: dict[str, Any] = yaml.safe_load((ROOT / "roadmap.yaml").read_text())


def problems_after(mutate: Callable[[dict[str, Any]], None]) -> list[Problem]:
    """The problems of a copy of the example after `mutate`; fails if the copy is valid."""
    data = copy.deepcopy(EXAMPLE)
    mutate(data)
    with pytest.raises(RoadmapError) as caught:
        parse_roadmap(data)
    return caught.value.problems


def example_with_long_words() -> Roadmap:
    """The example with a long vendor name (a non-ASCII dash in it) and a flow of seven
    objects: what the report's map must wrap and still fit."""
    data = copy.deepcopy(EXAMPLE)
    data["systems"][1]["vendor"] = (
        "Oracle NetSuite OneWorld \u2013 EMEA subsidiary, SuiteTalk REST and SOAP web services"
    )
    export = next(i for i in data["integrations"] if i["name"] == "warehouse-export")
    export["objects"] = [o["name"] for o in data["objects"] if o["owner"] == "salesforce"]
    return parse_roadmap(data)


def stack_folder(folder: Path, stack: str, edit: dict[str, str], source: str = "dev") -> Path:
    """`folder` holding stack `stack`: the repository's `source` stack file with each of
    `edit`'s texts (which must be there) replaced."""
    text = (ROOT / "stacks" / f"Pulumi.{source}.yaml").read_text()
    for old, new in edit.items():
        assert old in text, f"Pulumi.{source}.yaml has no {old!r}"
        text = text.replace(old, new)
    (folder / f"Pulumi.{stack}.yaml").write_text(text)
    return folder
