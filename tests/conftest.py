"""Fixtures shared by the test modules: the example stacks' program runs, and the sync
tests' moto, fake systems and NetSuite target (`aws`, `fake_system`, `netsuite`, defined
in `test_sync_harness` and registered here as a plugin).

Powertools loggers write to the running test's stdout (`_bundle_logs_follow_the_test`).

Each stack's run is made once per session (`program_runs.stack_run`) and only read; a
module that means something else by `dev`, `prod` or `aws` (its settings, a plan document,
its own emulator) defines its own fixture, which takes precedence.
"""

from __future__ import annotations

import contextlib
import logging
import sys

import pytest
from aws_lambda_powertools.logging.constants import LOGGER_ATTRIBUTE_POWERTOOLS_HANDLER
from program_runs import stack_run

from provisioner.records import ProgramRun

pytest_plugins = ["test_sync_harness"]


@pytest.fixture(scope="session")
def dev() -> ProgramRun:
    return stack_run("dev")


@pytest.fixture(scope="session")
def prod() -> ProgramRun:
    return stack_run("prod")


class _RunningStdout:
    """Writes to whatever `sys.stdout` is when it writes: the running test's capture."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture(autouse=True)
def _bundle_logs_follow_the_test() -> None:
    """Point each Powertools logger's handler at the running test's stdout.

    A bundle module makes its `Logger()` once per process, at import, and Powertools binds
    the handler to the `sys.stdout` of that moment: under pytest, the capture of the test
    that happened to import it first (`capsys`'s closes when that test ends). Every later
    test logging through it then wrote to a closed file ("I/O operation on closed file"),
    or into the first test's capture, depending on the order the tests ran in. In Lambda,
    stdout never changes, so the function code stays as it is.
    """
    for logger in list(logging.Logger.manager.loggerDict.values()):
        handler = getattr(logger, LOGGER_ATTRIBUTE_POWERTOOLS_HANDLER, None)
        if isinstance(handler, logging.StreamHandler) and not isinstance(
            handler.stream, _RunningStdout
        ):
            # Not setStream: it flushes the old stream first, which may be closed already.
            with handler.lock or contextlib.nullcontext():
                handler.stream = _RunningStdout()
