"""Rehearse a stack: deploy it into an embedded AWS emulator and prove that it works.

Usage::

    from provisioner.rehearsal import Progress, rehearse

    report = rehearse("dev", progress=Progress())
    assert report.ok, [c for c in report.checks if not c.ok]
"""

from provisioner.rehearsal.result import Check, Progress
from provisioner.rehearsal.runner import RehearsalReport, rehearse

__all__ = ["Check", "Progress", "RehearsalReport", "rehearse"]
