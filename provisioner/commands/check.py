"""`provisioner check`: run the policy pack over the plan, through the engine's protocol."""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from contract.aws_types import LAMBDA_FUNCTION
from contract.naming import CONFIG_NAMESPACE
from contract.phases import REVERSE
from provisioner.errors import EXIT_FAILED, EXIT_OK, UsageError
from provisioner.paths import BUILT_POLICY_PACK_DIR, POLICY_PACK_DIR, PROJECT_ROOT
from provisioner.policy_harness import (
    CheckResult,
    PolicyConfigError,
    PolicyHarness,
    Violation,
    load_pack_config,
)

NAME = "check"
ORDER = 30
HELP = "run the policy pack over the plan (least privilege, encryption, monitoring per phase)"
_BUILT = BUILT_POLICY_PACK_DIR.relative_to(PROJECT_ROOT)
DESCRIPTION = f"""\
Build the plan for a stack (the program under mocks, as `provisioner plan`), build the policy
pack from {POLICY_PACK_DIR.name}/ into {_BUILT}/ (with its own copy of contract/, as
`provisioner build` does), start it there with this interpreter (the pins of its
requirements.txt) as `pulumi up --policy-pack {_BUILT}` does, configure it with
{POLICY_PACK_DIR.name}/config.<stack>.json and the stack's settings, and send every resource
through Analyze and the whole stack through AnalyzeStack.

Violations are printed grouped by integration; --json prints
  {{"policies": [...], "resources_analyzed": N, "violations": [{{"policy", "level", "urn",
  "message"}}]}}

Exit 0 when no mandatory policy is violated, 1 otherwise, 2 on usage or I/O errors.
"""

_OWNER = re.compile(r"^\[([a-z][a-z0-9-]*)\] ", re.MULTILINE)
STACK_WIDE = "(stack)"


def register(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import add_json_argument, add_roadmap_argument, add_stack_argument

    add_stack_argument(parser)
    add_roadmap_argument(parser)
    add_json_argument(parser)


def plan_resources(stack: str, roadmap: Any = None) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The recorded resources (contracts.md shape, with options) and the stack's config."""
    from provisioner.program import run_program
    from provisioner.records import ProgramError

    try:
        run = run_program(stack, roadmap=roadmap)
    except ProgramError as err:
        raise UsageError(str(err)) from None
    resources = [{**r.to_json(), "options": dict(r.options)} for r in run.resources]
    return resources, dict(run.config)


def integration_of(violation: Violation, owners: Mapping[str, str]) -> str:
    """The integration a violation concerns: its resource's, else the one its message names."""
    if violation.urn in owners:
        return owners[violation.urn]
    named = _OWNER.search(violation.message)
    return named.group(1) if named else STACK_WIDE


def resource_owners(resources: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """urn -> integration, from the `integration` tag up the parent chain."""
    by_urn = {r["urn"]: r for r in resources}
    owners: dict[str, str] = {}
    for resource in resources:
        node: Mapping[str, Any] | None = resource
        seen: set[str] = set()
        while node is not None and node["urn"] not in seen:
            tags = (node.get("inputs") or {}).get("tags")
            if isinstance(tags, dict) and isinstance(tags.get("integration"), str):
                owners[resource["urn"]] = tags["integration"]
                break
            seen.add(node["urn"])
            node = by_urn.get(node.get("parent") or "")
    return owners


def render(result: CheckResult, resources: Sequence[Mapping[str, Any]], stack: str) -> str:
    """Text like `pulumi preview --policy-pack`: per integration, then per violation."""
    owners = resource_owners(resources)
    names = {r["urn"]: f"{r['type']}: {r['name']}" for r in resources}
    grouped: dict[str, list[Violation]] = defaultdict(list)
    for violation in result.violations:
        grouped[integration_of(violation, owners)].append(violation)
    mandatory = len(result.mandatory)
    mark = "❌" if mandatory else "✅"
    lines = [
        f"Policies ({stack}): {len(result.policies)} policies, "
        f"{result.resources_analyzed} resources analyzed",
        f"    {mark} integration-guardrails (local: {_BUILT})",
    ]
    # A bidirectional flow's second direction is judged with the first, as the same
    # integration's: say which ones were checked both ways.
    both = sorted(
        owners[r["urn"]]
        for r in resources
        if r["type"] == LAMBDA_FUNCTION
        and r["urn"] in owners
        and r["name"] == f"{owners[r['urn']]}-{REVERSE}-consumer"
    )
    if both:
        lines.append(f"    checked both ways (forward and {REVERSE}): {', '.join(both)}")
    for integ in sorted(grouped, key=lambda k: (k == STACK_WIDE, k)):
        lines.append(f"\n  {integ}")
        for v in sorted(grouped[integ], key=lambda v: (v.level != "mandatory", v.policy, v.urn)):
            where = f"  ({names[v.urn]})" if v.urn in names else ""
            lines.append(f"    - [{v.level}]  {v.policy}{where}")
            lines.extend(f"      {line}" for line in v.message.splitlines())
    advisory = len(result.violations) - mandatory
    lines.append(
        f"\n{mandatory} mandatory and {advisory} other violation(s) in {len(grouped)} group(s)"
        if result.violations
        else "\nNo policy violations."
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    resources, config = plan_resources(args.stack, args.roadmap)
    try:
        environment = config.get(f"{CONFIG_NAMESPACE}:environment")
        policy_config = load_pack_config(args.stack, environment=environment)
        with PolicyHarness(stack=args.stack, config=config, policy_config=policy_config) as pack:
            result = pack.check(resources)
    except PolicyConfigError as err:
        raise UsageError(str(err)) from None
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        print(render(result, resources, args.stack))
    return EXIT_FAILED if result.mandatory else EXIT_OK
