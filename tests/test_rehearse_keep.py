"""`rehearse --keep`: Ctrl-C stops the kept emulator whenever it lands after the checks.

A script (or a person) reading the printed endpoint may press Ctrl-C at once, while the
rest of the document or the progress line is still going out, before the command has
started waiting. That must be the same clean stop as Ctrl-C during the wait, not a
KeyboardInterrupt escaping the command. The rehearsal itself is replaced here by one
that hands `keep` a stand-in emulator, so no emulator starts.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

import pytest

from provisioner.cli import main
from provisioner.rehearsal.result import Check
from provisioner.rehearsal.runner import RehearsalReport


class _Kept:
    endpoint = "http://127.0.0.1:1"

    def exports(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.endpoint}


def _interrupt() -> None:
    signal.raise_signal(signal.SIGINT)  # as the terminal sends Ctrl-C


@pytest.mark.parametrize(
    "when",
    [
        "printing the document",  # inside `print`, before the wait begins
        "waiting",  # the wait itself
    ],
)
def test_ctrl_c_after_the_checks_stops_the_kept_emulator_cleanly(
    when: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stopped: list[bool] = []

    def fake_rehearse(
        stack: str, *, keep: Callable[[Any, RehearsalReport], None] | None, **_: Any
    ) -> RehearsalReport:
        report = RehearsalReport(stack, 1, [Check("deploy", True, "1 resource")])
        assert keep is not None
        keep(_Kept(), report)
        stopped.append(True)  # the runner stops the emulator once `keep` returns
        return report

    monkeypatch.setattr("provisioner.rehearsal.rehearse", fake_rehearse)
    if when == "waiting":
        monkeypatch.setattr(threading.Event, "wait", lambda self, timeout=None: _interrupt())
    else:
        real_print = print
        pressed: list[bool] = []

        def print_then_interrupt(*args: Any, **kwargs: Any) -> None:
            real_print(*args, **kwargs)
            if not pressed:  # one Ctrl-C, right after the first line goes out
                pressed.append(True)
                _interrupt()

        monkeypatch.setattr("builtins.print", print_then_interrupt)
    code = main(["rehearse", "--stack", "dev", "--keep", "--json"])
    err = capsys.readouterr().err
    assert code == 0 and stopped == [True]
    assert "Ctrl-C: stopping the emulator" in err
