"""The analysis every reach check shares: where documents sit, the stack's world, reading
a document, and whether one principal or service may be admitted to an integration's
resource."""

from __future__ import annotations

from typing import Any

from pulumi_policy import ReportViolation, StackValidationArgs

from contract.alerting import CHATBOT_SERVICE
from contract.aws_types import (
    CHATBOT_SLACK_CHANNEL_CONFIGURATION,
    CLOUDWATCH_EVENT_TARGET,
    DYNAMODB_RESOURCE_POLICY,
    IAM_GROUP,
    IAM_GROUP_POLICY,
    IAM_GROUP_POLICY_ATTACHMENT,
    IAM_POLICY,
    IAM_POLICY_ATTACHMENT,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_ROLE_POLICY_ATTACHMENT,
    IAM_USER,
    IAM_USER_POLICY,
    IAM_USER_POLICY_ATTACHMENT,
    KMS_KEY,
    KMS_KEY_POLICY,
    LAMBDA_FUNCTION,
    LAMBDA_FUNCTION_EVENT_INVOKE_CONFIG,
    LAMBDA_FUNCTION_URL,
    LAMBDA_PERMISSION,
    S3_BUCKET_POLICY,
    SCHEDULER_SCHEDULE,
    SECRETS_MANAGER_SECRET,
    SECRETS_MANAGER_SECRET_POLICY,
    SFN_STATE_MACHINE,
    SNS_TOPIC,
    SNS_TOPIC_POLICY,
    SQS_QUEUE,
    SQS_QUEUE_POLICY,
    SQS_REDRIVE_ALLOW_POLICY,
)
from contract.ownership import Principal, is_pattern

from .._catalogue import expand
from .._common import as_list, contains_unknown, label, parse_document
from .._stack import Res, StackView
from .._world import StackWorld
from .statements import DEFAULT_JOB_ACTIONS, Doc, bound_keys, condition

# Where identity documents sit: type -> (document field, field naming the principal, type).
IDENTITY_CARRIERS: dict[str, tuple[str, str, str]] = {
    IAM_ROLE_POLICY: ("policy", "role", IAM_ROLE),
    IAM_USER_POLICY: ("policy", "user", IAM_USER),
    IAM_GROUP_POLICY: ("policy", "group", IAM_GROUP),
}
ATTACHMENTS: dict[str, tuple[str, str]] = {
    IAM_ROLE_POLICY_ATTACHMENT: ("role", IAM_ROLE),
    IAM_USER_POLICY_ATTACHMENT: ("user", IAM_USER),
    IAM_GROUP_POLICY_ATTACHMENT: ("group", IAM_GROUP),
}
# Resource policies: type -> (document field, field naming the resource or None for itself).
RESOURCE_CARRIERS: dict[str, tuple[str, str | None]] = {
    SQS_QUEUE: ("policy", None),
    SQS_QUEUE_POLICY: ("policy", "queueUrl"),
    SNS_TOPIC: ("policy", None),
    SNS_TOPIC_POLICY: ("policy", "arn"),
    SECRETS_MANAGER_SECRET_POLICY: ("policy", "secretArn"),
    KMS_KEY: ("policy", None),
    KMS_KEY_POLICY: ("policy", "keyId"),
    DYNAMODB_RESOURCE_POLICY: ("policy", "resourceArn"),
    S3_BUCKET_POLICY: ("policy", "bucket"),
}
KEY_POLICY_TYPES = frozenset({KMS_KEY, KMS_KEY_POLICY})
# Who runs a role, by the resource that names it (Service principal of its trust policy).
RUNNERS: dict[str, tuple[str, str]] = {
    LAMBDA_FUNCTION: ("role", "lambda.amazonaws.com"),
    CLOUDWATCH_EVENT_TARGET: ("roleArn", "events.amazonaws.com"),
    SFN_STATE_MACHINE: ("roleArn", "states.amazonaws.com"),
    SCHEDULER_SCHEDULE: ("target", "scheduler.amazonaws.com"),
    CHATBOT_SLACK_CHANNEL_CONFIGURATION: ("iamRoleArn", CHATBOT_SERVICE),
}
# docs/contracts.md, "IAM principals per integration": every integration role is the
# execution role of Lambda functions, even before its functions exist (phase 2).
DEFAULT_RUNNER = "lambda.amazonaws.com"
# Services whose trust AWS documents with aws:SourceAccount/aws:SourceArn (IAM user guide,
# "The confused deputy problem"; EventBridge, Scheduler and Step Functions user guides).
# Lambda does not: its execution role is assumed only for the function that names it.
CONFUSED_DEPUTY_SERVICES = frozenset(
    {"events.amazonaws.com", "scheduler.amazonaws.com", "states.amazonaws.com"}
)
TYPES = frozenset(
    {
        IAM_ROLE,
        IAM_USER,
        IAM_POLICY,
        LAMBDA_FUNCTION,
        LAMBDA_PERMISSION,
        LAMBDA_FUNCTION_URL,
        SQS_REDRIVE_ALLOW_POLICY,
        IAM_POLICY_ATTACHMENT,
        LAMBDA_FUNCTION_EVENT_INVOKE_CONFIG,
        *IDENTITY_CARRIERS,
        *ATTACHMENTS,
        *RESOURCE_CARRIERS,
    }
)


class Analysis:
    """One run over the stack; `report` is the SDK's, `unknown` collects unjudgeable paths."""

    def __init__(self, args: StackValidationArgs, report: ReportViolation) -> None:
        self.view = StackView.shared(args, report)
        self.world = StackWorld(self.view)
        self.report_violation = report
        self.unknown: list[str] = []
        config = args.get_config()
        # A pusher's access-key secret has the pusher user's physical name (`cred-{c}`).
        users = {r.props.get("name") for r in self.view.resources if r.type == IAM_USER} - {None}
        self.pusher_secrets = {
            arn: r.props["name"]
            for r in self.view.resources
            if r.type == SECRETS_MANAGER_SECRET
            and r.props.get("name") in users
            and isinstance(arn := r.props.get("arn"), str)
        }
        jobs = config.get("jobActions", DEFAULT_JOB_ACTIONS)
        self.job_actions = {
            job: expand([str(a) for a in as_list(actions)])
            for job, actions in (jobs.items() if isinstance(jobs, dict) else ())
        }

    def report(self, integration: str | None, message: str, res: Res) -> None:
        self.report_violation(f"{label(integration)}{message}", res.urn)

    def document(self, res: Res, field: str, value: Any) -> Doc | None:
        if value is None or value == "":
            return None
        if contains_unknown(value):
            self.unknown.append(f"{res.name}.{field}")
            return None
        parsed = parse_document(value)
        if isinstance(parsed, str):
            self.report(
                res.integration,
                f"{res.name}.{field}: {parsed}. Fix: emit the document with json.dumps.",
                res,
            )
            return None
        return Doc(f"{res.name}.{field}", res, parsed) if parsed else None

    def unknown_until_apply(self, res: Res, field: str) -> bool:
        """Whether (part of) ``res.field`` is known only after apply; noted as unjudged."""
        if contains_unknown(res.props.get(field)):
            self.unknown.append(f"{res.name}.{field}")
            return True
        return False

    def find(self, res: Res, field: str, *types: str) -> Res | None:
        if self.unknown_until_apply(res, field):
            return None
        ref = res.props.get(field)
        return self.view.find(ref, *types) if isinstance(ref, str) else None

    def _check_own_principal(
        self, own: str | None, what: str, at: str, principal: Principal, doc: Doc
    ) -> None:
        account = self.world.account
        if principal.kind == "anyone":
            problem = "everyone (Principal '*')"
        elif principal.account and account and principal.account != account:
            problem = f"account {principal.account}, not this stack's"
        elif principal.kind == "root":
            problem = "the whole account (its root)"
        elif is_pattern(principal.arn):
            problem = f"every principal matching {principal.arn}"
        elif principal.integration is None:
            problem = f"{principal.arn}, no integration's principal"
        elif principal.integration != own:
            problem = f"{principal.integration}'s principal {principal.arn}"
        else:
            return
        self.report(
            own,
            (
                f"{at} admits {problem} to {what}. Fix: admit only {own}'s own roles and users "
                "by their exact ARNs."
            ),
            doc.carrier,
        )

    def _check_service(
        self,
        own: str | None,
        what: str,
        at: str,
        service: str,
        statement: dict[str, Any],
        doc: Doc,
    ) -> None:
        account = self.world.account
        accounts = condition(statement, "aws:SourceAccount")
        sources = condition(statement, "aws:SourceArn")
        bound_account = bool(accounts) and all(a == account for a in accounts) and account
        bound_arn = bool(sources) and all(
            own is not None and self.world.reach(s).only(own) for s in sources
        )
        # CloudWatch Logs is bound to the log groups it encrypts for by the encryption
        # context (CloudWatch Logs user guide, "Encrypt log data using AWS KMS").
        contexts = [
            v
            for k in bound_keys(statement)
            if k.startswith("kms:encryptioncontext:")
            for v in condition(statement, k)
        ]
        bound_context = bool(contexts) and all(
            own is not None and self.world.reach(c).only(own) for c in contexts
        )
        if not (bound_account or bound_arn or bound_context):
            shown = ", ".join(accounts + sources) or "no aws:SourceAccount or aws:SourceArn"
            self.report(
                own,
                (
                    f"{at} admits {service} to {what} for {shown}. Fix: bind it with "
                    f'StringEquals {{"aws:SourceAccount": "{account}"}} or aws:SourceArn of '
                    f"{own}'s own resource (confused deputy)."
                ),
                doc.carrier,
            )
