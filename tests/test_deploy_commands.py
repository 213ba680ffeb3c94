"""`provisioner preview` and `up` drive the Automation API in a safe order, with the CLI absent.

The Pulumi CLI is not installed here: the Automation API's stack is replaced by a recorder,
so the tests see exactly which calls `provisioner` makes, in which order, with which
arguments.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi import automation as auto
from pulumi.automation import OpType, OutputValue, PreviewResult, UpResult
from pulumi.automation._cmd import CommandResult

import provisioner.deploy
import provisioner.pack_build
from provisioner.cli import main
from provisioner.pack_build import PackEnvironmentError
from provisioner.paths import (
    BUILT_POLICY_PACK_DIR,
    POLICY_PACK_DIR,
    PROJECT_ROOT,
    ROADMAP,
    STACKS_DIR,
)

Call = tuple[str, dict[str, Any]]


class Engine:
    """Records what `provisioner` asks of the Automation API; `preview_fails` plays a
    policy failure."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.preview_fails = False
        # The built pack folders whose virtualenv was asked for, before any engine call.
        self.virtualenvs: list[tuple[Path, int]] = []

    def virtualenv(self, pack_dir: Path) -> Path:
        self.virtualenvs.append((pack_dir, len(self.calls)))
        return pack_dir / ".venv" / "bin" / "python"

    @property
    def made(self) -> list[str]:
        return [name for name, _ in self.calls]

    def args(self, name: str) -> dict[str, Any]:
        return next(kwargs for made, kwargs in self.calls if made == name)

    def create_or_select_stack(self, **kwargs: Any) -> Engine:
        self.calls.append(("create_or_select_stack", kwargs))
        return self

    def preview(self, **kwargs: Any) -> PreviewResult:
        self.calls.append(("preview", kwargs))
        if kwargs.get("config_file"):  # read while it exists, as the engine would
            kwargs["config_text"] = Path(kwargs["config_file"]).read_text()
        if self.preview_fails:
            stderr = "error: preview failed: 1 mandatory policy violation (iam-no-wildcards)"
            raise auto.errors.CommandError(CommandResult("", stderr, 255))
        return PreviewResult("", "", {OpType.CREATE: 12, OpType.SAME: 3})

    def up(self, **kwargs: Any) -> UpResult:
        self.calls.append(("up", kwargs))
        outputs = {
            "quote-to-order": OutputValue({"phase": 5}, False),
            "alertEndpoint": OutputValue("https://events.pagerduty.com/x/key", True),
        }
        return UpResult("", "", None, outputs)  # type: ignore[arg-type]


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The Pulumi CLI taken as present but never run; nobody at the terminal."""
    recorder = Engine()
    monkeypatch.setattr(provisioner.deploy, "require_pulumi_cli", lambda: "/opt/pulumi/pulumi")
    monkeypatch.setattr(auto, "create_or_select_stack", recorder.create_or_select_stack)
    monkeypatch.setattr(provisioner.pack_build, "ensure_pack_virtualenv", recorder.virtualenv)
    monkeypatch.setattr(provisioner.deploy, "confirm", lambda question: None)
    return recorder


def test_up_without_yes_stops_after_the_preview_summary(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["up", "--stack", "dev"]) == 2
    assert engine.made == ["create_or_select_stack", "preview"]
    out, err = capsys.readouterr()
    assert "preview of dev: 12 to create (3 unchanged)" in out
    assert "not deployed" in err and "--yes" in err


def test_up_declined_at_the_prompt_deploys_nothing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asked: list[str] = []

    def refuse(question: str) -> bool:
        asked.append(question)
        return False

    monkeypatch.setattr(provisioner.deploy, "confirm", refuse)
    assert main(["up", "--stack", "dev"]) == 0
    assert engine.made == ["create_or_select_stack", "preview"]
    assert asked == ["Deploy these changes to dev? [y/N] "]
    assert "nothing deployed" in capsys.readouterr().out


def test_up_with_yes_previews_then_updates_with_the_same_pack_and_its_config(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["up", "--stack", "staging", "--yes", "--json"]) == 0
    assert engine.made == ["create_or_select_stack", "preview", "up"]
    assert engine.args("create_or_select_stack") == {
        "stack_name": "staging",
        "work_dir": str(PROJECT_ROOT),
    }
    # The pack check and rehearse run, built now from policies/, its virtualenv ready first.
    assert engine.virtualenvs == [(BUILT_POLICY_PACK_DIR, 0)]
    assert (BUILT_POLICY_PACK_DIR / "contract" / "aws_types.py").read_bytes() == (
        PROJECT_ROOT / "contract" / "aws_types.py"
    ).read_bytes()
    for name in ("preview", "up"):
        assert engine.args(name)["policy_packs"] == [str(BUILT_POLICY_PACK_DIR)]
        configs = engine.args(name)["policy_pack_configs"]
        assert configs == [str(POLICY_PACK_DIR / "config.staging.json")]
        assert "config_file" not in engine.args(name)  # the stack's own file
    document = json.loads(capsys.readouterr().out)
    assert document["deployed"] is True and document["changes"]["create"] == 12
    assert document["outputs"]["alertEndpoint"] == "[secret]"


def test_preview_json_prints_only_the_document_and_deploys_nothing(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["preview", "--stack", "dev", "--json"]) == 0
    assert engine.made == ["create_or_select_stack", "preview"]
    out, err = capsys.readouterr()
    assert json.loads(out) == {
        "stack": "dev",
        "action": "preview",
        "changes": {"create": 12, "same": 3},
        "deployed": False,
        "outputs": {},
    }
    assert err == "preview of dev: 12 to create (3 unchanged)\n"  # the words go to stderr


def test_preview_with_roadmap_runs_on_a_copy_of_the_stack_file_naming_it(
    engine: Engine, tmp_path: Path
) -> None:
    other = tmp_path / "roadmap.yaml"
    other.write_text(ROADMAP.read_text())
    before = (STACKS_DIR / "Pulumi.prod.yaml").read_text()
    assert main(["preview", "--stack", "prod", "--roadmap", str(other)]) == 0
    assert engine.made == ["create_or_select_stack", "preview"]
    preview = engine.args("preview")
    copy = yaml.safe_load(preview["config_text"])
    assert copy["config"]["integration-provisioner:roadmap"] == str(other.resolve())
    assert (
        copy["config"]["aws:allowedAccountIds"]
        == yaml.safe_load(before)["config"]["aws:allowedAccountIds"]
    )
    assert not Path(preview["config_file"]).exists()  # removed afterwards
    assert (STACKS_DIR / "Pulumi.prod.yaml").read_text() == before


def test_a_mandatory_violation_in_the_preview_exits_1_and_never_updates(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    engine.preview_fails = True
    assert main(["up", "--stack", "dev", "--yes"]) == 1
    assert engine.made == ["create_or_select_stack", "preview"]
    assert "mandatory policy violation" in capsys.readouterr().err


def test_a_pack_virtualenv_that_cannot_be_made_stops_before_the_engine(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def offline(pack_dir: Path) -> Path:
        raise PackEnvironmentError(f"making the policy pack's virtualenv {pack_dir}/.venv failed")

    monkeypatch.setattr(provisioner.pack_build, "ensure_pack_virtualenv", offline)
    assert main(["preview", "--stack", "dev"]) == 2
    assert engine.made == []
    assert "cannot prepare the policy pack: making the policy pack's virtualenv" in (
        capsys.readouterr().err
    )


def test_an_unknown_stack_stops_before_the_engine(engine: Engine) -> None:
    assert main(["up", "--stack", "qa", "--yes"]) == 2
    assert engine.made == []


def test_without_the_pulumi_cli_preview_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert main(["preview", "--stack", "dev"]) == 2
    assert "the Pulumi CLI is not installed" in capsys.readouterr().err
