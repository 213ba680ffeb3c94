"""`provisioner preview|up`: the real deployment, through Pulumi's Automation API.

Runs the project's own program (`__main__.py`, via the Pulumi CLI and the Python language
host) against the stack, with the policy pack in `policies/` enforced. Needs the Pulumi
CLI on PATH and cloud credentials; `provisioner plan` is the offline counterpart.

Usage::

    deploy("dev", "preview")  # prints the engine's output, returns the exit code
"""

from __future__ import annotations

import shutil
import sys
from typing import Literal

from provisioner.errors import EXIT_FAILED, EXIT_OK, UsageError
from provisioner.paths import POLICY_PACK_DIR, PROJECT_ROOT

__all__ = ["deploy", "require_pulumi_cli"]

INSTALL_HINT = (
    "the Pulumi CLI is not installed (no `pulumi` on PATH). Install it "
    "(https://www.pulumi.com/docs/iac/download-install/, e.g. `curl -fsSL https://get.pulumi.com "
    "| sh`), log in to a state backend (`pulumi login` or `pulumi login --local`), then rerun. "
    "Without the CLI, `provisioner plan --stack STACK` shows what would be created."
)


def require_pulumi_cli() -> str:
    """The path of the `pulumi` executable, or UsageError (exit 2) saying how to get it."""
    path = shutil.which("pulumi")
    if path is None:
        raise UsageError(INSTALL_HINT)
    return path


def deploy(stack: str, action: Literal["preview", "up"]) -> int:
    """Preview or update `stack` with the policy pack; returns the CLI exit code."""
    require_pulumi_cli()  # before importing anything that would shell out to it
    from pulumi import automation as auto

    try:
        workspace_stack = auto.create_or_select_stack(stack_name=stack, work_dir=str(PROJECT_ROOT))
        packs = [str(POLICY_PACK_DIR)]
        if action == "preview":
            workspace_stack.preview(policy_packs=packs, on_output=print, color="auto")
        else:
            workspace_stack.up(policy_packs=packs, on_output=print, color="auto")
    except auto.errors.CommandError as err:
        print(
            f"provisioner {action}: pulumi {action} failed for stack {stack}:\n{err}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK
