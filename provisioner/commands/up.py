"""`provisioner up`: `pulumi up` for a stack through the Automation API, policies on."""

from __future__ import annotations

import argparse

from provisioner.deploy import deploy

NAME = "up"
ORDER = 61
HELP = "deploy the stack with `pulumi up` and the policy pack (needs the Pulumi CLI)"
DESCRIPTION = """\
Run `pulumi up --stack STACK --policy-pack policies` on this project through the
Automation API. Needs the Pulumi CLI on PATH, a state backend login and AWS credentials.

Exit 0 on success, 1 when Pulumi or a policy fails, 2 when the CLI is missing.
"""


def register(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import add_stack_argument

    add_stack_argument(parser)


def run(args: argparse.Namespace) -> int:
    return deploy(args.stack, "up")
