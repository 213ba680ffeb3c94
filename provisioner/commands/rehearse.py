"""`provisioner rehearse`: deploy a stack into an embedded AWS emulator and prove it works."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import threading
from typing import TYPE_CHECKING, Any

from provisioner.errors import EXIT_FAILED, EXIT_OK
from provisioner.rehearsal.limits import RULES

if TYPE_CHECKING:
    from provisioner.rehearsal.emulator import Emulator
    from provisioner.rehearsal.runner import RehearsalReport

NAME = "rehearse"
ORDER = 40
HELP = "deploy a stack into an embedded AWS emulator (moto) and smoke-test it"
DESCRIPTION = """\
Start moto's AWS emulator on 127.0.0.1, run the Pulumi program with every resource
created through the AWS API there, run the policy pack over the result, then check:
  - every planned resource exists in the emulator;
  - access matrix: each integration's role (assumed through STS) can use its own queues
    and is denied on every other integration's: live SQS calls with IAM enforced on its
    own queues and a fixed-seed sample of two foreign ones, every foreign queue evaluated
    against its identity and queue policies; its Secrets Manager, KMS and DynamoDB
    permissions evaluated for the same matrix;
  - each log group, function environment, topic and secret under the integration's own
    key, the key admitting exactly the services they need, every secret fenced by its
    resource policy, and scheduled jobs' failed runs kept in the alarmed DLQ;
  - a record end to end through each integration's connectors: each consumer writes it,
    each batch job reads and writes it, at fakes of the vendors' APIs on 127.0.0.1;
  - a poison record reaching the DLQ and `replay` bringing it back;
  - a rotation of each credential completing, the deployed rotation function run as Lambda
    runs it, every request it sends judged by the emulator against the role's policies
    and the secret's fence (one rotated by hand: the scheduled rotation refusing);
  - each credential rotated by hand through `rotate --manual`'s steps: a value the vendor's
    fake refuses changes nothing, the one it issued is tested, promoted, the old one kept;
  - each alarm the phase requires, on the right metric, notifying the alert topic;
  - what a real account refuses and the emulator accepts (account-limits:<rule>):
{limits}

Progress goes to stderr, one result line per check to stdout (or one JSON document with
--json: {"stack", "resources_created", "checks": [{"name", "ok", "detail"}]}).

--keep leaves the emulator running after the checks and prints its endpoint and the
environment to export (with --json: an "emulator" object {"endpoint", "env"} in the
document), so `replay`, `rotate` and `status` can be tried by hand against the deployed
stack, e.g. `provisioner replay quote-to-order --stack dev --endpoint-url URL`. Ctrl-C
stops it.

Exit 0 when every check passes, 1 when one fails, 2 on a usage error.
""".replace(
    "{limits}",
    "\n".join(
        textwrap.fill(
            f"{rule.name}: {rule.summary}",
            88,
            initial_indent="      ",
            subsequent_indent="        ",
        )
        for rule in RULES
    ),
)


def register(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import add_json_argument, add_roadmap_argument, add_stack_argument

    add_stack_argument(parser)
    add_roadmap_argument(parser)
    add_json_argument(parser)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave the emulator running after the checks (prints what to export); Ctrl-C stops it",
    )


def run(args: argparse.Namespace) -> int:
    from provisioner.rehearsal import Progress, rehearse

    def show(check: object) -> None:
        print(check.render(), flush=True)  # type: ignore[attr-defined]

    progress = Progress(on_check=None if args.json else show)

    def hold(aws: Emulator, report: RehearsalReport) -> None:
        # Ctrl-C is the way to stop a kept emulator, not a failure, from the moment the
        # endpoint is printed: someone (or a script) reading it may press it at once.
        try:
            exports = aws.exports()
            _print_report(args, report, {"endpoint": aws.endpoint, "env": exports})
            if not args.json:
                print(f"\nThe emulator keeps running on {aws.endpoint}; in another shell:")
                for name, value in exports.items():
                    print(f"  export {name}={value}")
                print(
                    f"  provisioner replay INTEGRATION --stack {args.stack} --endpoint-url "
                    f"{aws.endpoint}\nCtrl-C stops it."
                )
            sys.stdout.flush()
            progress.step(f"emulator kept running on {aws.endpoint}; Ctrl-C stops it")
            threading.Event().wait()
        except KeyboardInterrupt:
            progress.step("Ctrl-C: stopping the emulator")

    report = rehearse(
        args.stack, roadmap=args.roadmap, progress=progress, keep=hold if args.keep else None
    )
    if not args.keep:
        _print_report(args, report, None)
    return EXIT_OK if report.ok else EXIT_FAILED


def _print_report(
    args: argparse.Namespace, report: RehearsalReport, emulator: dict[str, Any] | None
) -> None:
    if args.json:
        document = report.as_dict()
        if emulator is not None:
            document["emulator"] = emulator
        print(json.dumps(document, indent=2), flush=True)
        return
    failed = [c for c in report.checks if not c.ok]
    print(
        f"\n{args.stack}: {report.resources_created} resources, "
        f"{len(report.checks) - len(failed)}/{len(report.checks)} checks passed",
        flush=True,
    )
