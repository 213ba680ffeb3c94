"""What the CLI says to a person: exact wording of each message a user can act on."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from roadmap_examples import EXAMPLE, problems_after

from provisioner.aws_env import endpoint_problem
from provisioner.cli import main
from roadmap.io import MAX_INPUT_BYTES
from roadmap.model import Roadmap
from roadmap.problems import as_written, pattern_words
from roadmap.settings import StackSettings
from roadmap.systems import SystemKind


def write_roadmap(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "roadmap.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ------------------------------------------------------------------ tables and values


@pytest.mark.parametrize(
    ("command", "header", "row"),
    [
        (
            "validate",
            "  integration                      pattern             dev staging prod",
            "  quote-to-order-with-cpq-approval event_driven (FIFO)   5       4    3",
        ),
        (
            "status",
            "  integration                      dev staging prod",
            "  quote-to-order-with-cpq-approval   5       4    3",
        ),
    ],
)
def test_tables_widen_for_a_32_character_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, header: str, row: str
) -> None:
    data = copy.deepcopy(EXAMPLE)
    data["integrations"][0]["name"] = "quote-to-order-with-cpq-approval"
    code, out, _ = run([command, "--roadmap", str(write_roadmap(tmp_path, data))], capsys)
    lines = out.splitlines()
    assert code == 0
    assert lines[lines.index(header) + 1] == row


def test_a_date_where_text_belongs_is_shown_as_written() -> None:
    (problem,) = problems_after(lambda d: d.update(organisation=dt.date(2027, 6, 18)))
    assert problem.render() == (
        "roadmap.yaml: organisation: expected text; got the date 2027-06-18; put it in "
        "quotes ('2027-06-18') if you mean that text"
    )


def test_values_render_as_yaml_not_python() -> None:
    assert [as_written(v) for v in (dt.date(2027, 6, 18), True, None, "Quote", 2.5)] == [
        "2027-06-18",
        "true",
        "nothing (null)",
        "'Quote'",
        "2.5",
    ]


def test_an_unknown_choice_lists_the_allowed_ones_and_the_closest() -> None:
    (problem,) = problems_after(lambda d: d["systems"][1].update(kind="erpp"))
    allowed = ", ".join(kind.value for kind in SystemKind)  # crm, erp, ecommerce, ...
    assert problem.render() == (
        f"roadmap.yaml: systems[1].kind: 'erpp' is not one of the allowed values: {allowed}; "
        "did you mean 'erp'?"
    )


def test_an_alert_path_error_explains_the_form_in_words() -> None:
    (problem,) = problems_after(lambda d: d["integrations"][0].update(alert_path="#revops"))
    assert problem.msg == (
        "'#revops' is not allowed: use <channel>:<target>, the channel one of pagerduty, "
        "opsgenie, slack, email or teams and the target 2-100 letters, digits or @ . _ + - "
        "(e.g. pagerduty:revops-oncall)"
    )


def _patterns(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        found = {schema["pattern"]} if isinstance(schema.get("pattern"), str) else set()
        return found.union(*(_patterns(v) for v in schema.values()))
    if isinstance(schema, list):
        return set().union(*(_patterns(v) for v in schema))
    return set()


def test_every_pattern_in_the_input_models_is_explained_in_words() -> None:
    patterns = _patterns(Roadmap.model_json_schema()) | _patterns(
        StackSettings.model_json_schema(by_alias=True)
    )
    assert patterns, "the schema walk found no pattern at all"
    unexplained = sorted(p for p in patterns if pattern_words(p) is None)
    assert not unexplained, f"declare these with allowed_pattern(pattern, words): {unexplained}"


# ------------------------------------------------------------------ input files


UNUSABLE_FILES = {
    "a key written twice, without ruamel's notes": (
        b"version: 1\norganisation: Northwind\nversion: 1\n",
        "validate",
        "line 3, column 1: key 'version' appears twice in one mapping (the mapping starts at "
        "line 1); keep one of them",
    ),
    "latin-1 text, with the position and how to convert it": (
        "version: 1\norganisation: Caf\u00e9 Nord\n".encode("latin-1"),
        "status",
        "line 2, column 18: byte 0xe9 is not UTF-8 text; save the file as UTF-8 (in most "
        "editors: Save As > Encoding > UTF-8, or `iconv -f WINDOWS-1252 -t UTF-8 roadmap.yaml "
        "> fixed.yaml`)",
    ),
    "UTF-16 text, named as such": (
        "version: 1\n".encode("utf-16"),
        "validate",
        "the file is UTF-16 text; save it as UTF-8 (in most editors: Save As > Encoding > UTF-8)",
    ),
    "a tab in the indentation": (
        b"version: 1\nsystems:\n\t- name: salesforce\n",
        "validate",
        "line 3, column 1: a tab character; YAML indents with spaces only, replace the tab",
    ),
}


@pytest.mark.parametrize(
    ("content", "command", "message"), UNUSABLE_FILES.values(), ids=list(UNUSABLE_FILES)
)
def test_an_unusable_roadmap_file_is_named_with_its_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, command: str, message: str
) -> None:
    path = tmp_path / "roadmap.yaml"
    path.write_bytes(content)
    code, _, err = run([command, "--roadmap", str(path)], capsys)
    assert (code, err) == (2, f"provisioner {command}: {path}: {message}\n")


@pytest.mark.parametrize(
    ("size", "said"),
    [
        (67_000_000, "63.9 MiB is too large for an input file (the limit is 5.0 MiB)"),
        (
            MAX_INPUT_BYTES + 1,
            "5,242,881 bytes is too large for an input file (the limit is 5,242,880 bytes)",
        ),
    ],
)
def test_an_oversized_roadmap_is_refused_before_it_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], size: int, said: str
) -> None:
    path = tmp_path / "roadmap.yaml"
    with path.open("wb") as sparse:  # a hole: nothing written to disk or read back
        sparse.truncate(size)
    code, _, err = run(["validate", "--roadmap", str(path)], capsys)
    assert code == 2
    assert err == (
        f"provisioner validate: {path}: {said}; check that this is the roadmap or stack file "
        "you meant\n"
    )


# ------------------------------------------------------------------ environment and CLI


def test_a_malformed_aws_endpoint_url_is_the_users_setting_not_a_bug(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "localhost 4566")
    code, _, err = run(["replay", "quote-to-order", "--stack", "dev"], capsys)
    assert (code, err) == (
        2,
        "provisioner replay: $AWS_ENDPOINT_URL 'localhost 4566' is not an endpoint URL: "
        "expected http(s)://HOST[:PORT], e.g. http://127.0.0.1:5000 (what `provisioner "
        "rehearse --keep` prints)\n",
    )


def test_well_formed_endpoints_are_not_blamed() -> None:
    assert endpoint_problem({"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}) is None
    assert endpoint_problem({"AWS_ENDPOINT_URL_SQS": "https://sqs.eu-west-1.amazonaws.com"}) is None
    assert endpoint_problem({"AWS_ENDPOINT_URL_SQS": "sqs"}) is not None


def test_version_names_the_package_and_the_engine_parts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(["--version"], capsys)
    assert code == 0
    assert re.fullmatch(
        r"provisioner \d+\.\d+\.\d+ \(pulumi 3\.\d+\.\d+, pulumi-aws \d+\.\d+\.\d+, "
        r"moto \d+\.\d+\.\d+, Python 3\.\d+\.\d+\)\n",
        out,
    ), out


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion_offers_commands_and_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, script, _ = run(["completion", "bash"], capsys)
    assert code == 0
    (tmp_path / "provisioner.bash").write_text(script)
    probe = (
        f"source {tmp_path / 'provisioner.bash'}\n"
        "COMP_WORDS=(provisioner rep); COMP_CWORD=1; _shtab_provisioner; echo ${COMPREPLY[@]}\n"
        "COMP_WORDS=(provisioner plan --st); COMP_CWORD=2; _shtab_provisioner; "
        "echo ${COMPREPLY[@]}\n"
    )
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["report replay", "--stack"]


def test_zsh_completion_is_a_compdef_script(capsys: pytest.CaptureFixture[str]) -> None:
    code, script, _ = run(["completion", "zsh"], capsys)
    assert code == 0 and script.startswith("#compdef provisioner")
    assert '"--stack[' in script and ":PATH:_files" in script


def test_report_json_carries_the_checklist_and_the_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["report", "--stack", "dev", "--out", str(tmp_path), "--no-check", "--json"]
    code, out, _ = run(argv, capsys)
    assert code == 0
    doc = json.loads(out)
    assert doc["files"] == {
        "html": str(tmp_path / "index.html"),
        "markdown": str(tmp_path / "report.md"),
    }
    assert doc["policy"] == {"available": False, "reason": "skipped with --no-check"}
    assert {item["verdict"] for item in doc["checklist"]} <= {
        "pass",
        "waiting",
        "fail",
        "not available",
    }
    assert doc["cost"]["monthly_usd"] == pytest.approx(
        sum(doc["cost"]["per_integration_usd"].values())
    )
