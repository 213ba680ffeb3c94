"""The stack as the reach analysis sees it: its naming world and its inventory of ARNs.

Built once per `AnalyzeStack` from the stack's own resources, never from assumptions:
- the name prefix is the one most physical names of tagged resources start with
  (`{prefix}-{integration}-...`), so a stack `pr-123` of environment `dev` is judged by its
  own names;
- the deploying account and the region are those of the ARNs the stack's resources report
  (`arn` outputs), else of the ARNs the program wrote into its inputs;
- the inventory maps every ARN, id, name and URL of a resource to its integration.

Usage::

    world = StackWorld(view)
    world.reach("arn:aws:sqs:eu-west-1:111111111111:dev-lead-*").others("lead")
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from functools import lru_cache

from contract.ownership import Ownership, Reach, is_pattern

from ._stack import StackView, strings

__all__ = ["StackWorld", "iam_pattern"]

_ARN = re.compile(r"^arn:aws[a-z-]*:([a-z0-9-]+):([a-z0-9-]*):(\d{12})?:")
_WILD = re.compile(r"[*?]")


@lru_cache(maxsize=4096)
def iam_pattern(pattern: str) -> re.Pattern[str]:
    """IAM resource matching: `*` any run of characters, `?` one, case-sensitive."""
    return re.compile(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."))


class StackWorld:
    """Prefix, account, region and inventory of one stack, with IAM reach over them."""

    def __init__(self, view: StackView) -> None:
        self.view = view
        prefixes: Counter[str] = Counter()
        for res in view.resources:
            integ, name = res.tags.get("integration"), res.props.get("name")
            if integ and isinstance(name, str) and "/" not in name:
                at = name.find(f"-{integ}-")
                if at > 0:
                    prefixes[name[:at]] += 1
        self.prefix = prefixes.most_common(1)[0][0] if prefixes else ""
        own_arns = [a for r in view.resources if isinstance(a := r.props.get("arn"), str)]
        accounts, regions = self._tally(own_arns)
        if not accounts:
            accounts, regions = self._tally(
                s for r in view.resources for s in strings(r.props) if s.startswith("arn:")
            )
        self.account = accounts.most_common(1)[0][0] if accounts else None
        self.region = regions.most_common(1)[0][0] if regions else None
        self.ownership = Ownership(self.prefix, view.integrations, self.account, self.region)
        self._owner: dict[str, str | None] = {}
        for res in view.resources:
            for ident in res.ids:
                if ident.startswith("arn:"):
                    self._owner[ident] = res.integration
        self._sorted = sorted(self._owner)
        self.reach = lru_cache(maxsize=None)(self._reach)

    @staticmethod
    def _tally(arns: object) -> tuple[Counter[str], Counter[str]]:
        accounts: Counter[str] = Counter()
        regions: Counter[str] = Counter()
        for arn in arns:  # type: ignore[attr-defined]
            match = _ARN.match(arn)
            if match and match.group(3):
                accounts[match.group(3)] += 1
                if match.group(2):
                    regions[match.group(2)] += 1
        return accounts, regions

    def _reach(self, pattern: str) -> Reach:
        """What an ARN pattern may refer to: the inventory's ARNs it matches and, by the
        naming scheme, every present or future name it could match."""
        if pattern in self._owner:
            owner = self._owner[pattern]
            return Reach(
                frozenset({owner}) if owner else frozenset(),
                "" if owner else f"{pattern}, a resource of no integration",
            )
        if pattern.startswith("arn:aws:lambda:") and pattern.count(":") == 7:
            base = pattern.rsplit(":", 1)[0]
            if base in self._owner and not is_pattern(pattern):
                return self._reach(base)
        naming = self.ownership.arn_reach(pattern)
        if not is_pattern(pattern):
            return naming
        wildcard = _WILD.search(pattern)
        head = pattern[: wildcard.start()] if wildcard else pattern
        regex = iam_pattern(pattern)
        owners: set[str] = set()
        stray = False
        at = bisect.bisect_left(self._sorted, head)
        while at < len(self._sorted) and self._sorted[at].startswith(head):
            arn = self._sorted[at]
            if regex.fullmatch(arn):
                owner = self._owner[arn]
                if owner:
                    owners.add(owner)
                else:
                    stray = True
            at += 1
        found = Reach(frozenset(owners), "resources of no integration" if stray else "")
        return naming | found
