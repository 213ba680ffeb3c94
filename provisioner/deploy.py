"""`provisioner preview|up`: the real deployment, through Pulumi's Automation API.

Runs the project's own program (`__main__.py`, via the Pulumi CLI and the Python language
host) against the stack, with the policy pack enforced as `check` and `rehearse` run it:
built into `.build/policy-pack/` (`provisioner.pack_build`) with its own virtualenv. Needs
the Pulumi CLI on PATH and cloud credentials; `provisioner plan` is the offline counterpart.

`up` never deploys unseen changes: it previews with the same policy pack, pack config
(`policies/config.<stack>.json`, else the environment's) and roadmap, prints the summary,
and asks before updating unless `--yes`.

Usage::

    deploy("dev", "preview")  # prints the engine's output, returns the exit code
    deploy("dev-alice", "up", roadmap=Path("roadmap.yaml"), yes=True)
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from contract.naming import CONFIG_NAMESPACE, SECRET
from provisioner.context import StackContext, load_stack_context
from provisioner.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError
from provisioner.paths import PROJECT_ROOT, STACKS_DIR
from roadmap.stack_config import stack_file

__all__ = ["Deployment", "confirm", "deploy", "require_pulumi_cli"]

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


@dataclass
class Deployment:
    """One `preview` or `up` of a stack, as `--json` prints it."""

    stack: str
    action: str
    changes: dict[str, int] = field(default_factory=dict)
    deployed: bool = False
    outputs: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        """`preview of dev: 12 to create, 1 to update (3 unchanged)`."""
        changes = sorted((op, n) for op, n in self.changes.items() if n and op != "same")
        counts = ", ".join(f"{n} to {op}" for op, n in changes) or "no changes"
        unchanged = self.changes.get("same", 0)
        return f"preview of {self.stack}: {counts}" + (
            f" ({unchanged} unchanged)" if unchanged else ""
        )


def confirm(question: str) -> bool | None:
    """The operator's answer on a terminal, None when there is nobody to ask."""
    if not sys.stdin.isatty():
        return None
    return input(question).strip().lower() in ("y", "yes")


@contextlib.contextmanager
def _config_file(context: StackContext, roadmap: Path | None) -> Iterator[str | None]:
    """The stack file to run with: the stack's own, or a copy that names `--roadmap`.

    The copy keeps everything else (secure values, the secrets provider's salt, ESC
    imports) so the engine reads it as it reads the stack's own file, which stays unedited.
    """
    if roadmap is None:
        yield None
        return
    import yaml

    path = stack_file(STACKS_DIR, context.stack)
    document = yaml.safe_load(path.read_text()) or {}
    document.setdefault("config", {})[f"{CONFIG_NAMESPACE}:roadmap"] = str(
        context.roadmap_path.resolve()
    )
    with tempfile.TemporaryDirectory(prefix="provisioner-") as tmp:
        copy = Path(tmp) / path.name
        copy.write_text(yaml.safe_dump(document, sort_keys=False))
        yield str(copy)


def deploy(
    stack: str,
    action: Literal["preview", "up"],
    *,
    roadmap: Path | None = None,
    yes: bool = False,
    as_json: bool = False,
) -> int:
    """Preview `stack` with its policy pack config; for `up`, then ask and update.

    `up` always previews first and prints the summary; it deploys only when the operator
    says yes (or `yes` is given), with the same pack, pack config and roadmap.
    Returns the CLI exit code: 1 when Pulumi or a mandatory policy fails.
    """
    context = load_stack_context(stack, roadmap)  # a bad stack or roadmap stops here
    require_pulumi_cli()  # before importing anything that would shell out to it
    from pulumi import automation as auto

    from provisioner.bundles import BundleBuildError, build_all
    from provisioner.pack_build import PackEnvironmentError, build_pack, ensure_pack_virtualenv
    from provisioner.policy_harness.config import pack_config_file  # starts no pack; just the path

    try:  # the program reads only built bundles
        build_all()
    except BundleBuildError as err:
        raise UsageError(f"cannot build the Lambda bundles: {err}") from None
    pack_dir = build_pack()  # the pack the offline checks ran, with its own contract/
    try:
        ensure_pack_virtualenv(pack_dir)
    except PackEnvironmentError as err:
        raise UsageError(f"cannot prepare the policy pack: {err}") from None

    out = sys.stderr if as_json else sys.stdout
    pack_config = pack_config_file(stack, context.environment)
    options: dict[str, Any] = {
        "policy_packs": [str(pack_dir)],
        "policy_pack_configs": [str(pack_config)] if pack_config else [],
        "on_output": lambda line: print(line, file=out, end="" if line.endswith("\n") else "\n"),
        "color": "auto",
    }
    result = Deployment(stack, action)
    try:
        with _config_file(context, roadmap) as config_file:
            if config_file is not None:
                options["config_file"] = config_file
            workspace_stack = auto.create_or_select_stack(
                stack_name=stack, work_dir=str(PROJECT_ROOT)
            )
            preview = workspace_stack.preview(**options)
            result.changes = {
                str(getattr(op, "value", op)): n for op, n in preview.change_summary.items()
            }
            print(result.summary(), file=out)
            if action == "up":
                answer = True if yes else confirm(f"Deploy these changes to {stack}? [y/N] ")
                if answer is None:
                    print(
                        f"provisioner up: not deployed: nobody to confirm on this terminal; "
                        f"rerun with --yes to deploy what the preview of {stack} showed",
                        file=sys.stderr,
                    )
                    return EXIT_USAGE
                if answer:
                    update = workspace_stack.up(**options)
                    result.deployed = True
                    result.outputs = {k: _shown(v) for k, v in update.outputs.items()}
                else:
                    print("nothing deployed", file=out)
    except auto.errors.CommandError as err:
        print(
            f"provisioner {action}: pulumi {action} failed for stack {stack}:\n{err}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if as_json:
        print(json.dumps(asdict(result), indent=2))
    return EXIT_OK


def _shown(output: Any) -> Any:
    """A stack output's value, `[secret]` when Pulumi marks it secret."""
    return SECRET if getattr(output, "secret", False) else getattr(output, "value", output)
