"""`provisioner up`: preview, confirm, then `pulumi up` through the Automation API."""

from __future__ import annotations

import argparse

from provisioner.deploy import deploy

NAME = "up"
ORDER = 61
HELP = "preview, ask, then deploy the stack with `pulumi up` and the policy pack"
DESCRIPTION = """\
Preview the stack exactly as `provisioner preview` does (the built policy pack,
.build/policy-pack/, with the stack's pack config, the same roadmap), print the summary
of changes, ask whether to deploy them, and only then run `pulumi up` with the same
settings. --yes deploys without asking; without a terminal to ask on, and without
--yes, nothing is deployed (exit 2).
Needs the Pulumi CLI on PATH, a state backend login and AWS credentials for an account in
the stack's aws:allowedAccountIds.

--json prints {"stack", "action", "changes", "deployed", "outputs"} (secret outputs as
[secret]; the engine's output goes to stderr).

Exit 0 when deployed or declined, 1 when Pulumi fails or a mandatory policy is violated,
2 on a usage error, when the CLI is missing, or when nobody confirmed.
"""


def register(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import add_json_argument, add_roadmap_argument, add_stack_argument

    add_stack_argument(parser)
    add_roadmap_argument(parser)
    add_json_argument(parser)
    parser.add_argument(
        "--yes", action="store_true", help="deploy what the preview shows without asking"
    )


def run(args: argparse.Namespace) -> int:
    return deploy(args.stack, "up", roadmap=args.roadmap, yes=args.yes, as_json=args.json)
