"""The functions report how old the credential they hold is: what the secret-age alarm watches."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from test_sync_harness import create_secret

from contract import environment as var
from contract.metrics import CREDENTIAL_AGE_DAYS, namespace
from integration_sync import secret_age
from integration_sync.credentials import SecretAuth


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secret_age, "_reported", {})
    monkeypatch.setenv(var.POWERTOOLS_SERVICE_NAME, "order-to-invoice")
    monkeypatch.setenv(var.METRICS_NAMESPACE, namespace("order-to-invoice"))


def test_the_age_of_the_current_version_is_reported_as_an_emf_metric(aws: None) -> None:
    arn = create_secret("dev-order-to-invoice-cred-xero-m2m", {"kind": "api_key", "api_key": "k"})
    lines: list[str] = []
    ten_days_on = time.time() + 10 * 86_400
    days = secret_age.report_age(arn, now=ten_days_on, emit=lines.append)
    assert days is not None and 9.99 < days < 10.01
    (line,) = lines
    doc = json.loads(line)
    (directive,) = doc["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == namespace("order-to-invoice")
    assert directive["Dimensions"] == [["service", "secret"]]
    assert directive["Metrics"] == [{"Name": CREDENTIAL_AGE_DAYS, "Unit": "None"}]
    assert doc["service"] == "order-to-invoice"
    assert doc["secret"] == "dev-order-to-invoice-cred-xero-m2m"
    assert doc[CREDENTIAL_AGE_DAYS] == pytest.approx(10, abs=0.01)
    assert "k" not in {str(v) for v in doc.values()}  # never the value


def test_a_new_version_starts_the_age_again(aws: None) -> None:
    arn = create_secret("dev-order-to-invoice-cred-xero-m2m", {"kind": "api_key", "api_key": "k"})
    boto3.client("secretsmanager").put_secret_value(
        SecretId=arn, SecretString=json.dumps({"kind": "api_key", "api_key": "k2"})
    )
    days = secret_age.report_age(arn, now=time.time() + 3600, emit=lambda _line: None)
    assert days is not None and days < 0.05


def test_it_is_reported_at_most_hourly_and_never_fails_the_caller(aws: None) -> None:
    arn = create_secret("dev-order-to-invoice-cred-xero-m2m", {"kind": "api_key", "api_key": "k"})
    lines: list[str] = []
    start = time.time()
    assert secret_age.report_age(arn, now=start, emit=lines.append) is not None
    assert secret_age.report_age(arn, now=start + 600, emit=lines.append) is None
    assert secret_age.report_age(arn, now=start + 3601, emit=lines.append) is not None
    assert len(lines) == 2

    class Broken:
        def get_secret_value(self, **_kw: Any) -> Any:
            raise RuntimeError("AccessDenied")

    assert secret_age.report_age("arn:other", client=Broken(), emit=lines.append) is None
    assert len(lines) == 2


def test_the_sync_functions_report_it_when_they_read_their_credential(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = create_secret("dev-order-to-invoice-cred-xero-m2m", {"kind": "api_key", "api_key": "k"})
    SecretAuth(arn).headers()
    reported = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert [r["secret"] for r in reported if CREDENTIAL_AGE_DAYS in r] == [
        "dev-order-to-invoice-cred-xero-m2m"
    ]
