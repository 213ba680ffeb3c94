"""DynamoDB: state tables on demand, recoverable and, where protected, undeletable."""

from __future__ import annotations

from pulumi_policy import ReportViolation, StackValidationArgs

from contract.aws_types import DYNAMODB_TABLE

from .._common import is_unknown, label, plain, stack_setting, tags_of
from .._declare import stack_policy


def dynamodb_table_resilience(args: StackValidationArgs, report: ReportViolation) -> None:
    """State tables scale on demand, keep point-in-time recovery, and refuse DeleteTable
    wherever the stack protects stateful resources.

    Rationale: AWS Foundational Security Best Practices DynamoDB.1 (capacity follows demand:
    on-demand here, as sync traffic is bursty), DynamoDB.2 (point-in-time recovery: the
    idempotency records and watermarks decide what is synced again after a bad deploy) and
    DynamoDB.6 (deletion protection). Pulumi's `protect` guards only deletions made through
    this stack; deletion protection stops a DeleteTable from the console, the CLI or another
    tool (DynamoDB developer guide, "Using deletion protection"), so a table the stack
    protects (`protectStateful`, or marked `protect`) must have it.

    Config: none.
    """
    protect_stack = (stack_setting("protectStateful") or "").lower() == "true"
    for resource in args.resources:
        if resource.resource_type != DYNAMODB_TABLE:
            continue
        props = plain(resource.props)
        who = f"{label((tags_of(props) or {}).get('integration'))}{resource.name}"
        protected = protect_stack or bool(getattr(resource.opts, "protect", False))
        value = props.get("deletionProtectionEnabled")
        if protected and not is_unknown(value) and value is not True:
            report(
                f"{who} is protected by the stack but can be deleted outside it. "
                "Fix: set deletion_protection_enabled=True.",
                resource.urn,
            )
        recovery = props.get("pointInTimeRecovery")
        if not is_unknown(recovery) and not (recovery or {}).get("enabled"):
            report(
                f"{who} has no point-in-time recovery. Fix: set point_in_time_recovery="
                '{"enabled": True}.',
                resource.urn,
            )
        billing = props.get("billingMode")
        if not is_unknown(billing) and billing != "PAY_PER_REQUEST":
            report(
                f"{who} has provisioned capacity that does not follow demand. Fix: set "
                'billing_mode="PAY_PER_REQUEST".',
                resource.urn,
            )


DYNAMODB_TABLE_RESILIENCE = stack_policy(
    "dynamodb-table-resilience",
    "State tables scale on demand, keep point-in-time recovery and, where protected, "
    "deletion protection.",
    dynamodb_table_resilience,
)
