"""Subcommands of the `provisioner` CLI, one module each.

Each module defines `NAME`, `HELP` (one line), `ORDER` (position in `--help`),
`register(parser)` to add its arguments and `run(args) -> int` returning the exit code:
0 success, 1 the checked thing failed (invalid roadmap, policy violation, refused
promotion), 2 usage or I/O error. Raise `provisioner.errors.UsageError` for the latter.
"""
