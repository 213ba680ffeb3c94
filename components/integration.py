"""One roadmap integration in one environment: exactly the resources its phase needs.

Composes the other components from a roadmap entry and the stack's settings, and tags
every resource with integration, owner, phase, environment, runbook and alert path
(contracts.md, Tags). What each phase adds (README, phase table):

| phase | adds |
|---|---|
| 2 | ServiceAccount (role), ScopedCredential (KMS key, rotated secrets, rotator) |
| 3 | SyncQueue, SyncFunction (consumer or batch, kill switch), IdempotencyStore, alarms; |
|   | a warehouse pipeline's Stage (S3 bucket; for Snowflake, its storage-integration role) |
| 4 | reconciliation SyncFunction; dashboard, reconciliation-gap and stale-sync alarms |
| 5 | latency-p99 and api-budget alarms |

A bidirectional queued flow runs both ways from phase 3 under the same role, key and
owner: a second queue, DLQ and consumer (`reverse-queue`, `reverse-dlq`,
`reverse-consumer`) carry target-to-source changes with the inverted mapping and the
reverse side of the conflict rule, each watched like the forward ones; a `manual_review`
strategy adds the review queue both directions park contested changes in, with its alarm.

A queued flow whose source pushes signed webhooks (`webhook` in the roadmap) gets, from
phase 3, the ingress function `webhook` (contract.naming WEBHOOK_INGRESS_ROLE) behind a
public function URL: it verifies the vendor's signature, records the delivery id in the
state table and enqueues into the flow's queue. It runs as the integration's role, and
only its own calls may read the signing secret (`lambda:SourceFunctionArn`); the sync
functions never read it.

Phase 1 (discovery) provisions nothing; the program does not build such an integration.

Usage::

    Integration("quote-to-order", IntegrationArgs(
        integration=roadmap.integration("quote-to-order"), roadmap=roadmap,
        settings=settings, function_code=functions_zip, rotation_code=secrets_zip))
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components._scope import TOKEN_PREFIX, Scope
from components.alarms import DirectionWatch, IntegrationAlarms, IntegrationAlarmsArgs
from components.credential import CredentialSpec, ScopedCredential, ScopedCredentialArgs
from components.deployer import deploying_principal
from components.function import (
    MAX_CONCURRENCY,
    MIN_CONCURRENCY,
    TIMEOUT_SECONDS,
    Kind,
    SyncFunction,
    SyncFunctionArgs,
)
from components.idempotency import IdempotencyStore, IdempotencyStoreArgs
from components.queue import SyncQueue, SyncQueueArgs
from components.service_account import Grant, Pusher, ServiceAccount, ServiceAccountArgs
from components.stage import STAGE_ROLE_NAME, Stage, StageArgs
from contract import environment as var
from contract.connectors import SNOWFLAKE
from contract.naming import WEBHOOK_INGRESS_ROLE
from contract.phases import REVERSE
from roadmap.budget import (
    api_alarm_threshold,
    consumer_batching,
    reads_in_bulk,
    salesforce_calls_per_day,
)
from roadmap.integrations import ConflictStrategy, Credential, CredentialKind, FlowDirection, Side
from roadmap.integrations import Integration as RoadmapIntegration
from roadmap.model import Roadmap
from roadmap.settings import StackSettings

__all__ = ["Integration", "IntegrationArgs"]

# The role of a bidirectional flow's target-to-source consumer (contract.phases).
REVERSE_CONSUMER = f"{REVERSE}-consumer"
# Reconciliation compares source and target once a day, after the nightly loads.
RECONCILE_SCHEDULE = "cron(30 3 * * ? *)"
SECONDS_PER_DAY = 86_400


@dataclass
class IntegrationArgs:
    """Inputs of an Integration: one roadmap entry, the stack's settings, the Lambda code.

    `account_id` is the account being deployed into; by default the engine's own
    (`aws.get_caller_identity()`), which the program asks once for every integration.
    """

    integration: RoadmapIntegration
    roadmap: Roadmap
    settings: StackSettings
    function_code: pulumi.Archive
    rotation_code: pulumi.Archive
    account_id: str | None = None
    # The principal deploying the stack, which administers the secrets; by default the
    # engine's caller (`components.deployer.deploying_principal`).
    deployer_arn: str | None = None


def consumer_concurrency(integ: RoadmapIntegration, roadmap: Roadmap) -> int:
    """MaximumConcurrency of the queue trigger, from the API limits the flow must respect.

    A consumer invocation works through its batch one call at a time (about one call per
    second), so the concurrency is the request rate the flow may use: the lowest of the
    two systems' `requests_per_second` and of its Salesforce budget spread over a day,
    floored, within Lambda's 2..1000 (Lambda API reference, ScalingConfig).
    """
    rates = [roadmap.system(name).api.requests_per_second for name in (integ.source, integ.target)]
    limits = [r for r in rates if r is not None]
    spend = salesforce_calls_per_day(integ, roadmap)
    if spend:
        limits.append(spend / SECONDS_PER_DAY)
    if not limits:
        return MIN_CONCURRENCY  # nothing known about the limits: the most careful setting
    return max(MIN_CONCURRENCY, min(MAX_CONCURRENCY, math.floor(min(limits))))


def _base_url(roadmap: Roadmap, system: str) -> str:
    url = roadmap.system(system).api.base_url
    return str(url).rstrip("/") if url is not None else ""


def _bootstrap(
    cred: Credential, scope: Scope, roadmap: Roadmap, environment: str
) -> dict[str, Any]:
    """Non-secret fields of the first version (secrets/credential_rotation/formats.py).

    Identifiers the issuer has not assigned yet are placeholders; the rotation runbook
    (formats.py, "Bootstrap") replaces them before the first rotation completes.
    """
    base = _base_url(roadmap, cred.system) or f"https://{cred.system}.invalid"
    if cred.kind is CredentialKind.SALESFORCE_JWT_BEARER:
        # Sandboxes log in at test.salesforce.com (Salesforce Help, "OAuth 2.0 JWT Bearer Flow").
        login = (
            "https://login.salesforce.com"
            if environment == "prod"
            else "https://test.salesforce.com"
        )
        return {
            "login_url": login,
            "username": f"{scope.physical('integration')}@placeholder.invalid",
            "client_id": "pending-slot-a",
            "client_ids": {"a": "pending-slot-a", "b": "pending-slot-b"},
            "slot": "a",
            "certificate_pem": "",
            "admin_url": base,
        }
    if cred.kind is CredentialKind.OAUTH_CLIENT_CREDENTIALS:
        doc = {
            "token_url": f"{base}/oauth/token",
            "client_id": scope.physical(cred.name),
            "client_secret_id": "",
            "admin_url": base,
        }
        if cred.scopes:
            doc["scope"] = " ".join(cred.scopes)
        return doc
    if cred.kind is CredentialKind.API_KEY:
        return {"base_url": base, "key_id": "", "admin_url": base}
    if cred.kind is CredentialKind.BASIC_TOKEN:
        return {"base_url": base, "username": "", "token_id": "", "admin_url": base}
    if cred.kind is CredentialKind.SNOWFLAKE_KEY_PAIR:
        # Snowflake's account identifier is the first label of its host name.
        return {
            "account_url": base,
            "account": base.split("//", 1)[-1].split(".", 1)[0],
            "user": scope.physical("integration").upper().replace("-", "_"),
            "slot": "1",
            "public_key_fingerprint": "",
        }
    if cred.kind is CredentialKind.NETSUITE_TBA:
        return {"base_url": base, "account_id": "", "consumer_key": "", "token_id": ""}
    if cred.kind is CredentialKind.WEBHOOK_SIGNING_SECRET:
        return {"scheme": "hmac-sha256"}
    return {"user_name": scope.physical(f"cred-{cred.name}"), "access_key_id": ""}


def _function_roles(phase: int, main_kind: Kind, *, both_ways: bool, ingress: bool) -> list[str]:
    """The sync functions a phase runs: none before phase 3, then the main one, the
    reconciliation from phase 4, the way back's consumer and the webhook ingress."""
    if phase < 3:
        return []
    roles = [main_kind, *(["reconcile"] if phase >= 4 else [])]
    roles += [REVERSE_CONSUMER] if both_ways else []
    roles += [WEBHOOK_INGRESS_ROLE] if ingress else []
    return roles


class Integration(pulumi.ComponentResource):
    """Every resource of one integration at its phase in this stack, isolated and tagged."""

    phase: int
    service_account: ServiceAccount
    credentials: ScopedCredential
    queue: SyncQueue | None
    reverse_queue: SyncQueue | None
    state: IdempotencyStore | None
    sync_function: SyncFunction | None
    reverse_function: SyncFunction | None
    ingress_function: SyncFunction | None
    reconcile_function: SyncFunction | None
    alarms: IntegrationAlarms | None
    stage: Stage | None

    def __init__(
        self, name: str, args: IntegrationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        integ, roadmap, settings = args.integration, args.roadmap, args.settings
        environment = settings.environment
        phase = integ.phase(environment)
        if phase < 2:
            raise ValueError(
                f"{integ.name} is at phase {phase} (discovery) in {environment}, which "
                "provisions nothing; build only integrations at phase >= 2"
            )
        # A renamed integration keeps its resources: the engine resolves each child's former
        # URN from the component's alias, since every child's name starts with `name`
        # (Pulumi docs, "Resource options: aliases").
        renamed = pulumi.ResourceOptions(aliases=[pulumi.Alias(name=n) for n in integ.renamed_from])
        super().__init__(
            f"{TOKEN_PREFIX}Integration", name, None, pulumi.ResourceOptions.merge(opts, renamed)
        )
        self.phase = phase
        tags = {
            "integration": integ.name,
            "owner": integ.owner_team,
            "phase": str(phase),
            "environment": environment,
            "runbook": str(integ.runbook),
            "alert-path": integ.alert_path,
        }
        scope = Scope(
            environment=environment,
            name_prefix=settings.name_prefix,
            integration=integ.name,
            account_id=args.account_id or aws.get_caller_identity().account_id,
            region=settings.region,
            tags=tags,
            protect_stateful=settings.protect_stateful,
        )
        child = pulumi.ResourceOptions(parent=self)
        pushers = [c for c in integ.credentials if c.kind is CredentialKind.IAM_ACCESS_KEY]
        main_kind: Kind = "consumer" if integ.pattern.queued else "batch"
        # Both ways: a second queue and consumer for target-to-source changes (phase >= 3).
        both_ways = len(integ.flows(environment)) == 2
        review = both_ways and (
            integ.conflict_rule is not None
            and integ.conflict_rule.strategy is ConflictStrategy.MANUAL_REVIEW
        )
        ingress = integ.webhook is not None and integ.pattern.queued and phase >= 3
        warehouse = roadmap.stage_warehouse(integ, environment)
        snowflake = settings.snowflake.get(integ.name) if warehouse == SNOWFLAKE else None
        if warehouse == SNOWFLAKE and snowflake is None:
            raise ValueError(
                f"{integ.name} stages its records for Snowflake but the stack sets no "
                f"snowflake.{integ.name}; copy storageAwsIamUserArn and storageAwsExternalId "
                "from DESC INTEGRATION into the stack file (README, Stack settings)"
            )
        function_roles = _function_roles(phase, main_kind, both_ways=both_ways, ingress=ingress)

        self.credentials = ScopedCredential(
            name,
            ScopedCredentialArgs(
                scope=scope,
                credentials=[
                    CredentialSpec(
                        name=c.name,
                        kind=c.kind.value,
                        rotation_days=c.rotation_days,
                        bootstrap=_bootstrap(c, scope, roadmap, environment),
                        manual=roadmap.rotation_mode(c) == "manual",
                    )
                    for c in integ.credentials
                ],
                rotation_code=args.rotation_code,
                max_rotation_days=settings.max_rotation_days,
                permissions_boundary_arn=settings.permissions_boundary_arn,
                log_retention_days=settings.log_retention_days,
                pusher_user_arns=[scope.user_arn(f"cred-{c.name}") for c in pushers],
                administrator_arns=[
                    args.deployer_arn or deploying_principal(),
                    *settings.secret_administrator_arns,
                ],
                function_roles=function_roles,
                key_user_arns=[scope.role_arn(STAGE_ROLE_NAME)] if snowflake else [],
                alert_topic=phase >= 3,
            ),
            child,
        )
        key_arn = self.credentials.key.arn
        secret_arns = [s.arn for s in self.credentials.secrets.values()]
        # A pusher's access key is the external system's, read by its rotation role only; a
        # webhook signing secret is read by the ingress alone (below).
        own_secrets = [
            self.credentials.secrets[c.name].arn for c in integ.credentials if c.kind.calls_out
        ]
        grants = [Grant("decrypt-with-key", [key_arn])]
        if own_secrets:
            grants.insert(0, Grant("read-secret", own_secrets))

        self.queue = self.state = self.sync_function = self.reconcile_function = None
        self.reverse_queue = self.reverse_function = self.ingress_function = None
        self.alarms = self.stage = None
        if warehouse is not None:
            self.stage = Stage(
                name,
                StageArgs(
                    scope=scope,
                    kms_key_arn=key_arn,
                    objects=integ.objects,
                    snowflake=snowflake,
                    permissions_boundary_arn=settings.permissions_boundary_arn,
                ),
                child,
            )
            grants += [
                Grant("write-stage", self.stage.object_arns),
                Grant("encrypt-stage-files", [key_arn]),
            ]
        if phase >= 3:
            self.queue = SyncQueue(
                name,
                SyncQueueArgs(
                    scope=scope,
                    kms_key_arn=key_arn,
                    fifo=integ.fifo,
                    consumer_timeout_seconds=TIMEOUT_SECONDS["consumer"],
                    batching=consumer_batching(integ, roadmap),
                    with_source=integ.pattern.queued,
                    with_review=review,
                ),
                child,
            )
            if both_ways:
                self.reverse_queue = SyncQueue(
                    f"{name}-{REVERSE}",
                    SyncQueueArgs(
                        scope=scope,
                        kms_key_arn=key_arn,
                        fifo=integ.fifo,
                        consumer_timeout_seconds=TIMEOUT_SECONDS["consumer"],
                        batching=consumer_batching(integ, roadmap, reverse=True),
                        role_prefix=f"{REVERSE}-",
                    ),
                    child,
                )
            self.state = IdempotencyStore(
                name, IdempotencyStoreArgs(scope=scope, kms_key_arn=key_arn), child
            )
            # Pushers may use their keys from now on: superseded keys are retired on a
            # schedule once unused, a failed run kept in the DLQ like the scheduled jobs'.
            self.credentials.retire_superseded_keys(self.queue.dlq)
            grants += [
                Grant("read-write-state", [self.state.table.arn]),
                Grant("write-own-logs", [scope.log_streams_arn(k) for k in function_roles]),
                Grant("put-metrics"),
            ]
            signing = (
                self.credentials.secrets[integ.webhook.credential].arn
                if ingress and integ.webhook is not None
                else None
            )
            grants += self._queue_grants(self.queue, self.reverse_queue, phase, signing)

        queue_arn = self.queue.queue.arn if self.queue and self.queue.queue else None
        self.service_account = ServiceAccount(
            name,
            ServiceAccountArgs(
                scope=scope,
                grants=grants,
                permissions_boundary_arn=settings.permissions_boundary_arn,
                pushers=[
                    Pusher(
                        c.name,
                        queue_arn,
                        key_arn,
                        c.source_ranges,
                        secret_arn=self.credentials.secrets[c.name].arn,
                    )
                    for c in pushers
                ],
            ),
            child,
        )

        if self.queue is not None and self.state is not None:
            # Lambda checks the role's queue and DLQ permissions when the function and its
            # trigger are created, so they wait for the whole service account.
            after_account = pulumi.ResourceOptions(parent=self, depends_on=[self.service_account])
            environment_vars = self._environment(integ, roadmap, scope, main_kind, settings)
            enabled = settings.trigger_enabled(integ.name)
            concurrency = consumer_concurrency(integ, roadmap)
            self.sync_function = SyncFunction(
                f"{name}-{main_kind}",
                SyncFunctionArgs(
                    scope=scope,
                    kind=main_kind,
                    role_arn=self.service_account.role.arn,
                    code=args.function_code,
                    environment=environment_vars,
                    log_retention_days=settings.log_retention_days,
                    enabled=enabled,
                    queue_arn=queue_arn,
                    maximum_concurrency=concurrency,
                    batching=consumer_batching(integ, roadmap),
                    schedule=integ.schedule,
                    on_failure_arn=None if integ.pattern.queued else self.queue.dlq.arn,
                    kms_key_arn=key_arn,
                ),
                after_account,
            )
            if phase >= 4:
                self.reconcile_function = SyncFunction(
                    f"{name}-reconcile",
                    SyncFunctionArgs(
                        scope=scope,
                        kind="reconcile",
                        role_arn=self.service_account.role.arn,
                        code=args.function_code,
                        environment=environment_vars,
                        log_retention_days=settings.log_retention_days,
                        enabled=enabled,
                        schedule=RECONCILE_SCHEDULE,
                        on_failure_arn=self.queue.dlq.arn,
                        kms_key_arn=key_arn,
                    ),
                    after_account,
                )
            if ingress and integ.webhook is not None and queue_arn is not None:
                assert self.queue.queue is not None
                hook = integ.webhook
                self.ingress_function = SyncFunction(
                    f"{name}-{WEBHOOK_INGRESS_ROLE}",
                    SyncFunctionArgs(
                        scope=scope,
                        kind="webhook",
                        role=WEBHOOK_INGRESS_ROLE,
                        role_arn=self.service_account.role.arn,
                        code=args.function_code,
                        environment={
                            var.INTEGRATION: integ.name,
                            var.ENVIRONMENT: scope.environment,
                            var.POWERTOOLS_SERVICE_NAME: integ.name,
                            var.WEBHOOK_SCHEME: hook.scheme.value,
                            var.WEBHOOK_OBJECT: hook.object,
                            var.SIGNING_SECRET_ARN: self.credentials.secrets[hook.credential].arn,
                            var.STATE_TABLE: self.state.table.name,
                            var.QUEUE_URL: self.queue.queue.url,
                        },
                        log_retention_days=settings.log_retention_days,
                        kms_key_arn=key_arn,
                    ),
                    after_account,
                )
            reverse_watch = None
            if self.reverse_queue is not None and self.reverse_queue.queue is not None:
                self.reverse_function = SyncFunction(
                    f"{name}-{REVERSE_CONSUMER}",
                    SyncFunctionArgs(
                        scope=scope,
                        kind="consumer",
                        role=REVERSE_CONSUMER,
                        role_arn=self.service_account.role.arn,
                        code=args.function_code,
                        environment=self._environment(
                            integ, roadmap, scope, "consumer", settings, "reverse"
                        ),
                        log_retention_days=settings.log_retention_days,
                        enabled=enabled,
                        queue_arn=self.reverse_queue.queue.arn,
                        maximum_concurrency=concurrency,
                        batching=consumer_batching(integ, roadmap, reverse=True),
                        kms_key_arn=key_arn,
                    ),
                    after_account,
                )
                reverse_watch = DirectionWatch(
                    self.reverse_function.function.name,
                    TIMEOUT_SECONDS["consumer"],
                    self.reverse_queue.dlq.name,
                    self.reverse_queue.queue.name,
                )
            endpoint = settings.alarm_routing.endpoint_for(integ.alert_path)
            address: pulumi.Input[str] | None = endpoint.endpoint if endpoint else None
            if endpoint and settings.is_secret("alarmRouting"):
                # As `Config.require_secret` would: what came from a `secure:` value (a
                # PagerDuty URL carries its integration key) stays a secret in the state.
                address = pulumi.Output.secret(endpoint.endpoint)
            self.alarms = IntegrationAlarms(
                name,
                IntegrationAlarmsArgs(
                    scope=scope,
                    phase=phase,
                    alert_path=integ.alert_path,
                    endpoint=(endpoint.protocol, address) if endpoint and address else None,
                    function_name=self.sync_function.function.name,
                    function_timeout_seconds=TIMEOUT_SECONDS[main_kind],
                    dlq_name=self.queue.dlq.name,
                    queue_name=self.queue.queue.name if self.queue.queue else None,
                    secret_arns=secret_arns,
                    max_staleness_seconds=integ.service_levels.max_staleness_minutes * 60,
                    api_calls_threshold=api_alarm_threshold(integ, roadmap),
                    reconcile_function_name=(
                        self.reconcile_function.function.name if self.reconcile_function else None
                    ),
                    kms_key_arn=key_arn,
                    reverse=reverse_watch,
                    review_queue_name=self.queue.review.name if self.queue.review else None,
                    manual_secrets={
                        c.name: (self.credentials.secrets[c.name].name, c.rotation_days)
                        for c in integ.credentials
                        if roadmap.rotation_mode(c) == "manual"
                    },
                    ingress=(
                        DirectionWatch(
                            self.ingress_function.function.name,
                            TIMEOUT_SECONDS["webhook"],
                            self.queue.dlq.name,
                            None,
                        )
                        if self.ingress_function is not None
                        else None
                    ),
                    slack=(channel.workspace_id, channel.channel_id)
                    if (channel := settings.alarm_routing.slack_channel(integ.alert_path))
                    else None,
                ),
                child,
            )

        self.outputs = self._outputs(phase, settings.region, main_kind)
        self.register_outputs(self.outputs)

    @staticmethod
    def _queue_grants(
        queue: SyncQueue, reverse: SyncQueue | None, phase: int, signing: pulumi.Output[str] | None
    ) -> list[Grant]:
        """What the functions may do with the integration's queues, in order: produce to the
        DLQ, consume the source queue (and re-drive it from phase 4), let the webhook ingress
        read its signing secret (`signing`) and enqueue, park in the review queue, consume
        the way back and dead-letter it."""
        # The consumer dead-letters permanent failures (schema mismatch, 4xx) at once with
        # the reason attached; scheduled jobs' failed async invocations land there too.
        grants = [Grant("produce-to-queue", [queue.dlq.arn])]
        if queue.queue is not None:
            grants.append(Grant("consume-queue", [queue.queue.arn]))
            if phase >= 4:  # reconciliation re-drives the gaps it finds
                grants.append(Grant("produce-to-queue", [queue.queue.arn]))
            if signing is not None:
                grants += [
                    Grant("ingress-reads-signing-secret", [signing]),
                    Grant("produce-to-queue", [queue.queue.arn]),
                ]
        if queue.review is not None:  # either direction parks contested changes
            grants.append(Grant("produce-to-queue", [queue.review.arn]))
        if reverse is not None and reverse.queue is not None:
            grants.append(Grant("consume-queue", [reverse.queue.arn]))
            grants.append(Grant("produce-to-queue", [reverse.dlq.arn]))
        return grants

    def _queue_outputs(self) -> dict[str, Any]:
        """The queues' URLs: DLQ, source and review queue, and the way back's two."""
        out: dict[str, Any] = {}
        if self.queue is not None:
            out["dlqUrl"] = self.queue.dlq.url
            if self.queue.queue is not None:
                out["queueUrl"] = self.queue.queue.url
            if self.queue.review is not None:
                out["reviewQueueUrl"] = self.queue.review.url
        if self.reverse_queue is not None and self.reverse_queue.queue is not None:
            out["reverseQueueUrl"] = self.reverse_queue.queue.url
            out["reverseDlqUrl"] = self.reverse_queue.dlq.url
        return out

    def _outputs(self, phase: int, region: str, main_kind: Kind) -> dict[str, Any]:
        """What an operator looks up (README, "Stack outputs"): one entry per thing."""
        functions: dict[str, Any] = {"rotation": self.credentials.rotation_function.name}
        out: dict[str, Any] = {
            "phase": phase,
            "roleArn": self.service_account.role.arn,
            "rotationRoleArn": self.credentials.rotation_role.arn,
            "keyArn": self.credentials.key.arn,
            "secretArns": {n: s.arn for n, s in self.credentials.secrets.items()},
            "functionNames": functions,
        }
        out |= self._queue_outputs()
        if self.reverse_function is not None:
            functions[REVERSE_CONSUMER] = self.reverse_function.function.name
        if self.ingress_function is not None:
            functions[WEBHOOK_INGRESS_ROLE] = self.ingress_function.function.name
            assert isinstance(self.ingress_function.trigger, aws.lambda_.FunctionUrl)
            out["webhookUrl"] = self.ingress_function.trigger.function_url
        if self.state is not None:
            out["stateTable"] = self.state.table.name
        if self.stage is not None:
            out["stageBucket"] = self.stage.bucket.id
            if self.stage.role is not None:
                # What CREATE STORAGE INTEGRATION takes as STORAGE_AWS_ROLE_ARN.
                out["stageRoleArn"] = self.stage.role.arn
        if self.sync_function is not None:
            out["functionName"] = self.sync_function.function.name
            functions[main_kind] = self.sync_function.function.name
        if self.reconcile_function is not None:
            functions["reconcile"] = self.reconcile_function.function.name
        if self.alarms is not None:
            out["alertTopicArn"] = self.alarms.topic.arn
            if self.alarms.dashboard is not None:
                # The CloudWatch console's address of a dashboard (CloudWatch user guide,
                # "Using Amazon CloudWatch dashboards").
                out["dashboardUrl"] = self.alarms.dashboard.dashboard_name.apply(
                    lambda name: (
                        f"https://{region}.console.aws.amazon.com/cloudwatch/home"
                        f"?region={region}#dashboards/dashboard/{name}"
                    )
                )
        return out

    def _environment(
        self,
        integ: RoadmapIntegration,
        roadmap: Roadmap,
        scope: Scope,
        kind: str,
        settings: StackSettings,
        direction: FlowDirection = "forward",
    ) -> dict[str, pulumi.Input[str]]:
        """contracts.md, Sync function environment variables: names and ARNs, no secrets.

        The reverse direction of a bidirectional flow reads the target as its source and
        writes into the source, through its own queues, with the mapping inverted.
        """
        assert self.queue is not None and self.state is not None
        queues = self.queue if direction == "forward" else self.reverse_queue
        assert queues is not None
        source, target = integ.source, integ.target
        sides: tuple[Side, Side] = ("source", "target")
        if direction == "reverse":
            source, target = target, source
            sides = ("target", "source")

        def secret_for(system: str) -> pulumi.Input[str]:
            # A pusher's access key or signing secret authenticates calls to us, not from us.
            for cred in integ.credentials:
                if cred.system == system and cred.kind.calls_out:
                    return self.credentials.secrets[cred.name].arn
            return ""

        mapping = integ.field_mapping(direction)
        env: dict[str, pulumi.Input[str]] = {
            var.INTEGRATION: integ.name,
            var.ENVIRONMENT: scope.environment,
            var.POWERTOOLS_SERVICE_NAME: integ.name,
            var.METRICS_NAMESPACE: scope.metrics_namespace,
            var.SOURCE_SYSTEM: source,
            var.TARGET_SYSTEM: target,
            var.SOURCE_BASE_URL: _base_url(roadmap, source),
            var.TARGET_BASE_URL: _base_url(roadmap, target),
            var.SOURCE_CONNECTOR: roadmap.connector(integ, sides[0]).name,
            var.TARGET_CONNECTOR: roadmap.connector(integ, sides[1]).name,
            var.SOURCE_CREDENTIAL_SECRET_ARN: secret_for(source),
            var.TARGET_CREDENTIAL_SECRET_ARN: secret_for(target),
            var.STATE_TABLE: self.state.table.name,
            var.DLQ_URL: queues.dlq.url,
            var.FIELD_MAPPING: json.dumps(mapping, sort_keys=True),
            var.FIFO: "true" if integ.fifo else "false",
            var.API_CALLS_PER_DAY: str(salesforce_calls_per_day(integ, roadmap)),
            var.MAX_STALENESS_SECONDS: str(integ.service_levels.max_staleness_minutes * 60),
        }
        if queues.queue is not None:
            env[var.QUEUE_URL] = queues.queue.url
        conflict = integ.conflict_contract(roadmap, direction)
        if conflict is not None:
            env[var.CONFLICT] = json.dumps(conflict, sort_keys=True)
        if self.queue.review is not None:
            env[var.REVIEW_QUEUE_URL] = self.queue.review.url
        if kind == "batch":
            env[var.BATCH_OVERLAP_SECONDS] = str(settings.batch_overlap_seconds)
        source_reader = roadmap.connector(integ, sides[0]).name
        if direction != "reverse" and reads_in_bulk(integ) and source_reader == "salesforce":
            # The batch job and the reconciliation job (which shares this environment).
            env[var.SOURCE_BULK_QUERY] = "true"
        if self.stage is not None and direction == "forward":
            env[var.STAGE_BUCKET] = self.stage.bucket_name
        return env
