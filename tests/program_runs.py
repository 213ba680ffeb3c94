"""Runs of the real program shared by the component and plan tests.

One run of the program under the mock runtime takes a few seconds; the example stacks
are run once per test session and the records shared (tests only read them).
"""

from __future__ import annotations

import functools

from provisioner.program import run_program
from provisioner.records import ProgramRun


@functools.cache
def stack_run(stack: str) -> ProgramRun:
    """The program's run for an example stack, with its own roadmap and settings."""
    return run_program(stack)
