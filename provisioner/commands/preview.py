"""`provisioner preview`: `pulumi preview` for a stack through the Automation API, policies on."""

from __future__ import annotations

import argparse

from provisioner.deploy import deploy

NAME = "preview"
ORDER = 60
HELP = "show what `pulumi preview` would change, with the policy pack (needs the Pulumi CLI)"
DESCRIPTION = """\
Build the Lambda bundles and the policy pack (.build/policy-pack/, the folder `check` and
`rehearse` run, with its own virtualenv made from its requirements.txt on first use), then
run `pulumi preview --stack STACK --policy-pack .build/policy-pack --policy-pack-config
policies/config.<stack>.json` (else the stack's environment's config) on this project
through the Automation API, and print the summary of changes. Needs the Pulumi CLI on
PATH, a state backend login and AWS credentials for an account in the stack's
aws:allowedAccountIds.

--roadmap runs the program on another roadmap without editing the stack file. --json
prints {"stack", "action", "changes", "deployed", "outputs"} (the engine's output goes to
stderr).

Exit 0 on success, 1 when Pulumi fails or a mandatory policy is violated, 2 on a usage
error or when the CLI is missing.
"""


def register(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import add_json_argument, add_roadmap_argument, add_stack_argument

    add_stack_argument(parser)
    add_roadmap_argument(parser)
    add_json_argument(parser)


def run(args: argparse.Namespace) -> int:
    return deploy(args.stack, "preview", roadmap=args.roadmap, as_json=args.json)
