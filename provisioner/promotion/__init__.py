"""Promotion: raise an integration's phase in one environment once its exit criteria hold.

A promotion of integration I in environment E from phase p to q (q > p) is allowed when

* order: q does not exceed I's phase in the environment below E (dev has none below, so
  only phase 5 limits it);
* evidence: for every phase being left (p .. q-1), each item `REQUIREMENTS` lists is
  recorded in the roadmap (`integrations[n].evidence.<phase>.<item>`);
* automated criteria: each `AutomatedCheck` passes. The defaults are
  `policy_pack_passes` (the policy pack over the plan of E at phase q) and
  `rehearsal_passes` (the rehearsal's checks for I in the environment below). A check that
  cannot run fails with the reason; it never passes silently.

Only when every criterion passes is the roadmap rewritten, changing that one value and
nothing else, atomically (a temporary file in the same directory, then `os.replace`), and
only if the edited roadmap still validates.

The package by concern: `model` (the step, criteria, outcome; planning a step),
`criteria` (order, evidence, running the automated checks, `pending`), `checks` (the
automated checks themselves), `editing` (the one-value YAML edit and its diff), `files`
(reading, temporary copies, the atomic replace) and `apply` (`promote`). Tests pass their
own checks::

    outcome = promote(Path("roadmap.yaml"), "quote-to-order", "prod", checks=[my_fake])
    print(outcome.diff if outcome.promoted else outcome.assessment.failed)
"""

from provisioner.promotion.apply import promote
from provisioner.promotion.checks import AUTOMATED_CHECKS, policy_pack_passes, rehearsal_passes
from provisioner.promotion.criteria import Pending, assess, pending
from provisioner.promotion.editing import edit_phase
from provisioner.promotion.files import load_from_text, read_text, write_atomically
from provisioner.promotion.model import (
    LAST_PHASE,
    Assessment,
    AutomatedCheck,
    Criterion,
    Outcome,
    Proposal,
    Step,
    below,
    plan_step,
)

__all__ = [
    "AUTOMATED_CHECKS",
    "LAST_PHASE",
    "Assessment",
    "AutomatedCheck",
    "Criterion",
    "Outcome",
    "Pending",
    "Proposal",
    "Step",
    "assess",
    "below",
    "edit_phase",
    "load_from_text",
    "pending",
    "plan_step",
    "policy_pack_passes",
    "promote",
    "read_text",
    "rehearsal_passes",
    "write_atomically",
]
