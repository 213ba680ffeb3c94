"""The built rotation bundle imports in a clean interpreter; ``rotate_now`` waits and reports."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from provisioner.bundles import build_bundle
from provisioner.rotate import RotationFailed, RotationTimeout, rotate_now

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["test_rotation_fakes"]

# What the Lambda Python runtime provides besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py")

CHECK = """
import sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import credential_rotation.handler as h
import cryptography, jwt, requests
from credential_rotation.keys import generate_key_and_certificate
from credential_rotation.clients import build_jwt_assertion
key, cert = generate_key_and_certificate("bundle check")  # loads the packaged native code
build_jwt_assertion({"client_id": "c", "username": "u", "login_url": "https://x",
                     "private_key_pem": key})
for module in (cryptography, jwt, requests):
    assert module.__file__.startswith(sys.argv[1]), module.__file__
assert callable(h.lambda_handler)
print("ok", h.lambda_handler.__module__)
"""


@pytest.mark.slow
def test_built_bundle_imports_handler_in_a_clean_interpreter(tmp_path: Path) -> None:
    # Built for this machine: the deployed zip's native code is for Lambda's aarch64.
    zip_path = build_bundle(
        ROOT / "secrets", requirements=ROOT / "secrets" / "requirements.txt", pip_args=()
    )
    bundle = tmp_path / "bundle"
    zipfile.ZipFile(zip_path).extractall(bundle)
    assert not (bundle / "boto3").exists()  # the runtime provides it
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    site = Path(boto3.__file__).resolve().parents[1]
    for name in RUNTIME_PACKAGES:
        (runtime / name).symlink_to(site / name)
    # -I: ignore PYTHON* variables and the user site; -S: no site-packages at all.
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", CHECK, str(bundle), str(runtime)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok credential_rotation.handler"


def test_rotate_now_returns_the_new_current_version(aws: boto3.Session) -> None:
    sm = aws.client("secretsmanager")
    arn = sm.create_secret(Name="dev/quote-to-order/cred-api", SecretString="{}")["ARN"]
    before = next(v for v, s in sm.describe_secret(SecretId=arn)["VersionIdsToStages"].items())
    # Without a rotation function moto promotes the new version at once.
    result = rotate_now(arn, session=aws, poll_seconds=0)
    stages = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
    assert "AWSCURRENT" in stages[result.version_id]
    assert result.previous_version_id == before != result.version_id


class _StuckSecretsManager:
    """Secrets Manager whose rotation never completes (the function keeps failing)."""

    def __init__(self, rotate_error: ClientError | None = None) -> None:
        self.rotate_error = rotate_error

    def describe_secret(self, SecretId: str) -> dict[str, Any]:
        return {"ARN": SecretId, "VersionIdsToStages": {"v1": ["AWSCURRENT"], "v2": ["AWSPENDING"]}}

    def rotate_secret(self, SecretId: str) -> dict[str, Any]:
        if self.rotate_error:
            raise self.rotate_error
        return {"ARN": SecretId, "VersionId": "v2"}


class _Session:
    def __init__(self, client: Any) -> None:
        self._client = client

    def client(self, service: str) -> Any:
        return self._client


def test_rotate_now_times_out_with_the_stuck_version_named() -> None:
    session: Any = _Session(_StuckSecretsManager())
    with pytest.raises(RotationTimeout, match=r"v2 is \['AWSPENDING'\].*AWSCURRENT is still v1"):
        rotate_now("arn:secret", session=session, timeout_seconds=0, sleep=lambda _: None)


def test_rotate_now_explains_a_rotation_already_in_progress() -> None:
    error = ClientError(
        {
            "Error": {
                "Code": "InvalidRequestException",
                "Message": "previous rotation isn't complete",
            }
        },
        "RotateSecret",
    )
    session: Any = _Session(_StuckSecretsManager(error))
    with pytest.raises(RotationFailed, match="previous rotation may still be in progress"):
        rotate_now("arn:secret", session=session)


def test_secret_formats_doc_lists_the_contract_fields() -> None:
    sys.path.insert(0, str(ROOT / "secrets"))
    from credential_rotation.formats import KINDS

    assert {"login_url", "client_id", "username", "private_key_pem", "certificate_pem"} <= set(
        KINDS["salesforce_jwt_bearer"]
    )
    assert {"token_url", "client_id", "client_secret"} <= set(KINDS["oauth_client_credentials"])
    assert {"base_url", "key_id", "api_key"} <= set(KINDS["api_key"])
    assert {"user_name", "access_key_id", "secret_access_key"} <= set(KINDS["iam_access_key"])
    assert {"account", "user", "slot", "private_key_pem"} <= set(KINDS["snowflake_key_pair"])
    assert {"consumer_secret", "token_secret"} <= set(KINDS["netsuite_tba"])
    # Every kind the roadmap accepts has a secret shape, and the program fills its secrets.
    from components.credential import SECRET_FIELDS as BOOTSTRAPPED
    from components.roadmap import CredentialKind

    assert sorted(KINDS) == sorted(BOOTSTRAPPED) == sorted(k.value for k in CredentialKind)
