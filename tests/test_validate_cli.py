"""`provisioner validate`: exit codes, one-pass reporting, JSON, and no traceback on any input."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner.cli import main
from roadmap.io import parse_roadmap
from roadmap.problems import RoadmapError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE: dict[str, Any] = yaml.safe_load((ROOT / "roadmap.yaml").read_text())


def write(tmp_path: Path, data: Any, name: str = "roadmap.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_example_roadmap_validates_with_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    assert "valid" in out and "quote-to-order" in out


def test_four_problems_are_all_named_in_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = copy.deepcopy(EXAMPLE)
    by_name = {i["name"]: i for i in data["integrations"]}
    by_name["inventory-to-promise"]["target"] = "magento"  # unknown system
    data["objects"].append({"name": "invoice", "owner": "xero"})  # two owners for invoice
    by_name["order-to-invoice"]["phases"] = {"dev": 2, "staging": 3, "prod": 3}  # rising
    by_name["campaign-sync"]["service_levels"]["expected_records_per_day"] = 900_000

    assert main(["validate", "--roadmap", str(write(tmp_path, data))]) == 1
    out = capsys.readouterr().out
    assert "integrations[3].target: unknown system 'magento'" in out
    assert f"objects[{len(EXAMPLE['objects'])}].name: 'invoice' is already used" in out
    assert "integrations[2].phases.staging: phase 3 in staging is ahead of phase 2 in dev" in out
    assert "systems[0].salesforce: integrations spend " in out
    assert "(largest: campaign-sync 900,000" in out
    assert all(line.startswith("roadmap.yaml: ") for line in out.splitlines()[:4])


def test_json_output_lists_errors_with_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = copy.deepcopy(EXAMPLE)
    data["integrations"][0]["credentials"][0]["rotation_days"] = 0
    assert main(["validate", "--json", "--roadmap", str(write(tmp_path, data))]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False
    assert report["errors"][0]["loc"] == "integrations[0].credentials[0].rotation_days"
    assert report["errors"][0]["msg"] == "must be at least 1; got 0, change it to 1 or more"


def test_valid_roadmap_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"valid": True, "errors": []}


def test_missing_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--roadmap", str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err
    assert "nope.yaml: no such file" in err and "Traceback" not in err


def test_unreadable_yaml_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "roadmap.yaml"
    path.write_text("systems: [salesforce\nobjects: {")
    assert main(["validate", "--roadmap", str(path)]) == 2
    assert "not valid YAML" in capsys.readouterr().err


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--stak", "dev"]) == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_python_dash_m_runs_the_same_cli() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "provisioner", "validate", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["valid"] is True


# ----------------------------------------------------------------- fuzzing: never a traceback

ODD_VALUES: list[Any] = [None, "", "x" * 300, -1, 0, 10**15, 2.5, True, [], {}, ["a"], {"k": 1}]


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths(value, (*prefix, index))


def replaced(data: Any, path: tuple[Any, ...], value: Any, delete: bool = False) -> Any:
    if not path:
        return value
    clone = copy.deepcopy(data)
    node = clone
    for part in path[:-1]:
        node = node[part]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return clone


ALL_PATHS = list(paths(EXAMPLE))


def assert_no_traceback(data: Any) -> None:
    try:
        parse_roadmap(data)
    except RoadmapError as err:
        assert err.problems, "a rejected roadmap must say why"
        for problem in err.problems:
            assert problem.msg


@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
def test_every_field_replaced_by_an_odd_value_is_reported_not_raised(value: Any) -> None:
    for path in ALL_PATHS:
        assert_no_traceback(replaced(EXAMPLE, path, value))


def test_every_field_deleted_is_reported_not_raised() -> None:
    for path in ALL_PATHS:
        if path:
            assert_no_traceback(replaced(EXAMPLE, path, None, delete=True))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(min_value=0, max_value=len(ALL_PATHS) - 1), value=json_values)
def test_random_values_anywhere_never_raise(index: int, value: Any) -> None:
    assert_no_traceback(replaced(EXAMPLE, ALL_PATHS[index], value))
