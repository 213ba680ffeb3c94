"""The moto seams that only save time answer exactly what moto's own code answers."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from moto.core import responses
from moto.sqs.responses import SQSResponse

from provisioner.rehearsal.moto_seams import install


def test_action_names_are_listed_once_per_response_class_and_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    install()
    names = responses.method_names_from_class  # type: ignore[attr-defined]
    expected = sorted(n for n, _ in inspect.getmembers(SQSResponse, inspect.isfunction))
    first = names(SQSResponse)
    assert sorted(first) == expected and "receive_message" in first
    listed: list[Any] = []
    real = inspect.getmembers

    def getmembers(*args: Any, **kwargs: Any) -> Any:
        listed.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(inspect, "getmembers", getmembers)
    again = names(SQSResponse)
    assert again == first and not listed  # answered from the first listing
    again.append("not_an_action")  # a caller's copy: the next answer is unchanged
    assert "not_an_action" not in names(SQSResponse)
