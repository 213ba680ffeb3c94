"""What a stack's functions take from the account's Lambda concurrency, from the roadmap.

A signed-webhook ingress has a public function URL (authorization NONE: vendors cannot sign
AWS requests, the handler checks their signature). Every request starts an invocation, a
refused one too, so a flood at that URL could take the account's whole concurrency and
throttle every other function. The ingress therefore reserves its own share, which is also
its ceiling (Lambda developer guide, "Configuring reserved concurrency for a function":
https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html):

* concurrency is requests per second times seconds per request (Lambda developer guide,
  "Understanding Lambda function scaling"): the integration's whole day of records
  delivered within ``INGRESS_BURST_SECONDS``, each delivery taking up to the ingress's
  timeout, and never fewer than ``INGRESS_MIN_RESERVED``;
* AWS refuses a reservation that leaves the account fewer than ``MIN_UNRESERVED`` unreserved
  executions, so ``validate`` checks a stack's total against its ``lambdaConcurrencyLimit``
  when the stack sets one (``roadmap.settings.stack_problems``).

One module, read by the components (the function's ``reserved_concurrent_executions``),
``validate`` and the tests.

Usage::

    hook = ingress_webhook(integ, "dev")              # Webhook, or None: no ingress here
    ingress_reserved_concurrency(integ)               # 5
    reserved_concurrency(roadmap, "dev")              # {"refund-capture": 5}
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from contract.phases import INGRESS_PHASE

if TYPE_CHECKING:
    from roadmap.integrations import Integration, Webhook
    from roadmap.model import Roadmap

__all__ = [
    "INGRESS_BURST_SECONDS",
    "INGRESS_MIN_RESERVED",
    "INGRESS_TIMEOUT_SECONDS",
    "MIN_UNRESERVED",
    "ingress_reserved_concurrency",
    "ingress_webhook",
    "reserved_concurrency",
]

# The ingress verifies, records and enqueues one delivery: seconds. Vendors give up and
# retry after a few (Shopify 5 s, GitHub 10 s: their webhook documentation).
INGRESS_TIMEOUT_SECONDS = 5
# A vendor may send a whole day's deliveries within an hour: a bulk edit or an import in
# its admin, or the backlog it replays after its own outage.
INGRESS_BURST_SECONDS = 3_600
# A few deliveries at once however small the volume: vendors send a change's related
# events together and retry refused ones in batches.
INGRESS_MIN_RESERVED = 5
# "You can reserve up to the Unreserved account concurrency value that is shown, minus 100
# for functions that don't have reserved concurrency" (Lambda developer guide, "Configuring
# reserved concurrency for a function":
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html); a larger
# reservation fails with InvalidParameterValueException at `pulumi up`.
MIN_UNRESERVED = 100


def ingress_webhook(integ: Integration, environment: str) -> Webhook | None:
    """The webhook `integ` takes in `environment`: a queued flow's, from phase 3; else None."""
    if integ.webhook is None or not integ.pattern.queued:
        return None
    return integ.webhook if integ.phase(environment) >= INGRESS_PHASE else None


def ingress_reserved_concurrency(integ: Integration) -> int:
    """The reserved concurrency of `integ`'s ingress: its burst rate times its timeout."""
    per_second = integ.service_levels.expected_records_per_day / INGRESS_BURST_SECONDS
    return max(INGRESS_MIN_RESERVED, math.ceil(per_second * INGRESS_TIMEOUT_SECONDS))


def reserved_concurrency(roadmap: Roadmap, environment: str) -> dict[str, int]:
    """Integration -> the concurrency its functions reserve in `environment` (only ingresses)."""
    return {
        integ.name: ingress_reserved_concurrency(integ)
        for integ in roadmap.active(environment)
        if ingress_webhook(integ, environment) is not None
    }
