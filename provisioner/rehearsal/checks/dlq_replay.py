"""A record that never succeeds lands in the DLQ, and replay brings it back.

Per queued integration, the record is received with the integration role's credentials,
as the Lambda poller does, and never deleted, so SQS's redrive policy must move it to the
DLQ after ``maxReceiveCount`` receives; ``provisioner.replay.replay_dlq`` then moves it
back onto the queue.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

from provisioner.rehearsal.access import assume
from provisioner.rehearsal.checks.poller import drain_for, receive, send
from provisioner.rehearsal.result import Check
from provisioner.replay import replay_dlq

if TYPE_CHECKING:
    from provisioner.rehearsal.runner import Deployment

__all__ = ["poison_and_replay"]


def poison_and_replay(deployment: Deployment) -> list[Check]:
    """Per queued integration: a record that never succeeds lands in the DLQ; replay returns it."""
    checks = []
    admin = deployment.aws.admin("sqs")
    for d in deployment.inventory:
        queue, role = d.queue, d.role
        if queue is None or role is None:
            continue
        name = f"dlq-replay:{d.name}"
        attributes = admin.get_queue_attributes(QueueUrl=queue.id, AttributeNames=["All"])
        redrive = attributes["Attributes"].get("RedrivePolicy")
        if not redrive:
            checks.append(
                Check(
                    name,
                    False,
                    f"queue {queue.outputs['name']} has no redrive policy: a poison record "
                    "would be retried until it expires and never reach a DLQ",
                )
            )
            continue
        policy = json.loads(redrive)
        max_receives = int(policy["maxReceiveCount"])
        dlq_arn = policy["deadLetterTargetArn"]
        dlq_url = admin.get_queue_url(QueueName=dlq_arn.rsplit(":", 1)[-1])["QueueUrl"]
        marker = f"rehearsal-poison-{uuid.uuid4()}"
        send(admin, queue.id, json.dumps({"poison": marker}), group=marker, dedup=marker)
        poller = deployment.aws.client("sqs", assume(deployment.aws, role.outputs["arn"]))
        receives = 0
        # One receive more than maxReceiveCount: SQS moves the message on that receive.
        for _ in range(max_receives + 1):
            got = receive(poller, queue.id, visibility=0)
            receives += sum(1 for m in got if marker in m["Body"])
        parked = drain_for(admin, dlq_url, marker, delete=False)
        if not parked:
            checks.append(
                Check(
                    name,
                    False,
                    f"after {receives} failed receives (maxReceiveCount {max_receives}) the "
                    f"record is not in the DLQ {dlq_arn}",
                )
            )
            continue
        # moto 5.2.5 lacks StartMessageMoveTask; copying is the path replay takes there.
        result = replay_dlq(
            dlq_url, queue.id, sqs_client=admin, use_move_task=False, wait_time_seconds=0
        )
        back = drain_for(admin, queue.id, marker, delete=True)
        ok = bool(back) and not drain_for(admin, dlq_url, marker, delete=False)
        checks.append(
            Check(
                name,
                ok,
                f"poison record parked in {dlq_arn.rsplit(':', 1)[-1]} after {receives} receives "
                f"(maxReceiveCount {max_receives}); replay ({result.method}) moved {result.moved} "
                + ("and it is back on the queue" if ok else "but it is not back on the queue"),
            )
        )
    return checks
