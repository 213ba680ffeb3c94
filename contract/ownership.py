"""Whose is it: the integration a resource name, an ARN, an ARN pattern or a principal is.

Built on `contract.naming` (physical names are `{prefix}-{integration}-{role}`), for a
closed world: a pattern belongs to one integration only when every name it can match is
that integration's, including names of integrations the roadmap does not have yet. So
`prod-lead-*` is not `lead`'s: a future integration `lead-x` would be named
`prod-lead-x-...`. `prod-lead-dlq` and `prod-lead-cred-*` are, because the roadmap refuses
an integration named after `lead` plus one of its role words (`naming.clashing_names`).

Dependency-free: the policy pack, the components, the rehearsal and the report read it.

Usage::

    world = Ownership(prefix="prod", integrations={"lead", "lead-to-account"},
                      account="333333333333", region="eu-west-1")
    world.arn_reach("arn:aws:sqs:eu-west-1:333333333333:prod-lead-*").beyond
    # "names of a future integration 'lead-…'"
    world.principal("arn:aws:iam::333333333333:role/prod-lead-rotation")
    # Principal(integration='lead', job='rotation', ...)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from contract.naming import (
    HASH_LENGTH,
    ROLE_HEADS,
    STAGE_ROLE,
    owner_of_name,
    shortened_lengths,
)

__all__ = ["JOBS", "Ownership", "Principal", "Reach", "is_pattern", "name_of_arn"]

# What a principal is for, by the first word of its role (docs/contracts.md, "IAM
# principals per integration"): the service-account role runs the sync functions, the
# rotation role rotates the integration's credentials, a `cred-*` IAM user is an external
# pusher's.
# `stage-role` is the role a warehouse's storage integration assumes to load the stage.
JOBS: dict[str, str] = {
    "role": "sync",
    "rotation": "rotation",
    "cred": "pusher",
    STAGE_ROLE: "storage-integration",
}

_WILDCARDS = re.compile(r"[*?]")
_SEPARATORS = ":/"
# Characters that end the role's first word inside an ARN's resource part.
_WORD_END = re.compile(r"[-.:/]")
_ACCOUNT = re.compile(r"^\d{12}$")
_HASHED = re.compile(rf"-[0-9a-f]{{{HASH_LENGTH}}}$")


def is_pattern(text: str) -> bool:
    """Whether IAM reads `text` as a pattern (`*` any run of characters, `?` one)."""
    return _WILDCARDS.search(text) is not None


@dataclass(frozen=True)
class Reach:
    """What a name, ARN or pattern may refer to.

    `owners` are the roadmap's integrations whose resources it may match; `beyond` says in
    words what else it may match (empty when nothing else): a future integration's names,
    another account's or region's resources, names outside this stack.
    """

    owners: frozenset[str] = frozenset()
    beyond: str = ""

    def only(self, integration: str) -> bool:
        """True when it can match `integration`'s resources and nothing else."""
        return not self.beyond and self.owners <= {integration}

    def others(self, integration: str) -> list[str]:
        """Everything it may reach that is not `integration`'s, for a message."""
        found = [f"{o}'s resources" for o in sorted(self.owners - {integration})]
        return found + ([self.beyond] if self.beyond else [])

    def __or__(self, other: Reach) -> Reach:
        beyond = "; ".join(b for b in dict.fromkeys((self.beyond, other.beyond)) if b)
        return Reach(self.owners | other.owners, beyond)


@dataclass(frozen=True)
class Principal:
    """An IAM principal ARN as this stack sees it."""

    arn: str
    kind: str  # "role", "user", "group", "root", "anyone", "other"
    account: str | None
    integration: str | None = None
    job: str | None = None  # JOBS value, for the stack's own roles and users


def name_of_arn(arn: str) -> str:
    """The last path element of an ARN's resource part (`role/x` -> `x`, `x` -> `x`)."""
    resource = arn.split(":", 5)[-1]
    return re.split(rf"[{_SEPARATORS}]", resource)[-1]


@dataclass(frozen=True)
class Ownership:
    """One stack's naming world: its name prefix, the roadmap's integrations, its account.

    `account` and `region` are the deploying account and the stack's region; None when not
    known (then any account or region in an ARN is reported as unproven).
    """

    prefix: str
    integrations: frozenset[str] = field(default_factory=frozenset)
    account: str | None = None
    region: str | None = None

    def __init__(
        self,
        prefix: str,
        integrations: Iterable[str] = (),
        account: str | None = None,
        region: str | None = None,
    ) -> None:
        object.__setattr__(self, "prefix", prefix)
        object.__setattr__(self, "integrations", frozenset(integrations))
        object.__setattr__(self, "account", account)
        object.__setattr__(self, "region", region)

    # ------------------------------------------------------------------ names

    def owner_of_name(self, name: str) -> str | None:
        """The integration whose physical name `name` is (longest integration wins)."""
        return owner_of_name(name, self.prefix, self.integrations)

    def role_of_name(self, name: str) -> str | None:
        """The `{role}` part of one of this stack's physical names, or None."""
        owner = self.owner_of_name(name)
        return name[len(self.prefix) + len(owner) + 2 :] if owner else None

    def job_of_name(self, name: str) -> str | None:
        """`sync`, `rotation` or `pusher` for an integration's principal name (JOBS)."""
        role = self.role_of_name(name)
        if role is None:
            return None
        head = role.split("-", 1)[0]
        # `rotation` alone is the rotation role; `rotation-...` children are not principals.
        if head == "rotation" and role != "rotation":
            return None
        # `stage-{account}` is the stage bucket; only `stage-role` is a principal.
        if head == STAGE_ROLE and role != f"{STAGE_ROLE}-role":
            return None
        return JOBS.get(head)

    def name_reach(self, pattern: str) -> Reach:
        """Which integrations' present or future names `pattern` (IAM wildcards) may match.

        `pattern` may go on past the name (`prod-x-consumer:*` of a log-stream ARN): the
        name's role word must end before the first wildcard for the pattern to stay inside
        one integration, because any other word may start a future integration's name.
        """
        wildcard = _WILDCARDS.search(pattern)
        head = pattern[: wildcard.start()] if wildcard else pattern
        stack_head = f"{self.prefix}-"
        everyone = frozenset(self.integrations)
        if not head.startswith(stack_head):
            if wildcard and stack_head.startswith(head):
                return Reach(everyone, "every name of this and other stacks, present or future")
            return Reach(frozenset(), f"{pattern!r}, a name outside this stack's names")
        rest = head[len(stack_head) :]
        if not wildcard:
            owner = self.owner_of_name(pattern)
            if owner is None:
                return Reach(frozenset(), f"{pattern!r}, no integration's name in this stack")
            if self._role_word_ends(pattern, owner) or self._hash_shortened(pattern, owner):
                return Reach(frozenset({owner}))
            word = _WORD_END.split(pattern[len(stack_head) + len(owner) + 1 :], 1)[0]
            return Reach(frozenset({owner}), f"names of a future integration '{owner}-{word}'")
        # The pattern matches every name that starts with `head`: integrations whose names
        # start with it, and (unless a complete role word pins the owner) future ones.
        reached = {i for i in self.integrations if f"{i}-".startswith(rest)}
        owner = owner_of_name(head, self.prefix, self.integrations)
        if owner is not None:
            reached.add(owner)
            if self._role_word_ends(head, owner) or self._shortened_name_ends(head, owner):
                return Reach(frozenset(reached))
            word = rest[len(owner) + 1 :]
            return Reach(frozenset(reached), f"names of a future integration '{owner}-{word}…'")
        if not rest:
            return Reach(frozenset(reached), "every integration's names, present or future")
        return Reach(frozenset(reached), f"names of a future integration '{rest}…'")

    def _role_word_ends(self, text: str, owner: str) -> bool:
        """After `{prefix}-{owner}-`, a whole role word (ROLE_HEADS) ends before the text does."""
        after = text[len(self.prefix) + len(owner) + 2 :]
        end = _WORD_END.search(after)
        word = after[: end.start()] if end else after
        complete = end is not None or (not is_pattern(text) and len(after) == len(word))
        return complete and word in ROLE_HEADS

    def _shortened_name_ends(self, head: str, owner: str) -> bool:
        """`head` holds a whole hash-shortened name, then a separator (`{name}:*` of a log
        group's streams): what follows is inside that one name's resource."""
        return self._hash_shortened(head, owner) and bool(re.search(rf"[{_SEPARATORS}]", head))

    def _hash_shortened(self, name: str, owner: str) -> bool:
        """A name shortened by `naming.physical_name`: its role word may have been cut."""
        base = re.split(rf"[{_SEPARATORS}]", name, maxsplit=1)[0]
        return len(base) in shortened_lengths() and _HASHED.search(base) is not None

    # ------------------------------------------------------------------ ARNs

    def arn_reach(self, arn: str) -> Reach:
        """What an ARN or ARN pattern may refer to, by the naming scheme alone.

        Resources whose ARNs carry no name (KMS keys by id) are matched against the stack's
        inventory by the caller; here such an ARN is "outside this stack's names".
        """
        if arn == "*":
            return Reach(frozenset(self.integrations), "every resource of every account")
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            return Reach(frozenset(), f"{arn!r}, which is not an ARN")
        _, partition, service, region, account, resource = parts
        beyond: list[str] = []
        if is_pattern(partition) or is_pattern(service):
            beyond.append("resources of any AWS service")
        if is_pattern(account) or (account and self.account and account != self.account):
            beyond.append(f"resources of account {account!r}, not this stack's")
        elif account and not self.account:
            beyond.append(f"resources of account {account!r}, which is not proven this stack's")
        if is_pattern(region) or (region and self.region and region != self.region):
            beyond.append(f"resources in region {region!r}, not this stack's")
        reach = self._resource_reach(resource)
        if beyond:
            reach = reach | Reach(frozenset(), "; ".join(beyond))
        return reach

    def _resource_reach(self, resource: str) -> Reach:
        wildcard = _WILDCARDS.search(resource)
        stop = wildcard.start() if wildcard else len(resource)
        stack_head = f"{self.prefix}-"
        starts = [0] + [i + 1 for i, c in enumerate(resource) if c in _SEPARATORS]
        for start in starts:
            if (
                start <= stop
                and resource.startswith(stack_head[: stop - start], start)
                and (start + len(stack_head) <= stop or wildcard is not None)
            ):
                return self.name_reach(resource[start:])
        if wildcard is not None:
            return Reach(
                frozenset(self.integrations),
                f"every resource matching {resource!r}, present or future",
            )
        return Reach(frozenset(), f"{resource!r}, which is not one of this stack's names")

    # ------------------------------------------------------------------ principals

    def principal(self, text: str) -> Principal:
        """Classify a principal (`AWS` value of a policy, or an `aws:PrincipalArn` value)."""
        if text == "*":
            return Principal(text, "anyone", None)
        if _ACCOUNT.match(text):
            return Principal(text, "root", text)
        parts = text.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn" or parts[2] not in ("iam", "sts"):
            return Principal(text, "other", None)
        account, resource = parts[4], parts[5]
        if resource == "root":
            return Principal(text, "root", account)
        kind = resource.split("/", 1)[0]
        if kind == "assumed-role":
            kind = "role"
            name = resource.split("/")[1] if resource.count("/") >= 1 else ""
        else:
            name = name_of_arn(text)
        if kind not in ("role", "user", "group"):
            return Principal(text, "other", account)
        if is_pattern(text) or (self.account and account != self.account):
            return Principal(text, kind, account)
        reach = self.name_reach(name)
        owner = next(iter(reach.owners)) if len(reach.owners) == 1 and not reach.beyond else None
        job = self.job_of_name(name) if owner else None
        return Principal(text, kind, account, owner, job)
