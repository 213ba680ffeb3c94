"""`provisioner rotate NAME --manual`: a vendor-issued credential from stdin, tested, promoted."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from contract.naming import physical_name
from provisioner.cli import main
from provisioner.paths import STACKS_DIR
from provisioner.rehearsal.vendors import VendorServer
from provisioner.rehearsal.vendors.shopify import ShopifyFake
from roadmap.stack_config import load_stack_settings

SETTINGS = load_stack_settings(STACKS_DIR, "dev")
# inventory-to-promise writes Shopify with an Admin API token, which Shopify issues only
# in the store admin: the roadmap marks it `rotation: manual`.
INTEGRATION, CREDENTIAL = "inventory-to-promise", "shopify-admin"
SECRET = physical_name(SETTINGS.name_prefix, INTEGRATION, f"cred-{CREDENTIAL}")


@pytest.fixture(name="shopify", scope="module")
def shopify_fixture() -> Iterator[ShopifyFake]:
    fake = ShopifyFake()
    with VendorServer(fake):
        yield fake


@pytest.fixture(name="aws")
def aws_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in process, answering as the dev stack's own account."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": SETTINGS.region,
        "MOTO_ACCOUNT_ID": SETTINGS.allowed_account_ids[0],
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        boto3.client("secretsmanager").create_secret(
            Name=SECRET, SecretString=json.dumps({"kind": "api_key", "api_key": "old"})
        )
        yield


def rotate(monkeypatch: pytest.MonkeyPatch, stdin: str, *extra: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["rotate", INTEGRATION, "--stack", "dev", "--manual", *extra])


def versions() -> dict[str, Any]:
    sm = boto3.client("secretsmanager")
    stages = sm.describe_secret(SecretId=SECRET)["VersionIdsToStages"]
    return {
        stage: json.loads(sm.get_secret_value(SecretId=SECRET, VersionId=v)["SecretString"])
        for v, labels in stages.items()
        for stage in labels
    }


def test_a_value_the_vendor_accepts_becomes_current_and_the_old_one_previous(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    shopify: ShopifyFake,
    aws: None,
) -> None:
    issued = shopify.credential()["api_key"]
    code = rotate(
        monkeypatch, issued + "\n", "--credential", CREDENTIAL, "--base-url", shopify.base_url
    )
    out = capsys.readouterr().out
    assert code == 0, out
    stages = versions()
    assert stages["AWSCURRENT"]["api_key"] == issued
    assert stages["AWSPREVIOUS"]["api_key"] == "old"
    assert "AWSPENDING" not in stages
    assert "revoke the previous api_key in Shopify's console" in out
    assert issued not in out


def test_a_value_the_vendor_refuses_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    shopify: ShopifyFake,
    aws: None,
) -> None:
    code = rotate(
        monkeypatch, "shpat_typo", "--credential", CREDENTIAL, "--base-url", shopify.base_url
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "refused the new credential" in out and "nothing was changed" in out
    assert "shpat_typo" not in out
    stages = versions()
    assert stages["AWSCURRENT"]["api_key"] == "old"
    assert "AWSPENDING" not in stages


def test_a_failed_promotion_leaves_the_old_value_current_and_nothing_pending(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    shopify: ShopifyFake,
    aws: None,
) -> None:
    from botocore.exceptions import ClientError

    import provisioner.manual_rotation as manual

    real = manual.rotate_manually

    def promotion_denied(secret_id: str, new: dict[str, Any], **kw: Any) -> Any:
        session = kw["session"]
        client = session.client("secretsmanager")
        original = client.update_secret_version_stage

        def deny_current(**call: Any) -> Any:
            if call["VersionStage"] == "AWSCURRENT":
                raise ClientError(
                    {"Error": {"Code": "AccessDeniedException", "Message": "denied"}},
                    "UpdateSecretVersionStage",
                )
            return original(**call)

        client.update_secret_version_stage = deny_current
        kw["session"] = type("S", (), {"client": lambda _self, _name: client})()
        return real(secret_id, new, **kw)

    monkeypatch.setattr(manual, "rotate_manually", promotion_denied)
    issued = shopify.credential()["api_key"]
    code = rotate(monkeypatch, issued, "--credential", CREDENTIAL, "--base-url", shopify.base_url)
    assert code == 1
    assert "AccessDeniedException" in capsys.readouterr().out
    stages = versions()
    assert stages["AWSCURRENT"]["api_key"] == "old"
    assert "AWSPENDING" not in stages


def test_the_value_comes_from_stdin_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], aws: None
) -> None:
    assert rotate(monkeypatch, "", "--credential", CREDENTIAL) == 2
    assert "no new credential on standard input" in capsys.readouterr().err
    # argparse: no place for a value in argv
    assert rotate(monkeypatch, "", "--credential", CREDENTIAL, "shpat_on_the_command_line") == 2
    assert versions()["AWSCURRENT"]["api_key"] == "old"


def test_at_a_terminal_the_value_is_read_without_echo(
    monkeypatch: pytest.MonkeyPatch, shopify: ShopifyFake, aws: None
) -> None:
    issued = shopify.credential()["api_key"]

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    prompts: list[str] = []

    def getpass(prompt: str, stream: Any = None) -> str:
        prompts.append(prompt)
        return str(issued)

    monkeypatch.setattr("getpass.getpass", getpass)
    monkeypatch.setattr("sys.stdin", Terminal(""))
    args = ["--credential", CREDENTIAL, "--base-url", shopify.base_url]
    assert main(["rotate", INTEGRATION, "--stack", "dev", "--manual", *args]) == 0
    assert prompts == ["new credential (not echoed): "]
    assert versions()["AWSCURRENT"]["api_key"] == issued


def test_a_credential_rotated_by_api_is_not_rotated_by_hand(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], aws: None
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("x"))
    code = main(
        ["rotate", "quote-to-order", "--stack", "dev", "--manual", "--credential", "salesforce-jwt"]
    )
    assert code == 2
    assert "salesforce-jwt: api" in capsys.readouterr().err


def test_a_pasted_signing_secret_keeps_the_old_one_for_the_overlap() -> None:
    from provisioner.manual_rotation import read_new_credential

    current = {"kind": "webhook_signing_secret", "scheme": "stripe", "signing_secret": "whsec_old"}
    new = read_new_credential(io.StringIO("whsec_new\n"), current)
    assert new["signing_secret"] == "whsec_new"
    assert new["previous_signing_secret"] == "whsec_old"
