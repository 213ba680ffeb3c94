"""Records end to end: from each queued integration's queue through its deployed consumer to
the fake of its target's vendor, and each scheduled one's batch job.

Per integration at phase >= 3 (``end_to_end``): a realistic record (``checks.records``)
is sent to the queue, received with the integration role's STS credentials as the Lambda
poller does, judged on that queue as the role's (``checks.poller``), and handed to the
deployed consumer (``provisioner.rehearsal.lambda_runner``, in a process of its own as
Lambda runs it) with the URL of the fake of its target's vendor
(``provisioner/rehearsal/vendors``), so the record travels through the connector the
roadmap chose (``TARGET_CONNECTOR``) speaking that vendor's API; it must be stored there
with the mapped fields, and the message be deleted. A bidirectional flow is run back the
same way and then both ways at once (``checks.both_ways``), a webhook-fed one through its
signed ingress (``checks.webhooks``), and a scheduled one through its batch job
(``checks.scheduled``).
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from contract import environment as var
from contract.aws_types import LAMBDA_FUNCTION, SQS_QUEUE
from contract.connectors import CONNECTORS, side_connector
from contract.dead_letters import FAILURE_DETAIL, FAILURE_REASON
from contract.phases import REVERSE
from provisioner.rehearsal.checks.both_ways import conflict_and_echo
from provisioner.rehearsal.checks.poller import (
    Poller,
    batch_event,
    drain_for,
    received,
    send,
    settle,
)
from provisioner.rehearsal.checks.records import Sample, deployed_mapping, enrol, envelope, sample
from provisioner.rehearsal.checks.scheduled import one_run
from provisioner.rehearsal.checks.webhooks import signed_ingress
from provisioner.rehearsal.lambda_runner import LambdaRunner, deployed_environment
from provisioner.rehearsal.result import Check
from provisioner.rehearsal.vendors import FAKES, VendorServer

if TYPE_CHECKING:
    from provisioner.rehearsal.inventory import Deployed
    from provisioner.rehearsal.runner import Deployment

__all__ = ["end_to_end"]

# Records the end-to-end check sends per queued integration, in one batch.
RECORDS_PER_CHECK = 3
# Integrations whose records travel at once (rehearsal.checks.rotation says why two).
SIDE_BY_SIDE = 2


def end_to_end(deployment: Deployment) -> list[Check]:
    """Per integration at phase >= 3: records from its source to the target's fake.

    Two integrations travel at a time (``SIDE_BY_SIDE``): while one waits on its consumer's
    worker process, this process serves the emulator and the fakes for the other. Each
    holds the fakes its functions speak to (``_fakes_spoken_to``) alone, since a check
    reads what its fake stored and how many calls that took; the checks come back in the
    roadmap's order.
    """
    env = deployment.settings.environment
    queued = [i for i in deployment.roadmap.active(env) if i.phase(env) >= 3]
    vendors = VendorServer(*(fake() for fake in FAKES.values()))
    held = {name: threading.Lock() for name in vendors.fakes}
    with vendors, LambdaRunner(deployment.aws) as lambdas:

        def checked(integration: Any) -> list[Check]:
            name = f"end-to-end:{integration.name}"
            d = deployment.inventory[integration.name]
            with contextlib.ExitStack() as holding:
                for fake in _fakes_spoken_to(d):  # in one order, so no two wait on each other
                    holding.enter_context(held.get(fake, contextlib.nullcontext()))
                try:
                    return _flows(name, integration, deployment, vendors, lambdas)
                except Exception as err:  # one integration must not hide the others
                    return [Check(name, False, f"{type(err).__name__}: {err}")]

        pool = ThreadPoolExecutor(SIDE_BY_SIDE, thread_name_prefix="end-to-end")
        try:
            return [check for checks in pool.map(checked, queued) for check in checks]
        finally:  # on Ctrl-C, what has not started never does
            pool.shutdown(cancel_futures=True)


def _fakes_spoken_to(d: Deployed) -> list[str]:
    """The connectors (one fake each) the integration's sync functions are deployed to
    speak: each side of each function whose environment names its connectors."""
    sides = (var.SOURCE_CONNECTOR, var.TARGET_CONNECTOR)
    spoken = set()
    for function in d.resources:
        if function.type != LAMBDA_FUNCTION:
            continue
        variables = (function.outputs.get("environment") or {}).get("variables") or {}
        if any(side in variables for side in sides):
            spoken |= {side_connector(variables.get(side)) for side in sides}
    return sorted(spoken)


def _flows(
    name: str, integration: Any, deployment: Deployment, vendors: Any, lambdas: LambdaRunner
) -> list[Check]:
    """The checks of one integration's flows: each direction, its ingress, both ways at once."""
    run = (integration, deployment, vendors, lambdas)
    if integration.pattern.scheduled:
        return [one_run(name, *run)]
    checks = [_one_record(name, *run)]
    if integration.webhook is not None:  # and pushed by signed webhook
        checks.append(signed_ingress(f"webhook:{integration.name}", *run))
    if len(integration.flows(deployment.settings.environment)) > 1:  # and back, on its own queue
        checks.append(_one_record(f"{name}:{REVERSE}", *run, REVERSE))
        checks.append(conflict_and_echo(f"both-ways:{integration.name}", *run))
    return checks


def _one_record(
    name: str,
    integration: Any,
    deployment: Deployment,
    vendors: Any,
    lambdas: LambdaRunner,
    direction: str = "",
) -> Check:
    """One record through one direction: the forward one, or (`reverse`) the way back of a
    bidirectional flow, from the integration's target into its source."""
    d = deployment.inventory[integration.name]
    prefix = f"{direction}-" if direction else ""
    queue, role = d.named(f"{prefix}queue", SQS_QUEUE), d.role
    consumer = d.named(f"{prefix}consumer", LAMBDA_FUNCTION)
    source = integration.target if direction else integration.source
    if queue is None or role is None or consumer is None:
        missing = [
            n for n, r in (("queue", queue), ("role", role), ("consumer", consumer)) if not r
        ]
        return Check(name, False, f"no {', '.join(missing)} deployed for a queued integration")
    function_env = deployed_environment(deployment, consumer)
    mapping = deployed_mapping(
        function_env, "consumer", integration.objects, "dead-letter every record as schema_mismatch"
    )
    slug, spec = next(iter(mapping.items()))
    # Every name comes from the deployed mapping: what the source calls the object, and what
    # the target's API calls it (the slug for both unless the roadmap gives api names).
    source_object = spec.get("source_object", slug)
    obj = spec.get("target_object", slug)
    connector = side_connector(function_env.get(var.TARGET_CONNECTOR))
    fake = vendors.fakes.get(connector)
    if fake is None:
        return Check(name, False, f"no fake of the {connector} API to sync through")
    marker = str(uuid.uuid4())
    # Several records in one batch, so a target with a collection endpoint must take them in
    # one call; the first one's fields are checked in full.
    first = len(fake.calls) * RECORDS_PER_CHECK + 1
    records = [sample(spec, n) for n in range(first, first + RECORDS_PER_CHECK)]
    record_id, _, expected, external_id = records[0]
    credential = enrol(deployment, function_env.get(var.TARGET_CREDENTIAL_SECRET_ARN, ""), fake)

    admin = deployment.aws.admin("sqs")
    for n, record in enumerate(records):
        tag = f"{marker}-{n}"
        body = envelope(source, source_object, record.fields, record.record_id, tag)
        send(admin, queue.id, json.dumps(body), group=record.record_id, dedup=tag)

    poller = Poller.of(deployment, role, f"rehearsal-{integration.name}")
    messages = received(poller, queue.id, marker, want=RECORDS_PER_CHECK)
    if len(messages) < RECORDS_PER_CHECK:
        return Check(
            name,
            False,
            f"the role received {len(messages)} of the {RECORDS_PER_CHECK} records sent to "
            f"{queue.id}",
        )
    writes_before = len(fake.write_requests)
    event = batch_event(messages, queue.outputs["arn"], deployment.aws.region)
    invocation = lambdas.invoke(
        consumer.outputs["name"], event, environment={var.TARGET_BASE_URL: fake.base_url}
    )
    output = invocation.logs
    failed = settle(poller, queue.id, messages, invocation)
    size = CONNECTORS[connector].collection_size
    problems = _batch_problems(fake, obj, connector, records, fake.write_requests[writes_before:])
    if invocation.error is not None:
        problems.append(f"the consumer failed: {': '.join(invocation.error)}")
    elif failed:
        problems.append(f"the consumer reported the record failed: {output[-600:]}")
    where = f"{obj}/{spec['external_id']}/{external_id} at the {connector} fake"
    problems += _arrival_problems(fake, obj, external_id, expected, where, output)
    if drain_for(admin, queue.id, marker, delete=True):
        problems.append("the message is still on the queue after the consumer succeeded")
    problems = _dead_lettered(admin, d.named(f"{prefix}dlq", SQS_QUEUE), marker) + problems
    origin = "Salesforce CDC event" if source == "salesforce" else "JSON envelope"
    return Check.judged(
        name,
        problems,
        f"{origin} for {obj} {record_id} and {RECORDS_PER_CHECK - 1} more received with the "
        f"role's STS credentials, consumer upserted {obj}/{spec['external_id']}/{external_id} "
        f"with {sorted(expected)} through the {connector} connector at its fake "
        f"({credential} credential) "
        + (
            f"in one collection call of {RECORDS_PER_CHECK}"
            if size > 1
            else f"one call per record (the {connector} API has no collection endpoint)"
        )
        + ", messages deleted",
        about=f"{origin} for {obj}",
    )


def _batch_problems(
    fake: Any, obj: str, connector: str, records: list[Sample], writes: list[Any]
) -> list[str]:
    """Whether every record of the batch arrived (once the first did), in one collection
    call where the connector has a collection endpoint."""
    stored = fake.stored(obj)
    missing = [r.external_id for r in records if r.external_id not in stored]
    problems = []
    if records[0].external_id in stored and missing:
        problems.append(f"records {missing} of the batch never reached the {connector} fake")
    per_call = [count for _, _, count in writes]
    size = CONNECTORS[connector].collection_size
    if size > 1 and not missing and per_call != [RECORDS_PER_CHECK]:
        problems.append(
            f"the {connector} connector has a collection endpoint ({size} records a call), but "
            f"the batch of {RECORDS_PER_CHECK} took {len(per_call)} write calls ({per_call})"
        )
    return problems


def _arrival_problems(
    fake: Any, obj: str, external_id: str, expected: dict[str, Any], where: str, output: str
) -> list[str]:
    """Whether the first record reached the target's fake, upserted with the expected values."""
    arrived = fake.stored(obj).get(external_id)
    if arrived is None:
        return [
            f"no upsert of {where} (holds: {sorted(fake.stored(obj))[-5:]}); consumer output: "
            f"{output[-600:]}"
        ]
    if any(arrived.get(fake.field(k)) != v for k, v in expected.items()):
        return [f"the target received {arrived}, expected {expected}"]
    return []


def _dead_lettered(admin: Any, dlq: Any, marker: str) -> list[str]:
    """The batch's copy in the DLQ, drained; the consumer's copy says why (contracts:
    failure-reason, failure-detail)."""
    dead = drain_for(admin, dlq.id, marker, delete=True) if dlq is not None else []
    if not dead:
        return []
    attributes = dead[0].get("MessageAttributes", {})
    reason = attributes.get(FAILURE_REASON, {}).get("StringValue", f"no {FAILURE_REASON}")
    why = attributes.get(FAILURE_DETAIL, {}).get("StringValue", "")
    return [f"the record was dead-lettered to {dlq.outputs['name']}: {reason}: {why}"]
