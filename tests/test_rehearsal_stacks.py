"""`provisioner rehearse` end to end on the example roadmap, and on programs broken on purpose."""

from __future__ import annotations

import json

import pulumi_aws as aws
import pytest

import components.queue
import components.service_account
from provisioner.cli import main
from provisioner.rehearsal import Progress, rehearse

pytestmark = pytest.mark.slow


def _failed(report):
    return {c.name: c.detail for c in report.checks if not c.ok}


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_rehearse_passes_on_the_example_roadmap(stack):
    report = rehearse(stack, progress=Progress(quiet=True))
    assert report.resources_created > 0
    assert report.ok, _failed(report)


def test_role_granted_another_integrations_queue_fails_the_access_matrix(monkeypatch):
    original = components.service_account.policy_output
    stolen = "arn:aws:sqs:eu-west-1:111111111111:dev-lead-to-account-queue.fifo"

    def with_stolen_grant(statements):
        if "dev-quote-to-order-queue" in json.dumps(statements, default=str):
            statements = [
                *statements,
                {"Effect": "Allow", "Action": ["sqs:ReceiveMessage"], "Resource": [stolen]},
            ]
        return original(statements)

    monkeypatch.setattr(components.service_account, "policy_output", with_stolen_grant)
    failed = _failed(rehearse("dev", progress=Progress(quiet=True)))
    assert "access-matrix:sqs:quote-to-order" in failed
    assert (
        "sqs:ReceiveMessage on lead-to-account's queue"
        in failed["access-matrix:sqs:quote-to-order"]
    )


def test_queue_without_dlq_fails_the_dlq_check(monkeypatch):
    original = aws.sqs.Queue

    def queue_without_redrive(name, *args, **kwargs):
        if name == "quote-to-order-queue":
            kwargs.pop("redrive_policy", None)
        return original(name, *args, **kwargs)

    monkeypatch.setattr(components.queue.aws.sqs, "Queue", queue_without_redrive)
    failed = _failed(rehearse("dev", progress=Progress(quiet=True)))
    assert "has no redrive policy" in failed["dlq-replay:quote-to-order"]


def test_json_output_and_exit_code(capsys):
    code = main(["rehearse", "--stack", "prod", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"stack", "resources_created", "checks"}
    assert document["stack"] == "prod"
    assert all(set(c) == {"name", "ok", "detail"} for c in document["checks"])
    assert code == (0 if all(c["ok"] for c in document["checks"]) else 1)


def test_unknown_stack_is_a_usage_error(capsys):
    assert main(["rehearse", "--stack", "qa"]) == 2
