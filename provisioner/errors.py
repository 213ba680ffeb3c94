"""Errors the CLI turns into a message and an exit code, never a traceback."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad invocation or unreadable input (exit 2); the message says what to do."""


class CheckFailed(Exception):
    """The command ran but what it checked failed (exit 1); the message says why."""
