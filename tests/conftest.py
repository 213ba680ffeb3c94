"""Fixtures shared by the test modules: the example stacks' program runs, and the sync
tests' moto, fake systems and NetSuite target (`aws`, `fake_system`, `netsuite`, defined
in `test_sync_harness` and registered here as a plugin).

Each stack's run is made once per session (`program_runs.stack_run`) and only read; a
module that means something else by `dev`, `prod` or `aws` (its settings, a plan document,
its own emulator) defines its own fixture, which takes precedence.
"""

from __future__ import annotations

import pytest
from program_runs import stack_run

from provisioner.records import ProgramRun

pytest_plugins = ["test_sync_harness"]


@pytest.fixture(scope="session")
def dev() -> ProgramRun:
    return stack_run("dev")


@pytest.fixture(scope="session")
def prod() -> ProgramRun:
    return stack_run("prod")
