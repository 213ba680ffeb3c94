"""The benchmarks' inputs are valid and their outputs have the documented shape.

No wall-clock limits are asserted here: timings depend on the machine. bench/run.py
measures them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.roadmaps import PATTERNS, generate_roadmap  # noqa: E402
from contract.phases import ENVIRONMENTS  # noqa: E402
from roadmap.budget import salesforce_calls_per_day  # noqa: E402
from roadmap.integrations import CredentialKind  # noqa: E402
from roadmap.io import parse_roadmap  # noqa: E402


@pytest.mark.parametrize("size", [10, 50, 200])
def test_generated_roadmap_is_valid_with_every_integration_at_phase_5(size: int) -> None:
    roadmap = parse_roadmap(generate_roadmap(size), source=f"generated-{size}")

    assert len(roadmap.integrations) == size
    assert all(i.phase(env) == 5 for i in roadmap.integrations for env in ENVIRONMENTS)
    assert {i.pattern.value for i in roadmap.integrations} == set(PATTERNS)


def test_generated_roadmap_varies_credentials_direction_and_ordering() -> None:
    roadmap = parse_roadmap(generate_roadmap(50))

    kinds = {c.kind.value for i in roadmap.integrations for c in i.credentials}
    assert kinds == {kind.value for kind in CredentialKind}
    assert {i.direction.value for i in roadmap.integrations} == {"one_way", "bidirectional"}
    assert any(i.fifo for i in roadmap.integrations)
    assert any(not i.pattern.queued for i in roadmap.integrations)


def test_generated_salesforce_budget_fits_the_dev_allocation_at_200() -> None:
    roadmap = parse_roadmap(generate_roadmap(200))

    planned = sum(salesforce_calls_per_day(i, roadmap) for i in roadmap.integrations)
    # stacks/Pulumi.dev.yaml allows 200,000 calls/day; the roadmap keeps 20% headroom.
    assert 0 < planned <= 160_000


def test_plan_bench_reports_both_sdk_drains_against_a_bare_program_of_equal_size() -> None:
    from bench.plan import bench_plan

    result = bench_plan(sizes=(1, 2), repeats=1, budget_seconds=60)

    for variant in ("product", "sdk_own_drain"):
        rows = result[variant]["by_size"]
        assert set(rows) == {"1", "2"}
        for row in rows.values():
            assert row["bare_resources"] == row["resources"] > 0
            assert row["component_overhead_ratio"] > 0
            assert row["component_overhead_ratio_cpu"] > 0
    for row in result["product"]["by_size"].values():
        assert row["typed_resources"] == row["resources"]
        assert row["component_overhead_ratio_typed"] > 0
        assert row["component_overhead_ratio_typed_cpu"] > 0
    assert set(result["component_overhead_ratio_typed_by_size"]) == {"1", "2"}
    assert result["linearity"]["sizes"] == [1, 2]
    assert result["linear_within_1_5x"] is None  # only judged between 10 and 200
    assert set(result["seconds_per_integration"]) == {"1", "2"}
    assert result["largest_planned"] == 2


def test_the_typed_baseline_passes_nested_inputs_as_the_classes_input_types() -> None:
    import pulumi_aws as aws

    from bench.baseline import typed_arguments
    from provisioner.sdk_seams import input_fields

    fields = input_fields(aws.lambda_.FunctionArgs)
    assert fields is not None
    arguments = typed_arguments(
        {
            "memorySize": 256,
            "environment": {"variables": {"QUEUE_URL": "https://sqs/q"}},
            "code": {"archive": {"path": "/bundles/functions.zip"}},
        },
        fields,
    )

    assert arguments["memory_size"] == 256
    # Map keys are data, not property names: they stay as written.
    assert arguments["environment"].variables == {"QUEUE_URL": "https://sqs/q"}
    assert arguments["code"].path == "/bundles/functions.zip"
    with pytest.raises(KeyError, match="notAnInput"):
        typed_arguments({"notAnInput": 1}, fields)


def test_a_baseline_that_registers_other_inputs_is_refused() -> None:
    from types import SimpleNamespace

    from bench.plan import same_resources

    def run(*inputs: dict[str, int]) -> Any:
        resources = [
            SimpleNamespace(urn=f"urn:q{i}", type="aws:sqs/queue:Queue", parent=None, inputs=x)
            for i, x in enumerate(inputs)
        ]
        return SimpleNamespace(resources=resources)

    same_resources(run({"delaySeconds": 0}), run({"delaySeconds": 0}), "typed")
    with pytest.raises(RuntimeError, match="1 differ or are missing"):
        same_resources(run({"delaySeconds": 0}), run({"delaySeconds": 5}), "typed")
    with pytest.raises(RuntimeError, match="1 extra"):
        same_resources(run({}), run({}, {}), "typed")


def test_a_rehearsal_child_reports_its_own_exit_code_and_peak_memory() -> None:
    from bench.rehearsal import rehearse_in_child

    result = rehearse_in_child("no-such-stack")

    assert result["exit_code"] == 2  # a usage error, before any emulator starts
    assert result["peak_rss_mb"] > 0
    assert result["note"].startswith("no JSON report: ")


def test_the_rehearsal_scale_needs_two_sizes_to_compare() -> None:
    from bench.rehearsal import bench_rehearsal_scale

    assert "note" in bench_rehearsal_scale((10,))
