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

from components.roadmap import Problem, RoadmapError, parse_roadmap

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE: dict[str, Any] = yaml.safe_load((ROOT / "roadmap.yaml").read_text())


def problems_after(mutate: Callable[[dict[str, Any]], None]) -> list[Problem]:
    """The problems of a copy of the example after `mutate`; fails if the copy is valid."""
    data = copy.deepcopy(EXAMPLE)
    mutate(data)
    with pytest.raises(RoadmapError) as caught:
        parse_roadmap(data)
    return caught.value.problems
