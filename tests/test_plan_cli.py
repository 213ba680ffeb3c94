"""`provisioner plan` (and preview/up without the CLI), called as a user would: `main([...])`."""

from __future__ import annotations

import gc
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from program_runs import stack_run

import components.credential
from provisioner.aws_shapes import AwsShapedBackend
from provisioner.cli import main
from provisioner.program import run_program
from provisioner.records import ResourceRequest
from roadmap.io import load_roadmap

ROOT = Path(__file__).resolve().parent.parent
ROADMAP = load_roadmap(ROOT / "roadmap.yaml")
MARK = "TOPSECRET"


@pytest.fixture(scope="module")
def plans() -> Iterator[dict[str, Any]]:
    """`plan --json` for every stack, with recognisable generated secret material."""
    generated: list[str] = []
    counter = itertools.count()

    def material() -> str:
        generated.append(f"{MARK}-{next(counter):04d}-material")
        return generated[-1]

    outputs: dict[str, Any] = {"generated": generated}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(components.credential, "_material", material)
        for stack in ("dev", "staging", "prod"):
            capture = _Capture()
            with patch.context() as inner:
                inner.setattr("sys.stdout", capture)
                outputs[f"{stack}-code"] = main(["plan", "--stack", stack, "--json"])
            outputs[stack] = capture.text()
    yield outputs


class _Capture:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def text(self) -> str:
        return "".join(self.parts)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_plan_json_contains_no_generated_secret_material(plans: dict[str, Any], stack: str) -> None:
    assert plans[f"{stack}-code"] == 0
    text = plans[stack]
    assert MARK not in text
    doc = json.loads(text)
    versions = [
        r
        for i in doc["integrations"]
        for r in i["resources"]
        if r["type"] == "aws:secretsmanager/secretVersion:SecretVersion"
    ]
    assert versions and all(v["inputs"]["secretString"] == "[secret]" for v in versions)


def test_the_material_checked_for_was_really_generated(plans: dict[str, Any]) -> None:
    versions = sum(
        1
        for stack in ("dev", "staging", "prod")
        for i in json.loads(plans[stack])["integrations"]
        for r in i["resources"]
        if r["type"] == "aws:secretsmanager/secretVersion:SecretVersion"
    )
    assert len(plans["generated"]) == versions > 0


def test_plan_prod_lists_only_integrations_at_phase_2_or_more_in_prod(
    plans: dict[str, Any],
) -> None:
    doc = json.loads(plans["prod"])
    expected = [(i.name, i.phase("prod")) for i in ROADMAP.integrations if i.phase("prod") >= 2]
    assert [(i["name"], i["phase"]) for i in doc["integrations"]] == expected
    assert "web-order-capture" not in plans["prod"]


def test_plan_json_has_the_documented_shape(plans: dict[str, Any]) -> None:
    doc = json.loads(plans["prod"])
    assert set(doc) == {
        "stack",
        "region",
        "integrations",
        "stack_resources",
        "stack_cost",
        "resource_count",
        "monthly_cost_usd",
        "fixed_cost_usd",
        "usage_cost_usd",
        "prices",
    }
    assert doc["stack"] == "prod"
    resources = [r for i in doc["integrations"] for r in i["resources"]]
    assert {r["name"] for r in doc["stack_resources"]} >= {"stack-audit-trail", "stack-audit-key"}
    resources += doc["stack_resources"]
    assert doc["resource_count"] == len(resources)
    for resource in resources:
        assert set(resource) == {"type", "name", "urn", "parent", "inputs", "outputs"}
        assert resource["urn"].startswith("urn:pulumi:prod::integration-provisioner::")
    for resource in resources:
        if resource["type"].startswith("aws:"):
            assert resource["outputs"]["id"]
    queue = next(r for r in resources if r["name"] == "quote-to-order-queue")
    assert (
        queue["outputs"]["arn"]
        == "arn:aws:sqs:eu-west-1:333333333333:prod-quote-to-order-queue.fifo"
    )
    assert queue["inputs"]["visibilityTimeoutSeconds"] == 360


def test_plan_costs_sum_per_integration_from_the_price_table(plans: dict[str, Any]) -> None:
    doc = json.loads(plans["prod"])
    for integ in doc["integrations"]:  # item by item in tests/test_pricing.py
        cost = integ["cost"]
        assert integ["monthly_cost_usd"] == cost["monthly_usd"]
        assert cost["monthly_usd"] == pytest.approx(cost["fixed_usd"] + cost["usage_usd"])
        assert cost["monthly_usd"] == pytest.approx(sum(i["usd"] for i in cost["items"]))
    total = sum(i["monthly_cost_usd"] for i in doc["integrations"])
    # The stack's audit key ($1, and $2 of rotated key material); its trail and bucket are
    # usage-priced.
    assert doc["stack_cost"]["fixed_usd"] == pytest.approx(3.00)
    assert doc["monthly_cost_usd"] == pytest.approx(total + 3.00)


def test_plan_text_shows_phase_resource_counts_and_discovery(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plan", "--stack", "prod"]) == 0
    out = capsys.readouterr().out
    assert "quote-to-order  phase 3" in out
    assert "    2 sqs Queue                      dlq, queue\n" in out
    assert "phase 1 (discovery, nothing provisioned): " in out
    assert "web-order-capture" in out.split("phase 1 (discovery")[1]
    too_long = [line for line in out.splitlines() if len(line) > 100]
    assert not too_long, "plan lines wrap at 100 characters"


def test_plan_follows_an_explicit_roadmap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load((ROOT / "roadmap.yaml").read_text())
    quote = next(i for i in data["integrations"] if i["name"] == "quote-to-order")
    quote["phases"]["prod"] = 2  # rolled back to cleanup in prod
    path = tmp_path / "roadmap.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["plan", "--stack", "prod", "--roadmap", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    quote_plan = next(i for i in doc["integrations"] if i["name"] == "quote-to-order")
    assert quote_plan["phase"] == 2
    assert not [r for r in quote_plan["resources"] if r["type"] == "aws:sqs/queue:Queue"]


def test_plan_on_an_invalid_roadmap_fails_with_its_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load((ROOT / "roadmap.yaml").read_text())
    data["integrations"][0]["phases"]["prod"] = 5  # ahead of staging
    path = tmp_path / "roadmap.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["plan", "--stack", "prod", "--roadmap", str(path)]) == 1
    err = capsys.readouterr().err
    assert "integrations[0].phases.prod" in err and "Traceback" not in err


def test_plan_with_a_missing_roadmap_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "--stack", "dev", "--roadmap", str(tmp_path / "nope.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["preview", "up"])
def test_preview_and_up_say_how_to_get_the_pulumi_cli(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert main([command, "--stack", "dev"]) == 2
    err = capsys.readouterr().err
    assert "Pulumi CLI is not installed" in err and "provisioner plan" in err


def test_the_runner_can_run_the_program_again_in_the_same_process() -> None:
    first = stack_run("dev")
    again = run_program("dev")
    assert sorted(r.urn for r in again.resources) == sorted(r.urn for r in first.resources)
    by_urn = {r.urn: r for r in first.resources}
    for resource in again.resources:
        if resource.type != "aws:secretsmanager/secretVersion:SecretVersion":
            assert resource.redacted_inputs() == by_urn[resource.urn].redacted_inputs()
            assert resource.outputs == by_urn[resource.urn].outputs


def test_recorded_urns_and_parents_match_the_contract() -> None:
    run = stack_run("dev")
    queue = run.find("quote-to-order-queue")
    assert queue.urn == (
        "urn:pulumi:dev::integration-provisioner::provisioner:index:Integration$"
        "provisioner:index:SyncQueue$aws:sqs/queue:Queue::quote-to-order-queue"
    )
    parent = run.by_urn(queue.parent or "")
    assert (parent.type, parent.name) == ("provisioner:index:SyncQueue", "quote-to-order")
    assert run.find("quote-to-order", "provisioner:index:Integration").parent is None


def test_the_runner_pauses_the_collector_and_the_sdks_quadratic_parts_for_a_run_only() -> None:
    """Full collections over the SDK's growing heap, its output drain, its stack walks and
    its garbage per unknowns check made runs superlinear or slow (bench/README.md);
    `pulumi up` keeps the SDK's own."""
    import pulumi.runtime.resource as sdk_resource
    import pulumi.runtime.rpc as sdk_rpc
    import pulumi.runtime.stack as sdk_stack
    from pulumi import _types

    from provisioner.sdk_seams import (
        flat_contains_unknowns,
        linear_wait_for_rpcs,
        one_future_transfer_properties,
    )

    def sdk_parts() -> tuple[Any, ...]:
        return (
            sdk_stack.wait_for_rpcs,
            sdk_resource._get_stack_trace,
            sdk_rpc.contains_unknowns,
            _types.resource_types,
            _types.unwrap_type,
            sdk_rpc.transfer_properties,
        )

    own = sdk_parts()
    seen: list[bool] = []
    during: list[tuple[Any, ...]] = []

    class Watching(AwsShapedBackend):
        def create(self, request: ResourceRequest) -> tuple[str, dict[str, Any]]:
            seen.append(gc.isenabled())
            during.append(sdk_parts())
            return super().create(request)

    assert gc.isenabled()
    run = run_program("dev", backend=Watching)
    assert gc.isenabled() and seen and not any(seen)
    assert {parts[0] for parts in during} == {linear_wait_for_rpcs}
    assert own[1] not in {parts[1] for parts in during}
    assert {parts[2] for parts in during} == {flat_contains_unknowns}
    assert not {parts[3] for parts in during} & {own[3]}
    assert not {parts[4] for parts in during} & {own[4]}
    assert {parts[5] for parts in during} == {one_future_transfer_properties}
    assert sdk_parts() == own
    assert len(run.resources) == len(stack_run("dev").resources)
    gc.disable()
    try:
        run_program("dev", backend=Watching)
        assert not gc.isenabled()  # a caller's choice to keep it off is left alone
    finally:
        gc.enable()


def test_remembered_answers_are_kept_per_object_not_per_equal_value() -> None:
    """typing finds `Union[A, B]` equal to `Union[B, A]`, but unwrapping takes the first
    member: a memo keyed by equality would answer one with the other's member."""
    import typing

    from provisioner.sdk_seams import remembered_by_identity

    calls: list[Any] = []

    def first_member(annotation: Any) -> Any:
        calls.append(annotation)
        return typing.get_args(annotation)[0]

    first = remembered_by_identity(first_member)
    str_first, int_first = typing.Union[str, int], typing.Union[int, str]  # noqa: UP007
    assert str_first == int_first

    assert (first(str_first), first(int_first), first(str_first)) == (str, int, str)
    assert calls == [str_first, int_first]


def test_the_runners_unknowns_check_answers_as_the_sdks_own() -> None:
    import pulumi.runtime.rpc as sdk_rpc
    from pulumi.output import UNKNOWN

    from provisioner.sdk_seams import flat_contains_unknowns

    cyclic: dict[str, Any] = {"name": "quote-to-order-dlq"}
    cyclic["self"] = [cyclic]
    values = [
        UNKNOWN,
        "arn:aws:sqs:eu-west-1:123456789012:dev-quote-to-order-dlq",
        7,
        None,
        {"tags": {"owner": "revenue-operations"}, "fifo": False},
        {"environment": {"variables": {"QUEUE_URL": UNKNOWN}}},
        [["a", ["b", UNKNOWN]]],
        {UNKNOWN: "a key is not a value"},
        ("a tuple is not traversed", UNKNOWN),
        cyclic,
    ]
    answers = [flat_contains_unknowns(value) for value in values]

    assert answers == [sdk_rpc.contains_unknowns(value) for value in values]
    assert answers.count(True) == 3


def test_an_output_that_fails_after_the_program_body_fails_the_run(tmp_path: Path) -> None:
    """The linear drain still raises what an output raised, as the SDK's own does."""
    program = tmp_path / "failing.py"
    program.write_text(
        "import pulumi\n"
        "def fail(value: int) -> int:\n"
        "    raise RuntimeError(f'output {value} cannot be computed')\n"
        "pulumi.Output.from_input(7).apply(fail)  # read by no resource and no export\n"
    )

    with pytest.raises(RuntimeError, match="output 7 cannot be computed"):
        run_program("dev", program=program, build=False)


def test_the_runners_property_outputs_settle_as_the_sdks_own() -> None:
    """One future per declared property, as `resource_output` does for `urn`: the same
    value, flags, dependencies and failure as the SDK's four futures and task, and the
    same bookkeeping of what the drain still has to wait for (a settled output leaves it,
    a failed or unsettled one stays)."""
    import asyncio

    import pulumi
    import pulumi.runtime.rpc as sdk_rpc
    from pulumi.runtime.settings import SETTINGS

    from provisioner.sdk_seams import one_future_transfer_properties

    class Holder:  # stands in for a resource: the SDK only sets attributes on it
        pass

    other = Holder()
    refusal = "the monitor refused dev-quote-to-order-dlq"
    # (value, known, secret, dependencies, failure) per property, as resolve_outputs passes
    arn = "arn:aws:sqs:eu-west-1:123456789012:dev-quote-to-order-dlq"
    answers: dict[str, tuple[Any, ...]] = {
        "arn": (arn, True, False, None, None),
        "tags": ({"owner": "revenue-operations"}, True, False, {other}, None),
        "policy": (None, False, False, None, None),
        "secretString": ("hunter2", True, True, set(), None),
        "kmsKeyId": (None, False, False, None, refusal),
    }
    props = {name: None for name in [*answers, "unsettled", "urn", "id"]}

    async def settle(transfer: Any) -> tuple[dict[str, Any], set[str]]:
        holder = Holder()
        resolvers = transfer(holder, props, True)
        for name, (*answer, failure) in answers.items():
            resolvers[name](*answer, failure and RuntimeError(failure))
        for _ in range(5):  # let the SDK's task and clean-up callbacks run
            await asyncio.sleep(0)
        tracked = {name for name in resolvers if holder.__dict__[name]._data in SETTINGS.outputs}
        resolvers["unsettled"](None, True, False, None, None)  # leave no task pending
        for _ in range(5):
            await asyncio.sleep(0)
        seen: dict[str, Any] = {"resolvers": sorted(resolvers)}
        for name in answers:
            output: pulumi.Output[Any] = holder.__dict__[name]
            try:
                data = await output._data
            except RuntimeError as err:
                seen[name] = ("failed", str(err))
                continue
            resources: set[object] = set(data.resources)
            deps = {"holder" if r is holder else "other" for r in resources}
            seen[name] = (data.value, data.is_known, data.is_secret, deps)
        return seen, tracked

    loop = asyncio.new_event_loop()
    try:
        ours = loop.run_until_complete(settle(one_future_transfer_properties))
        theirs = loop.run_until_complete(settle(sdk_rpc.transfer_properties))
    finally:
        SETTINGS.outputs.clear()
        loop.close()
        # The SDK's flag futures of the failed property never have their exception read:
        # let their finalisers run here, not inside whatever the interpreter does next.
        gc.collect()

    assert ours == theirs
    seen, tracked = ours
    assert seen["resolvers"] == sorted([*answers, "unsettled"])  # urn and id are the SDK's
    assert seen["tags"][3] == {"holder", "other"} and seen["kmsKeyId"] == ("failed", refusal)
    assert tracked == {"kmsKeyId", "unsettled"}
