"""The rehearsal reads back the concurrency a function behind a public URL reserves.

moto records a reservation without enforcing it, so the hardening check judges what the
emulator holds: each function created here goes through the rehearsal's own backend, as
`rehearse` would create it from the program's inputs.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from contract.aws_types import LAMBDA_FUNCTION, LAMBDA_FUNCTION_URL
from provisioner.rehearsal.backend import AwsCreator
from provisioner.rehearsal.checks.hardening import hardening_checks
from provisioner.rehearsal.emulator import Emulator
from provisioner.rehearsal.inventory import Inventory

ACCOUNT = "111111111111"


def _zip(folder: Path) -> Path:
    path = folder / "ingress.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return {}\n")
    path.write_bytes(buffer.getvalue())
    return path


def test_a_public_url_without_reserved_concurrency_fails_the_hardening_check(
    tmp_path: Path,
) -> None:
    code = {"archive": {"path": str(_zip(tmp_path))}}
    with Emulator(region="eu-west-1", account_id=ACCOUNT) as aws:
        role = aws.client("iam").create_role(
            RoleName="ingress-role", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        creator = AwsCreator(aws)
        for integration, reserved in (("refund-capture", 5), ("order-capture", None)):
            function = f"dev-{integration}-webhook"
            inputs = {"name": function, "role": role, "runtime": "python3.12", "code": code}
            if reserved is not None:
                inputs["reservedConcurrentExecutions"] = reserved
            creator.create(LAMBDA_FUNCTION, f"{integration}-webhook", inputs)
            creator.create(
                LAMBDA_FUNCTION_URL,
                f"{integration}-webhook-url",
                {"functionName": function, "authorizationType": "NONE"},
            )
        inventory = Inventory.from_created(creator.created, ["refund-capture", "order-capture"])
        checks = {c.name: c for c in hardening_checks(aws, inventory)}
    reserving = checks["public-url-concurrency:refund-capture"]
    assert reserving.ok and reserving.detail == "dev-refund-capture-webhook reserves 5"
    unreserved = checks["public-url-concurrency:order-capture"]
    assert not unreserved.ok
    assert unreserved.detail == (
        "dev-order-capture-webhook reserves no concurrency behind its public URL"
    )
