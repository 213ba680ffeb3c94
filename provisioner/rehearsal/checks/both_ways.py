"""A bidirectional flow rehearsed both ways: one conflict settled by its rule, one echo dropped.

Runs after the end-to-end records (one each way), in the same vendor fakes, through the
deployed consumers of both directions as Lambda runs them (``lambda_runner``):

1. the source changes a record; the forward consumer writes it into the target;
2. the target had changed a contested field of that record *before* the forward write
   arrived (a concurrent edit): the reverse consumer settles it by the declared strategy,
   and with `source_wins` (or a `last_writer_wins` the earlier edit loses, or
   `manual_review`) nothing reaches the source, with `ConflictsResolved` counted (or the
   change parked, `ConflictsParked`);
3. the target's change event for the forward write itself comes back: the reverse consumer
   recognises the values it wrote and sends nothing back (`EchoesSuppressed`).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from contract import environment as var
from contract.aws_types import LAMBDA_FUNCTION, SQS_QUEUE
from contract.connectors import side_connector
from contract.phases import REVERSE
from provisioner.rehearsal.checks.poller import Poller, batch_event, received, send, settle
from provisioner.rehearsal.checks.records import envelope
from provisioner.rehearsal.lambda_runner import FunctionError, deployed_environment
from provisioner.rehearsal.result import Check

if TYPE_CHECKING:
    from provisioner.rehearsal.lambda_runner import LambdaRunner
    from provisioner.rehearsal.runner import Deployment

__all__ = ["conflict_and_echo"]

# The target's concurrent edit happened this long before the forward write was applied.
CONCURRENT_SECONDS = 30


def _metric(output: str, name: str) -> float:
    """The sum of `name` over the EMF documents the consumer printed."""
    total = 0.0
    for line in output.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if not (isinstance(doc, dict) and "_aws" in doc and name in doc):
            continue
        values = doc[name] if isinstance(doc[name], list) else [doc[name]]  # EMF: one or many
        total += sum(float(v) for v in values if isinstance(v, int | float))
    return total


def conflict_and_echo(
    name: str, integration: Any, deployment: Deployment, vendors: Any, lambdas: LambdaRunner
) -> Check:
    d = deployment.inventory[integration.name]
    role = d.role
    if role is None:
        return Check(name, False, "no role deployed")
    poller = Poller.of(deployment, role, f"rehearsal-{integration.name}")
    admin = deployment.aws.admin("sqs")

    def deliver(prefix: str, body: dict[str, Any]) -> tuple[str, Any]:
        """Send `body` to a direction's queue, run its deployed consumer on it."""
        queue, consumer = (
            d.named(f"{prefix}queue", SQS_QUEUE),
            d.named(f"{prefix}consumer", LAMBDA_FUNCTION),
        )
        if queue is None or consumer is None:
            raise LookupError(f"no {prefix}queue or {prefix}consumer deployed")
        env = deployed_environment(deployment, consumer)
        fake = vendors.fakes[side_connector(env.get(var.TARGET_CONNECTOR))]
        marker = str(body.get("event_id") or body.get("id"))
        send(admin, queue.id, json.dumps(body), group=key, dedup=marker)
        messages = received(poller, queue.id, marker)
        if not messages:
            # The Lambda poller never invokes a consumer with an empty batch.
            group = f" (message group {key})" if queue.id.endswith(".fifo") else ""
            raise LookupError(
                f"the role received nothing from {queue.outputs['name']} after {marker} was "
                f"sent to it{group}, so its consumer was not run"
            )
        event = batch_event(messages, queue.outputs["arn"], deployment.aws.region)
        invocation = lambdas.invoke(
            consumer.outputs["name"], event, environment={var.TARGET_BASE_URL: fake.base_url}
        )
        settle(poller, queue.id, messages, invocation)
        invocation.response()  # a failed consumer fails the check with its error
        return invocation.logs, fake

    forward_env = deployed_environment(deployment, d.named("consumer", LAMBDA_FUNCTION))
    [(slug, forward)] = list(json.loads(forward_env[var.FIELD_MAPPING]).items())[:1]
    reverse = json.loads(
        deployed_environment(deployment, d.named(f"{REVERSE}-consumer", LAMBDA_FUNCTION))[
            var.FIELD_MAPPING
        ]
    )[slug]
    key = f"rh-{uuid.uuid4().hex[:10]}"
    key_field = next(s for s, t in forward["fields"].items() if t == forward["external_id"])
    written = {s: f"rehearsal {s}" for s in forward["fields"] if s != key_field}
    try:
        # 1. The source changes the record; the forward consumer writes it into the target.
        changed_at = time.time()
        body = envelope(
            integration.source,
            forward["source_object"],
            {key_field: key, **written},
            key,
            str(uuid.uuid4()),
            at=changed_at,
        )
        deliver("", body)
        # As the target stores it: the mapped values under the target's field names.
        echoed = {forward["fields"][s]: v for s, v in written.items()}
        contested = sorted(echoed)[:1]
        # 2. The target's own edit of a contested field, made before the forward write arrived.
        edit = {forward["external_id"]: key, **{f: f"edited {f}" for f in contested}}
        body = envelope(
            integration.target,
            reverse["source_object"],
            edit,
            key,
            str(uuid.uuid4()),
            at=changed_at - CONCURRENT_SECONDS,
            author="0055e0000042hUmAN",
        )
        conflict_output, fake = deliver(f"{REVERSE}-", body)
        # 3. The target's change event for the forward write itself.
        body = envelope(
            integration.target,
            reverse["source_object"],
            {forward["external_id"]: key, **echoed},
            key,
            str(uuid.uuid4()),
        )
        echo_output, _ = deliver(f"{REVERSE}-", body)
    except (LookupError, FunctionError) as err:  # nothing received, a direction not deployed,
        # or a consumer that failed
        return Check(name, False, str(err))

    problems = []
    back = fake.stored(reverse["target_object"]).get(key)
    settled = _metric(conflict_output, "ConflictsResolved") + _metric(
        conflict_output, "ConflictsParked"
    )
    strategy = integration.conflict_rule.strategy.value if integration.conflict_rule else "?"
    if back is not None:
        problems.append(f"the source received {back} for {key}; the rule and echo check let it")
    if not settled:
        problems.append(
            f"the concurrent edit of {contested} was not settled by {strategy}: "
            f"{conflict_output[-400:]}"
        )
    if not _metric(echo_output, "EchoesSuppressed"):
        problems.append(
            f"the forward write's own change event was not suppressed: {echo_output[-400:]}"
        )
    return Check.judged(
        name,
        problems,
        f"{integration.target}'s edit of {contested} made before {integration.source}'s change "
        f"arrived was settled by {strategy} and not written back; {integration.target}'s change "
        "event for the forward write was recognised as its echo and not sent back",
    )
