"""The rehearsal's Lambda runner: a deployed function in a worker process of its own.

One emulator for the module; each test deploys a function whose handler, in a bundle folder
of the test's own, reports what its process sees. The runner is pointed at that folder.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from provisioner.rehearsal.emulator import Emulator
from provisioner.rehearsal.lambda_runner import FunctionError, LambdaRunner

PROBE = """
import os, sys, time
import boto3
import contract

INITS = []
INITS.append(os.getpid())  # Lambda's init phase: once per execution environment


def handler(event, context):
    if event.get("raise"):
        raise ValueError(event["raise"])
    if event.get("exit"):
        os._exit(event["exit"])
    if event.get("sleep"):
        time.sleep(event["sleep"])
    print("probe log line", event.get("n"))
    # Service models the runtime's default session had loaded before this call made a client.
    cache = boto3._get_default_session()._session.get_component("data_loader")._cache
    loaded = sorted({key[1] for key in cache if key[0] == "load_service_model"})
    if event.get("queue"):
        boto3.client("sqs")
    who = boto3.client("sts").get_caller_identity()["Arn"]
    return {
        "environ": dict(os.environ),
        "cwd": os.getcwd(),
        "pid": os.getpid(),
        "inits": len(INITS),
        "caller": who,
        "contract": contract.__path__[0],
        "path": sys.path,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
        "loaded": loaded,
    }
"""
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
OWN_VARIABLES = {"FIELD_MAPPING": "{}", "TARGET_BASE_URL": "https://erp.example.com"}


@pytest.fixture(scope="module")
def aws() -> Iterator[Emulator]:
    with Emulator(region="eu-west-1", account_id="111111111111") as emulator:
        yield emulator


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bundle")
    (folder / "probe.py").write_text(PROBE)
    (folder / "broken.py").write_text("import no_such_module_anywhere\n")
    (folder / "unbundled.py").write_text(
        "import requests\n\n\ndef handler(event, context):\n    return 1\n"
    )
    return folder


def deploy(aws: Emulator, name: str, *, handler: str = "probe.handler", timeout: int = 30) -> str:
    """A function in the emulator as the program deploys one: its role, timeout, variables."""
    role: str = aws.client("iam").create_role(
        RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(TRUST)
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("probe.py", PROBE)
    aws.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler=handler,
        Code={"ZipFile": code.getvalue()},
        Timeout=timeout,
        Environment={"Variables": OWN_VARIABLES},
    )
    return role


def test_a_handler_sees_only_its_own_variables_the_emulator_and_its_role(
    aws: Emulator, bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    role = deploy(aws, "dev-probe-environment")
    # A credential source of the developer's shell that would reach a real account.
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://169.254.170.2/creds")
    monkeypatch.setenv("DEVELOPER_TOKEN", "not-for-the-function")
    with LambdaRunner(aws, bundles=[bundle]) as lambdas:
        seen = lambdas.invoke("dev-probe-environment", {"n": 1}).response()
        root = Path(seen["cwd"])
        linked = (root / "probe.py").resolve()
    environ = seen["environ"]
    leaked = {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "DEVELOPER_TOKEN", "HOME"} & set(environ)
    assert not leaked
    assert {k: environ[k] for k in OWN_VARIABLES} == OWN_VARIABLES
    assert environ["AWS_ENDPOINT_URL"] == aws.endpoint
    assert environ["AWS_REGION"] == "eu-west-1"
    # The task root is laid out as the zip is: the bundle's own modules and contract/; the
    # runtime's libraries come after it, and nothing of this interpreter's site-packages.
    assert environ["LAMBDA_TASK_ROOT"] == str(root)
    assert seen["path"][:2] == [str(root), environ["PYTHONPATH"]]
    assert not [p for p in seen["path"] if "site-packages" in p]
    assert linked == bundle / "probe.py"
    assert Path(seen["contract"]) == root / "contract"
    # The execution role's session, from the emulator's STS, not the deployer's key.
    assert seen["caller"].startswith(
        role.replace(":iam:", ":sts:").replace(":role/", ":assumed-role/")
    )
    assert environ["AWS_ACCESS_KEY_ID"] != "rehearsal-admin"
    assert 0 < seen["remaining_ms"] <= 30_000


def test_the_models_of_the_clients_the_bundle_makes_are_loaded_before_the_fork(
    aws: Emulator, bundle: Path
) -> None:
    deploy(aws, "dev-probe-models")
    with LambdaRunner(aws, bundles=[bundle]) as lambdas:
        seen = lambdas.invoke("dev-probe-models", {}).response()
    # The probe's source names sqs and sts; no other service's model is loaded for it.
    assert seen["loaded"] == ["sqs", "sts"]


def test_an_override_replaces_one_variable_and_the_rest_stay(aws: Emulator, bundle: Path) -> None:
    deploy(aws, "dev-probe-override")
    fake = {"TARGET_BASE_URL": "http://127.0.0.1:9/erp"}
    with LambdaRunner(aws, bundles=[bundle]) as lambdas:
        seen = lambdas.invoke("dev-probe-override", {}, environment=fake).response()
    assert seen["environ"]["TARGET_BASE_URL"] == fake["TARGET_BASE_URL"]
    assert seen["environ"]["FIELD_MAPPING"] == OWN_VARIABLES["FIELD_MAPPING"]


def test_the_worker_stays_warm_across_invocations_and_stops_with_the_runner(
    aws: Emulator, bundle: Path
) -> None:
    deploy(aws, "dev-probe-warm")
    with LambdaRunner(aws, bundles=[bundle]) as lambdas:
        first = lambdas.invoke("dev-probe-warm", {"n": 1})
        second = lambdas.invoke("dev-probe-warm", {"n": 2})
    pid = first.response()["pid"]
    assert second.response()["pid"] == pid
    assert second.response()["inits"] == 1
    assert first.response()["request_id"] != second.response()["request_id"]
    # Each invocation's own log lines, nothing of the other's.
    assert "probe log line 1" in first.logs and "probe log line 2" not in first.logs
    assert "probe log line 2" in second.logs
    assert not _running(pid)


def test_a_handler_error_is_the_invocations_error_with_its_traceback_in_the_log(
    aws: Emulator, bundle: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    deploy(aws, "dev-probe-error")
    with LambdaRunner(aws, bundles=[bundle]) as lambdas:
        failed = lambdas.invoke("dev-probe-error", {"raise": "no external id in the record"})
        after = lambdas.invoke("dev-probe-error", {"n": 3})
    assert failed.error == ("ValueError", "no external id in the record")
    assert "Traceback" in failed.logs and "no external id in the record" in failed.logs
    with pytest.raises(FunctionError, match="dev-probe-error failed: ValueError: no external id"):
        failed.response()
    assert after.error is None and after.response()["inits"] == 1  # the environment lives on
    printed = capfd.readouterr()
    assert "Traceback" not in printed.out + printed.err


def test_an_invocation_over_the_functions_timeout_is_ended_and_the_next_starts_afresh(
    aws: Emulator, bundle: Path
) -> None:
    deploy(aws, "dev-probe-timeout", timeout=1)
    with LambdaRunner(aws, bundles=[bundle]) as lambdas:
        pid = lambdas.invoke("dev-probe-timeout", {}).response()["pid"]
        late = lambdas.invoke("dev-probe-timeout", {"sleep": 30})
        killed = not _running(pid)  # not left sleeping
        again = lambdas.invoke("dev-probe-timeout", {"n": 4})
    assert late.error == ("Sandbox.Timedout", "Task timed out after 1.00 seconds (the invocation)")
    assert killed
    assert again.response()["pid"] != pid and again.response()["inits"] == 1


def test_a_runtime_that_exits_fails_the_invocation_with_its_status_and_the_next_starts_afresh(
    aws: Emulator, bundle: Path
) -> None:
    deploy(aws, "dev-probe-exit")
    with LambdaRunner(aws, bundles=[bundle]) as lambdas:
        pid = lambdas.invoke("dev-probe-exit", {}).response()["pid"]
        exited = lambdas.invoke("dev-probe-exit", {"exit": 3})
        gone = not _running(pid)  # reaped, not left a zombie
        again = lambdas.invoke("dev-probe-exit", {"n": 5})
    assert exited.error == ("Runtime.ExitError", "Runtime exited with error: exit status 3")
    assert gone
    assert again.response()["pid"] != pid and again.response()["inits"] == 1


@pytest.mark.parametrize(
    ("handler", "missing"),
    [
        ("broken.handler", "no_such_module_anywhere"),
        # requests is installed here, but the bundle has no requirements.txt to carry it.
        ("unbundled.handler", "requests"),
    ],
    ids=["a module nowhere", "a library installed here that the bundle does not carry"],
)
def test_a_handler_that_cannot_be_imported_fails_each_invocation_at_init(
    aws: Emulator, bundle: Path, handler: str, missing: str
) -> None:
    name = f"dev-probe-{handler.split('.')[0]}"
    deploy(aws, name, handler=handler)
    with LambdaRunner(aws, bundles=[bundle]) as lambdas:
        outcome = lambdas.invoke(name, {})
    assert outcome.error == ("Runtime.ImportModuleError", f"No module named '{missing}'")


def test_a_handler_outside_every_bundle_is_refused_naming_it(aws: Emulator, bundle: Path) -> None:
    deploy(aws, "dev-probe-elsewhere", handler="elsewhere.handler")
    with (
        LambdaRunner(aws, bundles=[bundle]) as lambdas,
        pytest.raises(LookupError, match=r"handler 'elsewhere\.handler': no 'elsewhere' in"),
    ):
        lambdas.invoke("dev-probe-elsewhere", {})


def _running(pid: int) -> bool:
    """Whether a process of this id still exists (a stopped worker has been waited for)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_threads_invoking_at_once_each_get_their_own_answer(aws: Emulator, bundle: Path) -> None:
    """One function's invocations queue for its one execution environment; two functions
    run side by side. Every answer and log goes to the invocation that asked."""
    deploy(aws, "dev-probe-shared")
    deploy(aws, "dev-probe-other")
    with LambdaRunner(aws, bundles=[bundle]) as lambdas, ThreadPoolExecutor(4) as pool:
        asks = [("dev-probe-shared" if n % 2 else "dev-probe-other", n) for n in range(1, 9)]
        answers = list(
            pool.map(lambda ask: lambdas.invoke(ask[0], {"n": ask[1], "sleep": 0.05}), asks)
        )
    for (function, n), answer in zip(asks, answers, strict=True):
        assert answer.function == function
        assert f"probe log line {n}\n" in answer.logs
        assert [line for line in answer.logs.splitlines() if "probe log line" in line] == [
            f"probe log line {n}"
        ]
    pids: dict[str, set[int]] = {}
    for (function, _), answer in zip(asks, answers, strict=True):
        pids.setdefault(function, set()).add(answer.response()["pid"])
    assert all(len(p) == 1 for p in pids.values())  # one environment each, kept warm
    assert pids["dev-probe-shared"] != pids["dev-probe-other"]
    assert {a.response()["inits"] for a in answers} == {1}
