"""The `provisioner` command line: validate, plan, check, rehearse, promote and report.

Subcommands live in `provisioner.commands`, one module each, discovered at start-up so
that adding a command touches only its own file.

Exit codes: 0 success, 1 the checked thing failed, 2 usage or I/O error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import traceback
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from types import ModuleType

import shtab

from contract.phases import ENVIRONMENTS
from provisioner import commands
from provisioner.aws_env import endpoint_problem
from provisioner.errors import EXIT_FAILED, EXIT_USAGE, CheckFailed, UsageError
from provisioner.paths import ROADMAP

DESCRIPTION = """\
Turn a CRM integration roadmap into least-privilege, monitored AWS infrastructure.

Typical flow:
  provisioner validate                  check roadmap.yaml and its rules
  provisioner plan --stack dev          what `pulumi up` would create (no cloud)
  provisioner check --stack prod        run the policy pack over that plan
  provisioner rehearse --stack dev      deploy into an embedded AWS emulator and smoke-test it
  provisioner status                    the phase matrix and what blocks each promotion
  provisioner promote NAME --to staging raise an integration's phase after its exit criteria
  provisioner report --stack prod --out report/   the map, matrices and checklist as HTML

Exit codes: 0 success, 1 the checked thing failed, 2 usage or I/O error.
Set PROVISIONER_DEBUG=1 to see tracebacks of internal errors.
"""


def complete_files(action: argparse.Action, kind: str = "file") -> argparse.Action:
    """Let shell completion offer paths for this option (`kind`: "file" or "directory")."""
    action.complete = shtab.FILE if kind == "file" else shtab.DIRECTORY  # type: ignore[attr-defined]
    return action


def add_roadmap_argument(parser: argparse.ArgumentParser) -> None:
    complete_files(
        parser.add_argument(
            "--roadmap",
            type=Path,
            default=None,
            metavar="PATH",
            help=f"roadmap file (default: the stack's setting, else {ROADMAP.name} in the project)",
        )
    )


def add_stack_argument(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument(
        "--stack",
        required=required,
        metavar="STACK",
        help=f"a stack with settings in stacks/Pulumi.<stack>.yaml: {', '.join(ENVIRONMENTS)}, "
        "or one that declares its environment (dev-alice, pr-123)",
    )


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document instead of text"
    )


def positive_int(value: str) -> int:
    """argparse type: a whole number >= 1 (a count of messages, items, ...)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number; use 1 or more")
    return number


def positive_seconds(value: str) -> float:
    """argparse type: a duration in seconds > 0."""
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not seconds > 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"{value} seconds: use a positive, finite number")
    return seconds


def _command_modules() -> list[ModuleType]:
    found = [
        importlib.import_module(f"{commands.__name__}.{info.name}")
        for info in pkgutil.iter_modules(commands.__path__)
        if not info.name.startswith("_")
    ]
    return sorted(found, key=lambda m: (getattr(m, "ORDER", 100), m.NAME))


def version_line() -> str:
    """`provisioner --version`: this package and the engine parts a bug report needs."""
    parts = ", ".join(f"{name} {_installed(name)}" for name in ("pulumi", "pulumi-aws", "moto"))
    python = sys.version.split()[0]
    return f"provisioner {_installed('integration-provisioner')} ({parts}, Python {python})"


def _installed(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="provisioner",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=version_line())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        child = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.register(child)
        child.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.run(args))
    except UsageError as err:
        print(f"provisioner {args.command}: {err}", file=sys.stderr)
        return EXIT_USAGE
    except CheckFailed as err:
        print(f"provisioner {args.command}: {err}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:  # e.g. `provisioner plan --json | head`: the reader left
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"provisioner {args.command}: interrupted", file=sys.stderr)
        return 130
    except ValueError as err:
        # botocore refuses a malformed AWS_ENDPOINT_URL with a bare ValueError when a client
        # is made; that is the user's environment, not a bug.
        problem = endpoint_problem()
        if problem is None:
            return _internal_error(args.command, err)
        print(f"provisioner {args.command}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as err:  # a bug of ours, not the user's input: say so plainly
        return _internal_error(args.command, err)


def _internal_error(command: str, err: Exception) -> int:
    if os.environ.get("PROVISIONER_DEBUG"):
        traceback.print_exception(err)
    print(
        f"provisioner {command}: internal error: {type(err).__name__}: {err}\n"
        "This is a bug in provisioner; rerun with PROVISIONER_DEBUG=1 and report it.",
        file=sys.stderr,
    )
    return EXIT_FAILED
