"""The security controls section: each integration's controls, with the pack's verdict.

For every integration planned in the stack, the controls table
(`integration_policies.controls`) of each resource type it has at its phase: a control
marked met passes unless one of the policies enforcing it reported a violation for that
integration; not applicable and gap rows keep their reason.

Usage::

    for item in integration_controls(report): ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provisioner.pack_modules import pack_module
from provisioner.report.model import Report

__all__ = ["CONTROL_CSS", "ControlRow", "integration_controls", "section_markdown"]


@dataclass(frozen=True)
class ControlRow:
    resource_type: str
    ids: str
    title: str
    verdict: str  # PASS, FAIL, NOT APPLICABLE, GAP
    detail: str


def integration_controls(report: Report) -> dict[str, list[ControlRow]]:
    """Integration -> its control rows; empty when the plan was not available."""
    controls = pack_module("controls")
    found: dict[str, list[ControlRow]] = {}
    for integration, types in report.policy.resource_types.items():
        broken = {
            v.policy: v.message for v in report.policy.violations if v.integration == integration
        }
        rows: list[ControlRow] = []
        for resource_type, table in controls.CONTROLS.items():
            if not set(resource_type.tokens) & set(types):
                continue
            rows += [_row(controls, resource_type.title, c, broken) for c in table]
        found[integration] = rows
    return found


def _row(controls: Any, resource_type: str, control: Any, broken: dict[str, str]) -> ControlRow:
    if control.status != controls.MET:
        verdict = "GAP" if control.status == controls.GAP else "NOT APPLICABLE"
        return ControlRow(resource_type, control.ids, control.title, verdict, control.how)
    failing = [f"{p}: {broken[p]}" for p in control.enforced_by if p in broken]
    detail = "; ".join(failing) if failing else f"{control.how} ({', '.join(control.enforced_by)})"
    return ControlRow(
        resource_type, control.ids, control.title, "FAIL" if failing else "PASS", detail
    )


# A control's verdict on the page takes the colours of the checklist's badges.
CONTROL_CSS = {"PASS": "v-pass", "FAIL": "v-fail", "NOT APPLICABLE": "v-na", "GAP": "v-info"}


def section_markdown(report: Report) -> list[str]:
    rows = integration_controls(report)
    lines = [f"## Security controls per integration ({report.stack})", ""]
    if not rows:
        return [*lines, f"Not available: {report.policy.reason or 'no plan'}", ""]
    for integration, items in rows.items():
        lines += [
            f"### {integration}",
            "",
            "| resource type | control | verdict | where / why |",
            "|---|---|---|---|",
            *(
                f"| {r.resource_type} | {r.ids} | {r.verdict} | {r.detail.replace('|', '/')} |"
                for r in items
            ),
            "",
        ]
    return lines
