"""The built functions bundle imports in a clean interpreter with only what Lambda provides."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from test_sync_harness import FUNCTIONS_DIR

from provisioner.bundles import build_bundle

HANDLERS = ("integration_sync.consumer", "integration_sync.batch", "integration_sync.reconcile")
# What the Lambda Python runtime ships besides the standard library: boto3 and its
# dependencies (Lambda developer guide, "Building Lambda functions with Python").
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")

PROBE = """
import json, sys, time
sys.path[:0] = [{bundle!r}, {runtime!r}]
started = time.perf_counter()
module = __import__({module!r}, fromlist=["handler"])
elapsed = time.perf_counter() - started
print(json.dumps({{
    "handler": callable(module.handler),
    "seconds": elapsed,
    "files": {{name: getattr(sys.modules[name], "__file__", None) or ""
              for name in ("aws_lambda_powertools", "requests", "integration_sync", "contract")
              if name in sys.modules}},
    "idempotency_loaded": "aws_lambda_powertools.utilities.idempotency" in sys.modules,
    "batch_utility_loaded": "aws_lambda_powertools.utilities.batch" in sys.modules,
}}))
"""


@pytest.fixture(scope="module")
def unzipped_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The zip build_bundle makes for functions/, unpacked like /var/task, plus a runtime dir."""
    # The same package set built for this machine (the deployed zip is for Lambda's
    # aarch64, which this interpreter cannot load); test_bundles checks the deployed one.
    zip_path = build_bundle(
        FUNCTIONS_DIR, requirements=FUNCTIONS_DIR / "requirements.txt", pip_args=()
    )
    root = tmp_path_factory.mktemp("lambda")
    task = root / "task"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(task)
    runtime = root / "runtime"
    runtime.mkdir()
    import boto3

    site = Path(boto3.__path__[0]).resolve().parent
    for name in RUNTIME_PACKAGES:
        (runtime / name).symlink_to(site / name)
    return task, runtime


def test_bundle_packages_powertools_and_requests_but_not_boto3(
    unzipped_bundle: tuple[Path, Path],
) -> None:
    task, _ = unzipped_bundle
    assert (task / "aws_lambda_powertools").is_dir() and (task / "requests").is_dir()
    assert (task / "integration_sync" / "consumer.py").is_file()
    assert (task / "contract" / "metrics.py").is_file()
    assert not (task / "boto3").exists() and not (task / "botocore").exists()


@pytest.mark.slow
@pytest.mark.parametrize("module", HANDLERS)
def test_each_handler_imports_from_the_bundle_alone(
    unzipped_bundle: tuple[Path, Path], module: str
) -> None:
    task, runtime = unzipped_bundle
    # -I: ignore PYTHONPATH and user site; -S: no site-packages, so only the bundle and the
    # runtime's boto3 are importable, as in Lambda.
    probe = PROBE.format(bundle=str(task), runtime=str(runtime), module=module)
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["handler"] is True
    assert all(path.startswith(str(task)) for path in report["files"].values()), report["files"]
    # Only the consumer pays for the batch and idempotency utilities at cold start.
    expected = module.endswith("consumer")
    assert report["idempotency_loaded"] is expected
    assert report["batch_utility_loaded"] is expected
