"""`provisioner validate`: check the roadmap's types and cross-entry rules."""

from __future__ import annotations

import argparse
import json

from contract.phases import ENVIRONMENTS
from provisioner.context import resolve_roadmap_path
from provisioner.errors import EXIT_FAILED, EXIT_OK, UsageError
from provisioner.paths import STACKS_DIR
from provisioner.table import text_table
from roadmap.io import SourceFileError, load_roadmap
from roadmap.model import Roadmap
from roadmap.problems import Problem, RoadmapError
from roadmap.settings import stack_problems
from roadmap.stack_config import StackSettingsError, load_stack_settings, stack_file

NAME = "validate"
ORDER = 10
HELP = "check the roadmap: types, references, ownership, phases, API budget"
DESCRIPTION = """\
Validate the roadmap and report every problem in one run, each as
  roadmap.yaml: integrations[3].credentials[0].rotation_days: <what is wrong and what to do>
then each stack's settings against it (kill-switch entries name integrations; the stack's
salesforceApiAllocation covers the API calls/day of the integrations active there; the
concurrency the webhook ingresses reserve leaves lambdaConcurrencyLimit 100 unreserved), as
  stacks/Pulumi.dev.yaml: config.integration-provisioner:killSwitch[0]: <...>

Exit 0 when valid, 1 when the roadmap breaks a rule, 2 when the file is missing or not YAML.
"""


def register(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import add_json_argument, add_roadmap_argument

    add_roadmap_argument(parser)
    add_json_argument(parser)


def summary(roadmap: Roadmap) -> str:
    """A short human summary: counts, patterns and the phase matrix."""
    rows = [
        [
            integ.name,
            integ.pattern.value + (" (FIFO)" if integ.fifo else ""),
            *(integ.phase(e) for e in ENVIRONMENTS),
        ]
        for integ in roadmap.integrations
    ]
    head = (
        f"{roadmap.organisation}: {len(roadmap.systems)} systems, {len(roadmap.objects)} objects, "
        f"{len(roadmap.integrations)} integrations"
    )
    headers = ["integration", "pattern", *ENVIRONMENTS]
    table = text_table(headers, rows, align="<<" + ">" * len(ENVIRONMENTS))
    return "\n".join([head, "", *table])


def run(args: argparse.Namespace) -> int:
    path = resolve_roadmap_path(args.roadmap)
    try:
        roadmap = load_roadmap(path)
    except SourceFileError as err:
        if args.json:
            print(json.dumps({"valid": False, "errors": [{"loc": "", "msg": str(err)}]}))
        raise UsageError(str(err)) from None
    except RoadmapError as err:
        if args.json:
            errors = [{"loc": p.loc, "msg": p.msg} for p in err.problems]
            print(json.dumps({"valid": False, "errors": errors}, indent=2))
        else:
            for problem in err.problems:
                print(problem.render(err.source))
            print(f"\n{len(err.problems)} problem(s) in {path}")
        return EXIT_FAILED
    stack_errors = _stack_problems(roadmap)
    if stack_errors:
        if args.json:
            errors = [{"loc": f"{source}: {p.loc}", "msg": p.msg} for source, p in stack_errors]
            print(json.dumps({"valid": False, "errors": errors}, indent=2))
        else:
            for source, problem in stack_errors:
                print(problem.render(source))
            print(f"\n{len(stack_errors)} problem(s) in the stack settings for {path}")
        return EXIT_FAILED
    if args.json:
        print(json.dumps({"valid": True, "errors": []}))
    else:
        print(f"{path}: valid\n")
        print(summary(roadmap))
    return EXIT_OK


def _stack_problems(roadmap: Roadmap) -> list[tuple[str, Problem]]:
    """Each stack file's problems with this roadmap (unreadable stack files are skipped:
    every stack command reports those itself)."""
    found = []
    for stack in ENVIRONMENTS:
        try:
            settings = load_stack_settings(STACKS_DIR, stack)
        except StackSettingsError:
            continue
        source = str(stack_file(STACKS_DIR, stack))
        found += [(source, p) for p in stack_problems(settings, roadmap)]
    return found
