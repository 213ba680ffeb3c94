"""A bundle's Powertools logger, made once per process, logs into the running test's stdout.

The two tests run in this order: the first makes the logger while `capsys` captures (as
a test importing a bundle module does), the second logs through it after that capture
closed, and must see its line in its own capture, with no logging error.
"""

from __future__ import annotations

import pytest
from aws_lambda_powertools import Logger

SERVICE = "refund-capture-log-probe"


def test_a_logger_made_while_a_test_captures_logs_there(
    capsys: pytest.CaptureFixture[str],
) -> None:
    Logger(service=SERVICE).info("made during the first test")
    assert "made during the first test" in capsys.readouterr().out


def test_the_same_logger_logs_into_a_later_tests_capture(
    capsys: pytest.CaptureFixture[str],
) -> None:
    Logger(service=SERVICE).info("logged during the second test")
    out, err = capsys.readouterr()
    assert "logged during the second test" in out
    assert "I/O operation on closed file" not in err and "Logging error" not in err
