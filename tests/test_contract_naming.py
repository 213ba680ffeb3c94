"""Physical names: within the limit, stable, and traceable to their integration."""

from __future__ import annotations

import copy
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from roadmap_examples import EXAMPLE, problems_after

from contract.naming import (
    HASH_LENGTH,
    MAX_PREFIX_LENGTH,
    NAME_LIMIT,
    PREFIX_PATTERN,
    ROLE_HEADS,
    SLUG_MAX_LENGTH,
    SLUG_PATTERN,
    clashing_names,
    owner_of_name,
    physical_name,
    stack_physical_name,
)
from roadmap.io import parse_roadmap
from roadmap.problems import RoadmapError

slugs = st.from_regex(SLUG_PATTERN, fullmatch=True)
prefixes = st.from_regex(PREFIX_PATTERN, fullmatch=True)
roles = st.from_regex(r"^[a-z][a-z0-9-]{0,60}[a-z0-9]$", fullmatch=True)


def test_short_names_read_as_prefix_integration_role() -> None:
    assert physical_name("prod", "quote-to-order", "dlq") == "prod-quote-to-order-dlq"


def test_longest_schema_names_are_shortened_with_a_stable_hash() -> None:
    prefix = "p" * MAX_PREFIX_LENGTH
    integration = "i" * SLUG_MAX_LENGTH
    role = "cred-" + "c" * SLUG_MAX_LENGTH + "-rotation"
    name = physical_name(prefix, integration, role)
    assert len(name) <= NAME_LIMIT
    assert name.startswith(f"{prefix}-{integration}-")
    assert re.fullmatch(rf".*-[0-9a-f]{{{HASH_LENGTH}}}", name)
    assert physical_name(prefix, integration, role) == name


@given(prefixes, slugs, roles, roles)
def test_names_fit_the_limit_keep_their_owner_and_stay_distinct(
    prefix: str, integration: str, role: str, other_role: str
) -> None:
    name = physical_name(prefix, integration, role)
    assert len(name) <= NAME_LIMIT
    assert owner_of_name(name, prefix, [integration]) == integration
    if role != other_role:
        assert physical_name(prefix, integration, other_role) != name


def test_longest_integration_name_owns_a_shared_head() -> None:
    names = ["lead", "lead-to-account"]
    assert owner_of_name("prod-lead-to-account-dlq", "prod", names) == "lead-to-account"
    assert owner_of_name("prod-lead-dlq", "prod", names) == "lead"
    assert owner_of_name("dev-lead-dlq", "prod", names) is None


def test_an_integration_named_after_anothers_role_clashes() -> None:
    for head in ROLE_HEADS:
        assert clashing_names(["lead", f"lead-{head}-x"]) == [("lead", f"lead-{head}-x")]
    assert clashing_names(["lead", "lead-to-account"]) == []


def test_validate_refuses_integration_names_whose_aws_names_could_coincide() -> None:
    def rename_second(data: dict[str, Any]) -> None:
        first = data["integrations"][0]["name"]
        data["integrations"][1]["name"] = f"{first}-cred-x"

    problems = problems_after(rename_second)
    assert any(
        p.loc == "integrations[1].name" and "could get the same AWS names" in p.msg
        for p in problems
    ), problems


def test_roadmap_names_follow_the_shared_slug_rule() -> None:
    def rename(name: str) -> list[str]:
        data = copy.deepcopy(EXAMPLE)
        data["integrations"][0]["name"] = name
        try:
            parse_roadmap(data)
        except RoadmapError as err:
            return [p.loc for p in err.problems]
        return []

    assert rename("a" * SLUG_MAX_LENGTH) == []
    assert "integrations[0].name" in rename("a" * (SLUG_MAX_LENGTH + 1))


def test_no_integration_may_take_the_stack_audit_trails_names() -> None:
    assert stack_physical_name("prod", "audit-trail") == "prod-stack-audit-trail"
    assert clashing_names(["stack-audit-logs"]) == [("stack", "stack-audit-logs")]
    assert clashing_names(["stacker"]) == []
