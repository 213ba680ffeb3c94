"""`provisioner completion SHELL`: print a tab-completion script for bash or zsh."""

from __future__ import annotations

import argparse

from provisioner.errors import EXIT_OK

NAME = "completion"
ORDER = 95
SHELLS = ("bash", "zsh")
HELP = "print a shell completion script (bash or zsh)"
DESCRIPTION = """\
Print a script that completes commands, options, stacks and file paths.

  bash:  provisioner completion bash > ~/.local/share/bash-completion/completions/provisioner
  zsh:   provisioner completion zsh > "${fpath[1]}/_provisioner"   (then restart the shell)

or, for the current shell only:  source <(provisioner completion bash)
"""


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash or zsh")


def run(args: argparse.Namespace) -> int:
    import shtab

    from provisioner.cli import build_parser

    print(shtab.complete(build_parser(), shell=args.shell))
    return EXIT_OK
