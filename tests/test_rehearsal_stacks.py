"""`provisioner rehearse` end to end on the example roadmap, and on programs broken on purpose."""

from __future__ import annotations

import json

import pytest

import components.service_account
from provisioner.cli import main
from provisioner.rehearsal import Progress, rehearse
from provisioner.rehearsal.runner import EmulatorBackend

pytestmark = pytest.mark.slow


def _failed(report):
    return {c.name: c.detail for c in report.checks if not c.ok}


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_rehearse_passes_on_the_example_roadmap(stack):
    report = rehearse(stack, progress=Progress(quiet=True))
    assert report.resources_created > 0
    assert report.ok, _failed(report)


def test_role_granted_another_integrations_queue_fails_the_access_matrix(monkeypatch):
    original = components.service_account._statement
    stolen = "arn:aws:sqs:eu-west-1:111111111111:dev-lead-to-account-queue.fifo"

    def with_stolen_grant(scope, grant):
        statement = original(scope, grant)
        if scope.integration == "quote-to-order" and "sqs:ReceiveMessage" in statement["Action"]:
            statement["Resource"] = [*statement["Resource"], stolen]
        return statement

    monkeypatch.setattr(components.service_account, "_statement", with_stolen_grant)
    failed = _failed(rehearse("dev", progress=Progress(quiet=True)))
    detail = failed["access-matrix:sqs:quote-to-order"]
    assert "may sqs:ReceiveMessage on lead-to-account's queue" in detail


def test_queue_without_dlq_fails_the_dlq_check(monkeypatch):
    # Dropped on the way into the emulator: what is deployed is a queue with no DLQ.
    original = EmulatorBackend.create

    def create_without_redrive(self, request):
        if request.name == "quote-to-order-queue":
            request.inputs.pop("redrivePolicy", None)
        return original(self, request)

    monkeypatch.setattr(EmulatorBackend, "create", create_without_redrive)
    failed = _failed(rehearse("dev", progress=Progress(quiet=True)))
    assert "has no redrive policy" in failed.get("dlq-replay:quote-to-order", ""), failed


def test_json_output_and_exit_code(capsys):
    code = main(["rehearse", "--stack", "prod", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"stack", "resources_created", "checks"}
    assert document["stack"] == "prod"
    assert all(set(c) == {"name", "ok", "detail"} for c in document["checks"])
    assert code == (0 if all(c["ok"] for c in document["checks"]) else 1)


def test_unknown_stack_is_a_usage_error(capsys):
    assert main(["rehearse", "--stack", "qa"]) == 2
