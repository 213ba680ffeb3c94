"""`provisioner rehearse` end to end on the example roadmap, and on programs broken on purpose.

The three stacks on the full example roadmap are slow (about a minute each), so each runs
once, as the real CLI (``python -m provisioner rehearse --stack S --json``) in a subprocess,
all three started together when the first test needs them; the tests read their JSON. dev
runs with ``--keep``: the day-two commands are tried against its emulator, then Ctrl-C
(SIGINT) stops it. The
broken-on-purpose cases run in-process, patched, on a three-integration copy of the example
roadmap, while the subprocesses work.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import components.service_account
from provisioner.cli import main
from provisioner.context import load_stack_context
from provisioner.rehearsal import Progress, rehearse
from provisioner.rehearsal.access import matrix
from provisioner.rehearsal.runner import EmulatorBackend
from provisioner.rehearsal.vendors import VendorServer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
STACKS = ("dev", "staging", "prod")
# Two FIFO event-driven integrations (one with an IAM pusher): enough for cross-integration
# denials, and quick to deploy.
SMALL = ("quote-to-order", "lead-to-account")
KEPT = "dev"  # the stack rehearsed with --keep


class StackRuns:
    """The CLI rehearsing each stack in its own process; ``result`` waits for one."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        keep = {KEPT: ["--keep"]}
        self._procs = {
            stack: subprocess.Popen(
                [
                    sys.executable,
                    *("-m", "provisioner", "rehearse", "--stack", stack, "--json"),
                    *keep.get(stack, []),
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for stack in STACKS
        }
        self._done: dict[str, tuple[int, dict[str, Any], str]] = {}
        self._kept: dict[str, Any] | None = None

    def kept(self) -> dict[str, Any]:
        """The --keep run's JSON document, printed while its emulator keeps running."""
        if self._kept is None:
            proc = self._procs[KEPT]
            assert proc.stdout is not None
            lines = []
            for line in proc.stdout:  # the document ends with its closing brace alone
                lines.append(line)
                if line.rstrip("\n") == "}":
                    break
            try:
                self._kept = json.loads("".join(lines))
            except json.JSONDecodeError:
                pytest.fail(f"rehearse --keep printed no JSON: {''.join(lines)[-2000:]}")
        return self._kept

    def result(self, stack: str) -> tuple[int, dict[str, Any], str]:
        """(exit code, JSON document, stderr) of ``provisioner rehearse --stack S --json``."""
        if stack == KEPT and stack not in self._done:
            document = self.kept()
            self._procs[stack].send_signal(signal.SIGINT)  # Ctrl-C
            rest, err = self._procs[stack].communicate(timeout=120)
            assert not rest.strip(), rest
            self._done[stack] = (self._procs[stack].returncode, document, err)
        if stack not in self._done:
            out, err = self._procs[stack].communicate(timeout=600)
            try:
                document = json.loads(out)
            except json.JSONDecodeError:
                pytest.fail(f"rehearse --stack {stack} printed no JSON: {out[-2000:]}{err[-2000:]}")
            self._done[stack] = (self._procs[stack].returncode, document, err)
        return self._done[stack]

    def stop(self) -> None:
        for proc in self._procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


@pytest.fixture(scope="module")
def stack_runs() -> Iterator[StackRuns]:
    runs = StackRuns()
    yield runs
    runs.stop()


@pytest.fixture(scope="module")
def small_roadmap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    doc = yaml.safe_load((ROOT / "roadmap.yaml").read_text())
    doc["integrations"] = [i for i in doc["integrations"] if i["name"] in SMALL]
    path = tmp_path_factory.mktemp("roadmap") / "roadmap.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _failed(report: Any) -> dict[str, str]:
    return {c.name: c.detail for c in report.checks if not c.ok}


def _rehearse_small(small_roadmap: Path) -> Any:
    before = dict(os.environ)
    report = rehearse("dev", roadmap=small_roadmap, progress=Progress(quiet=True))
    assert dict(os.environ) == before, "the rehearsal must restore the environment"
    return report


# Started first so that the three subprocesses work while the in-process cases run.
def test_stack_rehearsals_start(stack_runs: StackRuns) -> None:
    assert stack_runs


def _deny_the_rotator_writes(policy: str) -> str:
    document = json.loads(policy)
    for statement in document["Statement"]:
        if statement.get("Sid") == "OnlyTheRotatorAndDeployerWrite":
            arns = statement["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
            statement["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] = [
                a for a in arns if not a.endswith("-rotation")
            ]
    return json.dumps(document)


# Broken on the way into the emulator: (logical name, how). lead-to-account's breakages
# each fail one hardening check; quote-to-order keeps its hardening intact.
_HARDENING_BREAKAGES = {
    "lead-to-account-alerts": lambda i: i.pop("kmsMasterKeyId", None),
    "lead-to-account-reconcile-async": lambda i: i.pop("maximumRetryAttempts", None),
    "lead-to-account-alarm-throttles": lambda i: i.update(alarmActions=[]),
    "lead-to-account-cred-salesforce-jwt-resource-policy": lambda i: i.update(
        policy=_deny_the_rotator_writes(i["policy"])
    ),
}


@pytest.fixture(scope="module")
def broken_report(small_roadmap: Path, stack_runs: StackRuns) -> Any:
    """One rehearsal of a program broken on purpose, each breakage failing its own check.

    quote-to-order's role is also granted lead-to-account's queue, and its queue is
    deployed without the redrive policy (dropped on the way into the emulator);
    lead-to-account's topic loses its key, its reconciliation its retry setting, its
    throttles alarm its action and one secret's fence denies the rotator its writes
    (`_HARDENING_BREAKAGES`).
    """
    original_statement = components.service_account._statement
    original_create = EmulatorBackend.create
    stolen = "arn:aws:sqs:eu-west-1:111111111111:dev-lead-to-account-queue.fifo"

    def with_stolen_grant(scope: Any, grant: Any) -> Any:
        statement = original_statement(scope, grant)
        if scope.integration == "quote-to-order" and "sqs:ReceiveMessage" in statement["Action"]:
            statement["Resource"] = [*statement["Resource"], stolen]
        return statement

    def create_without_redrive(self: Any, request: Any) -> Any:
        if request.name == "quote-to-order-queue":
            request.inputs.pop("redrivePolicy", None)
        if request.name in _HARDENING_BREAKAGES:
            _HARDENING_BREAKAGES[request.name](request.inputs)
        return original_create(self, request)

    with pytest.MonkeyPatch.context() as patch:
        # No live foreign probes: the stolen grant must be caught by evaluation alone.
        patch.setattr(matrix, "FOREIGN_LIVE_SAMPLE", 0)
        patch.setattr(components.service_account, "_statement", with_stolen_grant)
        patch.setattr(EmulatorBackend, "create", create_without_redrive)
        return _rehearse_small(small_roadmap)


def test_alarm_notifying_nobody_fails_the_alarms_check(broken_report: Any) -> None:
    assert (
        "alarm-throttles notifies [], not the alert topic "
        "arn:aws:sns:eu-west-1:111111111111:dev-lead-to-account-alerts"
        in _failed(broken_report)["alarms:lead-to-account"]
    )


def test_topic_without_the_integrations_key_fails_the_encryption_check(broken_report: Any) -> None:
    failed = _failed(broken_report)
    assert (
        "topic arn:aws:sns:eu-west-1:111111111111:dev-lead-to-account-alerts is encrypted "
        "with None" in failed["encryption:lead-to-account"]
    )
    assert "encryption:quote-to-order" not in failed


def test_fence_denying_the_rotator_fails_the_secret_fence_check(broken_report: Any) -> None:
    failed = _failed(broken_report)
    detail = failed["secret-fence:lead-to-account"]
    assert (
        "dev-lead-to-account-cred-salesforce-jwt: its resource policy denies the rotation "
        "role arn:aws:iam::111111111111:role/dev-lead-to-account-rotation "
        "secretsmanager:PutSecretValue" in detail
    )
    assert "marketo-pusher" not in detail and "secret-fence:quote-to-order" not in failed
    # The rotation itself runs against the fence: the denied write stops it, naming the deny.
    rotation = failed["rotation:lead-to-account:salesforce-jwt"]
    assert "secretsmanager:PutSecretValue" in rotation
    assert "explicit deny in the secret's resource policy" in rotation
    assert "rotation:lead-to-account:marketo-pusher" not in failed


def test_scheduled_run_with_default_retries_fails_the_async_failures_check(
    broken_report: Any,
) -> None:
    failed = _failed(broken_report)
    assert failed["async-failures:lead-to-account"] == (
        "dev-lead-to-account-reconcile leaves MaximumRetryAttempts at Lambda's default"
    )
    assert "async-failures:quote-to-order" not in failed


def test_role_granted_another_integrations_queue_fails_the_access_matrix(
    broken_report: Any,
) -> None:
    failed = _failed(broken_report)
    detail = failed.get("access-matrix:sqs:quote-to-order", "")
    assert "may sqs:ReceiveMessage on lead-to-account's queue" in detail, failed
    assert "(evaluated)" in detail and "0 live calls" not in detail, detail
    # The victim's own matrix is unaffected: the check names the role that overreaches.
    assert "access-matrix:sqs:lead-to-account" not in failed, failed


def test_queue_without_dlq_fails_the_dlq_check(broken_report: Any) -> None:
    failed = _failed(broken_report)
    assert "has no redrive policy" in failed.get("dlq-replay:quote-to-order", ""), failed
    assert "dlq-replay:lead-to-account" not in failed, failed


@pytest.fixture(scope="module")
def rejecting_report(small_roadmap: Path, stack_runs: StackRuns) -> Any:
    """One rehearsal where the sync and rotation paths are broken, each on one integration.

    The NetSuite fake refuses every write of quote-to-order's orders (``salesOrder``), and
    lead-to-account's rotation role is deployed without ``secretsmanager:PutSecretValue``
    (dropped from its inline policy on the way into the emulator).
    """
    original_start = VendorServer.start
    original_create = EmulatorBackend.create

    def start_rejecting_orders(self: Any) -> Any:
        self.fakes["netsuite"].rejected_objects.add("salesOrder")
        return original_start(self)

    def create_without_put(self: Any, request: Any) -> Any:
        if request.name == "lead-to-account-rotation-policy":
            policy = json.loads(request.inputs["policy"])
            for statement in policy["Statement"]:
                actions = statement["Action"]
                if isinstance(actions, list) and "secretsmanager:PutSecretValue" in actions:
                    actions.remove("secretsmanager:PutSecretValue")
            request.inputs["policy"] = json.dumps(policy)
        return original_create(self, request)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(VendorServer, "start", start_rejecting_orders)
        patch.setattr(EmulatorBackend, "create", create_without_put)
        return _rehearse_small(small_roadmap)


def test_target_rejecting_the_write_fails_end_to_end_naming_the_dlq(rejecting_report: Any) -> None:
    failed = _failed(rejecting_report)
    detail = failed.get("end-to-end:quote-to-order", "")
    assert "the record was dead-lettered to dev-quote-to-order-dlq" in detail, failed
    # NetSuite's own validation error, carried from the connector into the DLQ attributes.
    assert "USER_ERROR" in detail and "target_rejected" in detail, detail
    assert "no upsert of salesOrder/externalId/" in detail, detail
    # Only the integration whose writes the target rejects fails.
    assert "end-to-end:lead-to-account" not in failed, failed


def test_rotation_role_without_put_secret_value_fails_the_rotation_naming_it(
    rejecting_report: Any,
) -> None:
    failed = _failed(rejecting_report)
    rotations = {n: d for n, d in failed.items() if n.startswith("rotation:")}
    assert set(rotations) == {
        "rotation:lead-to-account:marketo-pusher",
        "rotation:lead-to-account:salesforce-jwt",
    }, failed
    for name, detail in rotations.items():
        # The rotation function's first write, sent from its worker process, is refused by
        # the emulator's recorder naming the call and the secret; the evaluated needs say why.
        secret = f"secret:dev-lead-to-account-cred-{name.rsplit(':', 1)[1]}-"
        assert "createSecret failed" in detail, detail
        assert (
            "AccessDeniedException) when calling the PutSecretValue operation: rotation role "
            "dev-lead-to-account-rotation is not authorized to perform "
            f"secretsmanager:PutSecretValue on arn:aws:secretsmanager:eu-west-1:111111111111:"
            f"{secret}"
        ) in detail, detail
        assert "lacks secretsmanager:PutSecretValue on arn:aws:secretsmanager:" in detail, detail
    passed = [c for c in rejecting_report.checks if c.ok and c.name.startswith("rotation:")]
    assert passed, failed
    assert all("as rotation role dev-quote-to-order-rotation" in c.detail for c in passed), passed


def test_program_exception_is_a_failed_deploy_check(
    monkeypatch: pytest.MonkeyPatch, small_roadmap: Path, stack_runs: StackRuns
) -> None:
    def broken(scope: Any, grant: Any) -> None:
        raise RuntimeError(f"grant table corrupt for {scope.integration}")

    monkeypatch.setattr(components.service_account, "_statement", broken)
    report = _rehearse_small(small_roadmap)
    assert not report.ok
    assert [c.name for c in report.checks] == ["deploy"]
    assert "RuntimeError" in report.checks[0].detail, report.checks[0]
    assert "grant table corrupt for" in report.checks[0].detail, report.checks[0]


def test_kept_emulator_serves_replay_and_rotate_given_its_endpoint_url(
    stack_runs: StackRuns,
) -> None:
    emulator = stack_runs.kept()["emulator"]
    endpoint, exports = emulator["endpoint"], emulator["env"]
    assert exports["AWS_ENDPOINT_URL"] == endpoint and endpoint.startswith("http://127.0.0.1:")
    # Another shell with the exported credentials, pointed at the emulator by the flag alone.
    shell = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    shell.update({k: v for k, v in exports.items() if k != "AWS_ENDPOINT_URL"})
    import boto3

    sqs = boto3.Session(
        aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
        region_name=exports["AWS_DEFAULT_REGION"],
    ).client("sqs", endpoint_url=endpoint)
    dlq = sqs.get_queue_url(QueueName="dev-quote-to-order-dlq.fifo")["QueueUrl"]
    sqs.send_message(
        QueueUrl=dlq,
        MessageBody=json.dumps({"object": "quote", "id": "0Q05e000000KEPTAA", "data": {}}),
        MessageGroupId="0Q05e000000KEPTAA",
        MessageDeduplicationId="kept-emulator-1",
    )

    def provisioner(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "provisioner", *argv, "--stack", KEPT],
            cwd=ROOT,
            env=shell,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    replay = provisioner("replay", "quote-to-order", "--endpoint-url", endpoint, "--json")
    assert replay.returncode == 0, replay.stderr
    assert json.loads(replay.stdout)["moved"] == 1
    assert sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0).get("Messages", []) == []

    # moto cannot run the rotation function (no Lambda runtime): rotate reaches the
    # emulator's secret and says plainly that no new credential was produced.
    rotate = provisioner(
        "rotate", "quote-to-order", "--credential", "netsuite-m2m", "--endpoint-url", endpoint
    )
    assert rotate.returncode == 1, rotate.stdout + rotate.stderr
    assert "FAILED  dev-quote-to-order-cred-netsuite-m2m" in rotate.stdout
    assert "did not run its steps" in rotate.stdout or "did not issue" in rotate.stdout


def test_ctrl_c_stops_the_kept_emulator(stack_runs: StackRuns) -> None:
    endpoint = stack_runs.kept()["emulator"]["endpoint"]
    code, _, stderr = stack_runs.result(KEPT)
    assert code == 0 and "Ctrl-C: stopping the emulator" in stderr and "emulator stopped" in stderr
    import requests

    with pytest.raises(requests.ConnectionError):
        requests.get(endpoint, timeout=5)


@pytest.mark.parametrize("stack", STACKS)
def test_rehearse_passes_on_the_example_roadmap(stack: Any, stack_runs: StackRuns) -> None:
    code, document, stderr = stack_runs.result(stack)
    failed = {c["name"]: c["detail"] for c in document["checks"] if not c["ok"]}
    assert document["resources_created"] > 0
    assert code == 0 and not failed, (failed, stderr[-2000:])
    names = {c["name"].split(":")[0] for c in document["checks"]}
    # Every kind of check ran (prod has no phase-3 queued integration without consumers).
    assert {"deploy", "policy-pack", "resources-exist", "access-matrix", "dlq-replay"} <= names
    assert {"end-to-end", "rotation", "alarms"} <= names, sorted(names)
    # dev records nothing beyond the event history (auditTrail: none); the others their trail.
    assert ("audit-trail" in names) == (stack != "dev"), sorted(names)
    # dev runs campaign-sync both ways and refund-capture behind its signed webhook.
    assert ("webhook" in names) == (stack == "dev"), sorted(names)
    assert ("both-ways" in names) == (stack == "dev"), sorted(names)
    checks = {c["name"] for c in document["checks"]}
    assert ("end-to-end:campaign-sync:reverse" in checks) == (stack == "dev"), sorted(checks)
    # The ingress's public URL is read back with the concurrency it reserves.
    assert ("public-url-concurrency:refund-capture" in checks) == (stack == "dev")
    # Integrations rotate side by side; their checks still come in the roadmap's order.
    context = load_stack_context(stack)
    rotated = [c["name"] for c in document["checks"] if c["name"].startswith("rotation:")]
    assert rotated == [
        f"rotation:{i.name}:{c.name}"
        for i in context.roadmap.active(context.environment)
        for c in i.credentials
    ]
    # So do their records: each integration's end-to-end checks, in the roadmap's order.
    travelled = [
        c["name"].split(":")[1]
        for c in document["checks"]
        if c["name"].split(":")[0] in ("end-to-end", "webhook", "both-ways")
    ]
    env = context.environment
    assert list(dict.fromkeys(travelled)) == [
        i.name for i in context.roadmap.active(env) if i.phase(env) >= 3
    ]


def test_json_output_and_exit_code(stack_runs: StackRuns) -> None:
    code, document, _ = stack_runs.result("prod")
    assert set(document) == {"stack", "resources_created", "checks"}
    assert set(stack_runs.kept()) == {"stack", "resources_created", "checks", "emulator"}
    assert document["stack"] == "prod"
    assert all(set(c) == {"name", "ok", "detail"} for c in document["checks"])
    assert code == (0 if all(c["ok"] for c in document["checks"]) else 1)


def test_unknown_stack_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rehearse", "--stack", "qa"]) == 2
