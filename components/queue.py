"""An integration's buffer: a KMS-encrypted source queue and its dead-letter queue.

Queued patterns (event-driven, middleware, real-time API) get both queues; scheduled
patterns get only the DLQ, where Lambda puts failed asynchronous invocations. FIFO when
the integration needs ordering. Both queues refuse anything but HTTPS.

Usage::

    queue = SyncQueue("quote-to-order", SyncQueueArgs(
        scope=scope, kms_key_arn=key.arn, fifo=True, consumer_timeout_seconds=60))
    queue.queue.url, queue.dlq.arn
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components._scope import Scope, child, policy_output
from contract.aws_types import COMPONENT_PREFIX
from contract.transport import deny_insecure_transport
from roadmap.budget import Batching, visibility_timeout

__all__ = ["SyncQueue", "SyncQueueArgs"]

# Enough receives to ride out a throttled target before a record is parked; the policy
# floor is 5 (policies/integration_policies/queues.py, the redrive rule).
MAX_RECEIVE_COUNT = 5
# SQS retention limits: 60 s to 14 days (SQS developer guide, "Quotas"). The source keeps
# 4 days (the default); the DLQ keeps the maximum so a parked record outlives its source's.
SOURCE_RETENTION_SECONDS = 4 * 24 * 3600
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
# Reusing a data key for 5 minutes cuts KMS calls (and cost) per message
# (SQS developer guide, "Encryption at rest": 60-86,400 s).
KMS_DATA_KEY_REUSE_SECONDS = 300


@dataclass
class SyncQueueArgs:
    """Inputs of a SyncQueue."""

    scope: Scope
    kms_key_arn: pulumi.Input[str]
    fifo: bool = False
    consumer_timeout_seconds: int = 60
    # The consumer's SQS batch (roadmap.budget.consumer_batching): its window adds to
    # the visibility timeout.
    batching: Batching = field(default_factory=lambda: Batching(10, 0))
    # False for scheduled patterns: only the DLQ for failed asynchronous invocations.
    with_source: bool = True
    # Prefix of the roles (`queue`, `dlq`): a bidirectional flow's second pair is
    # `reverse-queue` and `reverse-dlq` (contract.phases.REVERSE).
    role_prefix: str = ""
    # A review queue (`review`) where a manual_review conflict strategy parks changes.
    with_review: bool = False


class SyncQueue(pulumi.ComponentResource):
    """Source queue (optional) and DLQ, encrypted, with redrive and HTTPS-only policies."""

    queue: aws.sqs.Queue | None
    dlq: aws.sqs.Queue
    review: aws.sqs.Queue | None

    def __init__(
        self, name: str, args: SyncQueueArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{COMPONENT_PREFIX}SyncQueue", name, None, opts)
        scope = args.scope
        suffix = ".fifo" if args.fifo else ""  # SQS requires FIFO names to end in .fifo
        # FIFO: producers (CDC relays, webhooks) rarely send a deduplication id, so dedupe
        # on content; high-throughput mode orders and dedupes per message group (a record).
        fifo: dict[str, Any] = {
            "fifo_queue": True if args.fifo else None,
            "content_based_deduplication": True if args.fifo else None,
            "deduplication_scope": "messageGroup" if args.fifo else None,
            "fifo_throughput_limit": "perMessageGroupId" if args.fifo else None,
        }

        def new_queue(role: str, retention_seconds: int, **extra: Any) -> aws.sqs.Queue:
            return aws.sqs.Queue(
                scope.logical(role),
                name=scope.physical(role) + suffix,
                message_retention_seconds=retention_seconds,
                kms_master_key_id=args.kms_key_arn,
                kms_data_key_reuse_period_seconds=KMS_DATA_KEY_REUSE_SECONDS,
                tags=scope.tags,
                opts=child(self, protect=scope.protect_stateful),
                **fifo,
                **extra,
            )

        dlq_role, queue_role = f"{args.role_prefix}dlq", f"{args.role_prefix}queue"
        self.dlq = new_queue(dlq_role, DLQ_RETENTION_SECONDS)
        self.queue = self.review = None
        queues = [(dlq_role, self.dlq)]
        if args.with_review:
            # Kept as long as a DLQ: a person settles a parked change within SQS's retention.
            self.review = new_queue("review", DLQ_RETENTION_SECONDS)
            queues.append(("review", self.review))
        if args.with_source:
            self.queue = new_queue(
                queue_role,
                SOURCE_RETENTION_SECONDS,
                visibility_timeout_seconds=visibility_timeout(
                    args.consumer_timeout_seconds, args.batching
                ),
                redrive_policy=self.dlq.arn.apply(
                    lambda arn: json.dumps(
                        {"deadLetterTargetArn": arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
                    )
                ),
            )
            queues.append((queue_role, self.queue))
            # Only this integration's own queue may move records into its DLQ.
            self.redrive_allow = aws.sqs.RedriveAllowPolicy(
                scope.logical(f"{dlq_role}-redrive-allow"),
                queue_url=self.dlq.url,
                redrive_allow_policy=self.queue.arn.apply(
                    lambda arn: json.dumps(
                        {"redrivePermission": "byQueue", "sourceQueueArns": [arn]}
                    )
                ),
                opts=child(self),
            )

        self.policies: dict[str, aws.sqs.QueuePolicy] = {}
        for role, queue in queues:
            # Deny every request not made over TLS (SQS developer guide, "Security best
            # practices": enforce encryption of data in transit). A Deny on sqs:* is the
            # documented form; it grants nothing.
            self.policies[role] = aws.sqs.QueuePolicy(
                scope.logical(f"{role}-policy"),
                queue_url=queue.url,
                policy=policy_output([deny_insecure_transport("sqs", queue.arn)]),
                opts=child(self),
            )

        self.register_outputs(
            {
                "queueUrl": self.queue.url if self.queue else None,
                "queueArn": self.queue.arn if self.queue else None,
                "dlqUrl": self.dlq.url,
                "dlqArn": self.dlq.arn,
                "reviewUrl": self.review.url if self.review else None,
            }
        )
