"""Queue policies (one resource at a time): encryption, redrive to a DLQ, HTTPS only."""

from __future__ import annotations

import json
from typing import Any

from contract.aws_types import SQS_QUEUE, SQS_QUEUE_POLICY
from contract.transport import deny_insecure_transport

from ._common import as_list, condition_values, config_int, is_unknown, parse_document, statements
from ._declare import Report, Subject, resource_policy


def is_dead_letter_queue(name: str, props: dict[str, Any]) -> bool:
    """A DLQ by contract (`{integration}-dlq`, `-reverse-dlq`; the review queue
    `{integration}-review`, where a person reads parked changes and nothing consumes), or
    because it declares who may redrive into it."""
    base = name.removesuffix(".fifo")
    return base.endswith(("-dlq", "-review")) or bool(props.get("redriveAllowPolicy"))


def queue_encrypted(queue: Subject, report: Report) -> None:
    """Every queue is encrypted at rest: SSE-SQS or a KMS key.

    Rationale: AWS SQS developer guide "Encryption at rest" and Security Hub control SQS.1:
    queued records carry customer data from Salesforce and the ERP (names, order totals,
    credit status); encryption must be explicit in code so it cannot silently drift.

    Config: none.
    """
    sse, key = queue.props.get("sqsManagedSseEnabled"), queue.props.get("kmsMasterKeyId")
    if is_unknown(sse) or is_unknown(key):
        return
    if sse is not True and not key:
        report(
            f"{queue.who} is not encrypted. Fix: set kms_master_key_id to the "
            "integration's key (or sqs_managed_sse_enabled=True)."
        )


SQS_QUEUE_ENCRYPTED = resource_policy(
    "sqs-queue-encrypted", "SQS queues are encrypted at rest.", queue_encrypted, SQS_QUEUE
)


def queue_has_dead_letter_queue(queue: Subject, report: Report) -> None:
    """Every source queue redrives to a DLQ with a maxReceiveCount in range.

    Rationale: AWS SQS developer guide "Using dead-letter queues" and the Lambda guide for
    SQS event sources: without a DLQ a poison record is retried until retention expires and
    then lost silently; with maxReceiveCount below 5 a throttled-but-valid record lands in the
    DLQ (Lambda may receive a message several times while scaling), above the maximum a poison
    record blocks a FIFO message group for too long.
    A queue named `{integration}-dlq` (docs/contracts.md), the review queue
    `{integration}-review` (parked conflicts a person settles; no consumer retries them) or
    one with a redriveAllowPolicy is itself a terminal queue and is exempt.

    Config:
      minReceiveCount (integer): default 5.
      maxReceiveCount (integer): default 20.
    """
    props = queue.props
    if is_dead_letter_queue(queue.name, props):
        return
    config = queue.config
    low, high = config_int(config, "minReceiveCount", 5), config_int(config, "maxReceiveCount", 20)
    redrive = parse_document(props.get("redrivePolicy"))
    if redrive is None and is_unknown(props.get("redrivePolicy")):
        return
    if not isinstance(redrive, dict) or not redrive.get("deadLetterTargetArn"):
        report(
            f"{queue.who} has no dead-letter queue. Fix: add the integration's DLQ and set "
            f"redrive_policy to {{deadLetterTargetArn: <dlq arn>, maxReceiveCount: {low}}}."
        )
        return
    count = redrive.get("maxReceiveCount")
    count = int(count) if isinstance(count, int | float | str) and str(count).isdigit() else None
    if count is None or not low <= count <= high:
        report(
            f"{queue.who} redrives after maxReceiveCount={count}; allowed {low}..{high}. "
            f"Fix: set maxReceiveCount between {low} and {high} in redrive_policy."
        )


SQS_DEAD_LETTER_QUEUE = resource_policy(
    "sqs-dead-letter-queue",
    "Source queues redrive to a dead-letter queue with maxReceiveCount in range.",
    queue_has_dead_letter_queue,
    SQS_QUEUE,
    config={
        "minReceiveCount": {"type": "integer", "minimum": 1, "default": 5},
        "maxReceiveCount": {"type": "integer", "maximum": 1000, "default": 20},
    },
)


def _denies_insecure_transport(statement: dict[str, Any]) -> bool:
    principal = statement.get("Principal")
    everyone = principal == "*" or (isinstance(principal, dict) and principal.get("AWS") == "*")
    actions = [a for a in as_list(statement.get("Action")) if isinstance(a, str)]
    all_sqs = any(a.lower() in ("*", "sqs:*") for a in actions)
    insecure = [str(v).lower() for v in condition_values(statement, "aws:SecureTransport")]
    return statement.get("Effect") == "Deny" and everyone and all_sqs and insecure == ["false"]


def queue_policy_https_only(policy: Subject, report: Report) -> None:
    """Every queue policy denies all SQS actions to everyone when the request is not over TLS.

    Rationale: AWS SQS developer guide "Security best practices -- enforce encryption of data
    in transit": only a Deny on `aws:SecureTransport = false` guarantees that no client
    (including the external pushers that hold an IAM access key) can use plain HTTP.

    Config: none.
    """
    document = parse_document(policy.props.get("policy"))
    if document is None:
        return
    if isinstance(document, str) or not any(
        _denies_insecure_transport(s) for s in statements(document)
    ):
        example = deny_insecure_transport("sqs", "<queue arn>")
        report(
            f"{policy.who} does not deny non-TLS access. Fix: add the statement "
            f"{json.dumps(example)}."
        )


SQS_HTTPS_ONLY = resource_policy(
    "sqs-https-only",
    "Queue policies deny every request that is not made over TLS.",
    queue_policy_https_only,
    SQS_QUEUE_POLICY,
)
