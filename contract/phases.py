"""What each rollout phase requires of an integration's monitoring, and of which direction.

One table, many readers: the components create these alarms, the policy pack requires
them (`phase-requirements`) and knows their kinds (`required-tags`), the rehearsal reads
each one back from the emulator, and the tests parametrize from here.

| phase | alarm kinds added (README, phase table) |
|---|---|
| 3 | `dlq-depth`, `oldest-message-age`, `errors`, `throttles`, `rotation-failure` |
| 4 | `reconciliation-gap`, `stale-sync` |
| 5 | `latency-p99`, `api-budget` |

A bidirectional flow runs one queue, DLQ and consumer per direction: the kinds that watch
one of those (`DIRECTION_ALARMS`) are required once more for the reverse direction, under
the role `alarm-reverse-{kind}`. A flow whose conflict strategy parks contested changes for
a person has a review queue, watched from phase 3 by `REVIEW_ALARM`. Each credential
rotated by hand (rotation mode `manual`) gets a `SECRET_AGE_ALARM` from phase 3, role
`alarm-secret-age-{credential}`: its `CredentialAgeDays` (`contract.metrics`, what the
functions holding it report) above its `rotation_days` means the manual rotation is
overdue. A flow fed by a signed webhook has its ingress function watched too
(`INGRESS_ALARMS`, role `alarm-webhook-{kind}`): a vendor whose deliveries keep failing
gives up on them.

Usage::

    required_alarms(5, reverse=True)
    # [Alarm("dlq-depth", "alarm-dlq-depth"), Alarm("dlq-depth", "alarm-reverse-dlq-depth",
    #  "reverse"), ...]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from contract.naming import WEBHOOK_INGRESS_ROLE

__all__ = [
    "ALARMS_BY_PHASE",
    "ALARM_KINDS",
    "DIRECTION_ALARMS",
    "ENVIRONMENTS",
    "INGRESS_ALARMS",
    "INGRESS_PHASE",
    "REVERSE",
    "REVIEW_ALARM",
    "SECRET_AGE_ALARM",
    "STAGE_PHASE",
    "Alarm",
    "first_phase",
    "required_alarms",
    "secret_age_role",
]

ENVIRONMENTS: tuple[str, ...] = ("dev", "staging", "prod")
"""Environments from lowest to highest; an integration's phase never rises along this order."""

ALARMS_BY_PHASE: dict[int, tuple[str, ...]] = {
    3: ("dlq-depth", "oldest-message-age", "errors", "throttles", "rotation-failure"),
    4: ("reconciliation-gap", "stale-sync"),
    5: ("latency-p99", "api-budget"),
}
# A contested change parked for a person (conflict strategy manual_review) waits in the
# review queue; its depth pages like a DLQ's, from the phase the flow first syncs.
REVIEW_ALARM = "review-depth"
REVIEW_PHASE = 3
# A credential a person rotates (rotation mode manual) pages once it is older than its
# rotation_days: the reminder no rotation function can give.
SECRET_AGE_ALARM = "secret-age"
SECRET_AGE_PHASE = 3
# A warehouse pipeline stages its records as files in its own S3 bucket from the phase its
# flow first runs (components/stage.py).
STAGE_PHASE = 3
# A queued flow with a signed webhook takes its vendor's deliveries through an ingress
# function behind a public URL from the phase the flow first syncs (roadmap.concurrency).
INGRESS_PHASE = 3
# The kinds that watch one direction's own queue, DLQ or consumer function.
DIRECTION_ALARMS: frozenset[str] = frozenset(
    {"dlq-depth", "oldest-message-age", "errors", "throttles", "latency-p99"}
)
# The role word of a bidirectional flow's second direction: `reverse-queue`,
# `reverse-dlq`, `reverse-consumer`, `alarm-reverse-{kind}` (contract.naming ROLE_HEADS).
REVERSE = "reverse"
# The kinds that watch a signed-webhook ingress function (contract.naming
# WEBHOOK_INGRESS_ROLE): Stripe, Shopify and GitHub retry failed deliveries for hours or
# days, then stop, so a failing or throttled ingress must page before they do.
INGRESS_ALARMS: frozenset[str] = frozenset({"errors", "throttles"})

ALARM_KINDS: tuple[str, ...] = (
    *(kind for kinds in ALARMS_BY_PHASE.values() for kind in kinds),
    REVIEW_ALARM,
    SECRET_AGE_ALARM,
)


@dataclass(frozen=True)
class Alarm:
    """One required alarm: its kind (the `alarm` tag), its role (`alarm-...` name part), and
    what it watches: the direction whose queue, DLQ or function (`""` the forward one,
    `REVERSE` the way back, `WEBHOOK_INGRESS_ROLE` the ingress), or the credential whose
    secret a `SECRET_AGE_ALARM` watches."""

    kind: str
    role: str
    direction: str = ""
    credential: str = ""


def first_phase(kind: str) -> int:
    """The phase from which an alarm kind is required."""
    if kind == REVIEW_ALARM:
        return REVIEW_PHASE
    if kind == SECRET_AGE_ALARM:
        return SECRET_AGE_PHASE
    return next(phase for phase, kinds in ALARMS_BY_PHASE.items() if kind in kinds)


def required_alarms(
    phase: int,
    *,
    reverse: bool = False,
    review: bool = False,
    ingress: bool = False,
    manual_credentials: Sequence[str] = (),
) -> list[Alarm]:
    """Every alarm an integration at `phase` needs: the reverse direction's, the review
    queue's and the webhook ingress's too where it has them, and one secret-age alarm per
    credential rotated by hand (``manual_credentials``)."""
    alarms: list[Alarm] = []
    for first, kinds in ALARMS_BY_PHASE.items():
        if phase < first:
            continue
        for kind in kinds:
            alarms.append(Alarm(kind, f"alarm-{kind}"))
            if reverse and kind in DIRECTION_ALARMS:
                alarms.append(Alarm(kind, f"alarm-{REVERSE}-{kind}", REVERSE))
            if ingress and kind in INGRESS_ALARMS:
                ingress_role = f"alarm-{WEBHOOK_INGRESS_ROLE}-{kind}"
                alarms.append(Alarm(kind, ingress_role, WEBHOOK_INGRESS_ROLE))
    if review and phase >= REVIEW_PHASE:
        alarms.append(Alarm(REVIEW_ALARM, f"alarm-{REVIEW_ALARM}"))
    if phase >= SECRET_AGE_PHASE:
        alarms += [
            Alarm(SECRET_AGE_ALARM, secret_age_role(c), credential=c) for c in manual_credentials
        ]
    return alarms


def secret_age_role(credential: str) -> str:
    """The role of the secret-age alarm of one credential (``alarm-secret-age-{name}``)."""
    return f"alarm-{SECRET_AGE_ALARM}-{credential}"
