"""Fixtures shared by the test modules: the example stacks' program runs.

Each stack's run is made once per session (`program_runs.stack_run`) and only read; a
module that means something else by `dev` or `prod` (its settings, a plan document)
defines its own fixture, which takes precedence.
"""

from __future__ import annotations

import pytest
from program_runs import stack_run

from provisioner.program import ProgramRun


@pytest.fixture(scope="session")
def dev() -> ProgramRun:
    return stack_run("dev")


@pytest.fixture(scope="session")
def prod() -> ProgramRun:
    return stack_run("prod")
