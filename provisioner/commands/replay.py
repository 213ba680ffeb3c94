"""`provisioner replay`: move an integration's dead-lettered messages back to its queue."""

from __future__ import annotations

import argparse
import json

from provisioner.deployed import DeployedIntegration, add_target_arguments
from provisioner.errors import EXIT_FAILED, EXIT_OK, UsageError

NAME = "replay"
ORDER = 75
HELP = "move an integration's DLQ messages back to its source queue"
DESCRIPTION = """\
Move every message in INTEGRATION's dead-letter queue in the deployed STACK back to its
source queue, after the cause has been fixed. Uses SQS StartMessageMoveTask where AWS
supports it (standard queues); otherwise receives, sends, and deletes from the DLQ only
what the send confirmed, so a message is never lost, also when interrupted (re-run it).
Duplicates from an interrupted run are absorbed by the sync function's idempotency.
Each run moves a message at most once and ends with the counts moved, re-parked (the
consumer rejected it again during this run; it stays in the DLQ) and skipped.

Needs AWS credentials for the stack's account, or --endpoint-url (default:
$AWS_ENDPOINT_URL) for an emulator; the caller's account (STS GetCallerIdentity) must be
the stack's before anything else is called.
Exit 0 when the DLQ was drained, 1 when some messages stayed behind, 2 for usage errors.
"""


def register(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import positive_int

    add_target_arguments(parser)
    parser.add_argument(
        "--max-messages",
        type=positive_int,
        default=None,
        metavar="N",
        help="move at most N (default: all)",
    )


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from provisioner.replay import replay_dlq

    target = DeployedIntegration.from_args(args, min_phase=3)
    context = target.context
    sqs = target.client("sqs")
    try:
        dlq = sqs.get_queue_url(QueueName=target.queue_name("dlq"))["QueueUrl"]
        source = sqs.get_queue_url(QueueName=target.queue_name("queue"))["QueueUrl"]
    except ClientError as err:
        raise UsageError(
            f"cannot find {target.queue_name('queue')} / {target.queue_name('dlq')} in "
            f"{context.settings.region}: {err}. Is the {args.stack} stack deployed here?"
        ) from None
    except BotoCoreError as err:
        raise UsageError(f"cannot reach SQS: {err}") from None
    result = replay_dlq(dlq, source, sqs_client=sqs, max_messages=args.max_messages)
    summary = {
        "stack": args.stack,
        "integration": args.integration,
        "method": result.method,
        "moved": result.moved,
        "reparked": result.reparked,
        "skipped": result.skipped,
        "send_failures": result.send_failures,
        "delete_failures": result.delete_failures,
        "complete": result.complete,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        reparked = "not counted by SQS" if result.reparked is None else result.reparked
        print(
            f"{target.queue_name('dlq')} -> {target.queue_name('queue')} ({result.method}): "
            f"moved {result.moved}, re-parked {reparked}, skipped {result.skipped}"
        )
        if result.reparked:
            print(
                f"{result.reparked} message(s) came back to the DLQ during this run: the "
                "consumer still rejects them (see their failure-reason); fix that, then re-run"
            )
        if not result.complete:
            print(
                f"{result.send_failures} send and {result.delete_failures} delete failure(s); "
                "the messages are still in the DLQ or both queues: re-run replay"
            )
    return EXIT_OK if result.complete else EXIT_FAILED
