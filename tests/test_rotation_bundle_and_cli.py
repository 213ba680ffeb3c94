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
from credential_rotation.slot_clients import build_jwt_assertion
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


def test_rotate_now_refuses_a_secret_without_a_rotation_function(aws: boto3.Session) -> None:
    sm = aws.client("secretsmanager")
    arn = sm.create_secret(Name="dev/quote-to-order/cred-api", SecretString="{}")["ARN"]
    with pytest.raises(RotationFailed, match="no rotation function configured"):
        rotate_now(arn, session=aws, poll_seconds=0)
    # Nothing was rotated: moto would otherwise have promoted a copy of the old value.
    assert len(sm.describe_secret(SecretId=arn)["VersionIdsToStages"]) == 1


def _function_that_cannot_run(aws: boto3.Session) -> str:
    """A rotation Lambda that exists but never runs (moto without Docker invokes nothing)."""
    import io

    role = aws.client("iam").create_role(
        RoleName="dev-quote-to-order-rotation-role", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as zf:
        zf.writestr("handler.py", "def lambda_handler(event, context):\n    return None\n")
    return str(
        aws.client("lambda").create_function(
            FunctionName="dev-quote-to-order-rotation",
            Runtime="python3.11",
            Role=role,
            Handler="handler.lambda_handler",
            Code={"ZipFile": code.getvalue()},
        )["FunctionArn"]
    )


def test_rotate_now_says_plainly_when_the_function_did_not_run(aws: boto3.Session) -> None:
    sm = aws.client("secretsmanager")
    doc = '{"kind": "api_key", "base_url": "https://api.example.com", "key_id": "k1"}'
    arn = sm.create_secret(Name="dev-quote-to-order-cred-api", SecretString=doc)["ARN"]
    function = _function_that_cannot_run(aws)
    sm.rotate_secret(
        SecretId=arn,
        RotationLambdaARN=function,
        RotationRules={"AutomaticallyAfterDays": 30},
        RotateImmediately=False,
    )
    with pytest.raises(RotationFailed, match=r"did not run its steps|did not issue a new one"):
        rotate_now(arn, session=aws, poll_seconds=0, timeout_seconds=5)


class _StuckSecretsManager:
    """Secrets Manager whose rotation never completes (the function keeps failing)."""

    def __init__(self, rotate_error: ClientError | None = None) -> None:
        self.rotate_error = rotate_error

    def describe_secret(self, SecretId: str) -> dict[str, Any]:
        return {
            "ARN": SecretId,
            "RotationEnabled": True,
            "RotationLambdaARN": "arn:aws:lambda:eu-west-1:111111111111:function:rot",
            "VersionIdsToStages": {"v1": ["AWSCURRENT"], "v2": ["AWSPENDING"]},
        }

    def get_secret_value(self, SecretId: str, **_: str) -> dict[str, Any]:
        return {"SecretString": '{"kind": "api_key", "key_id": "k1"}'}

    def rotate_secret(self, SecretId: str) -> dict[str, Any]:
        if self.rotate_error:
            raise self.rotate_error
        return {"ARN": SecretId, "VersionId": "v2"}


class _Session:
    def __init__(self, client: Any) -> None:
        self._client = client

    def client(self, service: str) -> Any:
        return self._client


class _RotatingSecretsManager:
    """Secrets Manager whose rotation function runs: v2 (a new key) becomes current."""

    def __init__(self, new_key: str = "k2") -> None:
        self.rotated = False
        self.docs = {
            "v1": {"kind": "api_key", "key_id": "k1"},
            "v2": {"kind": "api_key", "key_id": new_key},
        }

    def describe_secret(self, SecretId: str) -> dict[str, Any]:
        stages = (
            {"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT"]}
            if self.rotated
            else {"v1": ["AWSCURRENT"]}
        )
        return {
            "ARN": SecretId,
            "RotationEnabled": True,
            "RotationLambdaARN": "arn:aws:lambda:eu-west-1:111111111111:function:rot",
            "VersionIdsToStages": stages,
        }

    def rotate_secret(self, SecretId: str) -> dict[str, Any]:
        self.rotated = True
        return {"ARN": SecretId, "VersionId": "v2"}

    def get_secret_value(self, SecretId: str, **version: str) -> dict[str, Any]:
        import json

        key = version.get("VersionId") or ("v2" if self.rotated else "v1")
        return {"SecretString": json.dumps(self.docs[key])}


def test_rotate_now_tests_the_new_credential_and_reports_it() -> None:
    tested: list[str] = []

    def verify(arn: str, version: str, doc: dict[str, Any]) -> str:
        tested.append(doc["key_id"])
        return "api_key credential accepted by its issuer"

    session: Any = _Session(_RotatingSecretsManager())
    result = rotate_now("arn:secret", session=session, verify=verify)
    assert (result.version_id, result.previous_version_id, result.verified) == ("v2", "v1", True)
    assert tested == ["k2"]


def test_rotate_now_fails_when_the_new_credential_is_rejected() -> None:
    def verify(arn: str, version: str, doc: dict[str, Any]) -> str:
        raise RuntimeError("HTTP 401 from the issuer")

    session: Any = _Session(_RotatingSecretsManager())
    with pytest.raises(RotationFailed, match=r"failed its test.*AWSPREVIOUS \(v1\) still holds"):
        rotate_now("arn:secret", session=session, verify=verify)


def test_rotate_now_says_when_it_could_not_test_the_credential() -> None:
    from provisioner.rotate import Unverifiable

    def verify(arn: str, version: str, doc: dict[str, Any]) -> str:
        raise Unverifiable("api_key issuer unreachable from here")

    session: Any = _Session(_RotatingSecretsManager())
    result = rotate_now("arn:secret", session=session, verify=verify)
    assert result.verified is None and "could not test it" in result.verification


def test_rotate_now_refuses_a_new_version_holding_the_old_credential() -> None:
    session: Any = _Session(_RotatingSecretsManager(new_key="k1"))
    with pytest.raises(RotationFailed, match="same credential"):
        rotate_now("arn:secret", session=session, verify=lambda *_: "ok")


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
    from roadmap.integrations import CredentialKind

    assert sorted(KINDS) == sorted(BOOTSTRAPPED) == sorted(k.value for k in CredentialKind)
