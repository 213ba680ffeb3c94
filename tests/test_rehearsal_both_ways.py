"""The rehearsal's both-ways check on a FIFO bidirectional flow.

campaign-sync alone, made `per_record` ordered, so both of its queues are FIFO: the check
sends the same record (one message group) through the way back twice, the concurrent edit
and then the forward write's echo, so each batch must be settled as the Lambda poller
settles it before the next one can be received. One small rehearsal each (dev only).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from provisioner.rehearsal import Progress, rehearse
from provisioner.rehearsal.checks import both_ways
from provisioner.rehearsal.lambda_runner import LambdaRunner

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
NAME = "campaign-sync"


@pytest.fixture(scope="module")
def fifo_roadmap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    doc = yaml.safe_load((ROOT / "roadmap.yaml").read_text())
    [integration] = [i for i in doc["integrations"] if i["name"] == NAME]
    integration["ordering"] = "per_record"
    doc["integrations"] = [integration]
    path = tmp_path_factory.mktemp("fifo-both-ways") / "roadmap.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _rehearse(roadmap: Path, patch: pytest.MonkeyPatch) -> tuple[dict[str, Any], list[int]]:
    """The rehearsal's checks by name, and the size of every batch a consumer was given."""
    batches: list[int] = []
    invoke: Callable[..., Any] = LambdaRunner.invoke

    def counted(runner: LambdaRunner, function: str, event: Any, **kwargs: Any) -> Any:
        if "Records" in event:  # a consumer's batch, not the rotation function's step
            batches.append(len(event["Records"]))
        return invoke(runner, function, event, **kwargs)

    patch.setattr(LambdaRunner, "invoke", counted)
    report = rehearse("dev", roadmap=roadmap, progress=Progress(quiet=True))
    return {c.name: c for c in report.checks}, batches


def test_a_fifo_flow_is_rehearsed_both_ways(fifo_roadmap: Path) -> None:
    with pytest.MonkeyPatch.context() as patch:
        checks, batches = _rehearse(fifo_roadmap, patch)
    assert checks[f"end-to-end:{NAME}"].ok, checks[f"end-to-end:{NAME}"]
    both = checks[f"both-ways:{NAME}"]
    assert both.ok, both
    assert "settled by source_wins" in both.detail and "recognised as its echo" in both.detail
    assert batches and 0 not in batches, batches


def test_a_message_left_in_flight_fails_the_check_without_an_empty_batch(
    fifo_roadmap: Path,
) -> None:
    """A batch never settled (as if the poller kept it) holds its group back: the check
    says so and never hands the consumer an empty batch."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(both_ways, "settle", lambda *args: set())
        checks, batches = _rehearse(fifo_roadmap, patch)
    both = checks[f"both-ways:{NAME}"]
    assert not both.ok
    assert f"the role received nothing from dev-{NAME}-reverse-queue.fifo" in both.detail, both
    assert "(message group rh-" in both.detail and "its consumer was not run" in both.detail
    assert batches and 0 not in batches, batches
