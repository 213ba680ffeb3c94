"""One roadmap integration in one environment: exactly the resources its phase needs.

Wires the other components from an `IntegrationSpec` (components/spec.py: what the
roadmap entry and the stack's settings ask for, as plain values), and tags every resource
with integration, owner, phase, environment, runbook and alert path (contracts.md, Tags).
What each phase adds (README, phase table):

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
        spec=integration_spec(roadmap.integration("quote-to-order"), roadmap, settings),
        settings=settings, function_code=functions_zip, rotation_code=secrets_zip))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components._scope import Scope
from components.alarms import DirectionWatch, IntegrationAlarms, IntegrationAlarmsArgs
from components.credential import ScopedCredential, ScopedCredentialArgs
from components.deployer import deploying_principal
from components.function import SyncFunction, SyncFunctionArgs
from components.idempotency import IdempotencyStore, IdempotencyStoreArgs
from components.queue import SyncQueue, SyncQueueArgs
from components.service_account import Grant, Pusher, ServiceAccount, ServiceAccountArgs
from components.spec import (
    RECONCILE_SCHEDULE,
    REVERSE_CONSUMER,
    TIMEOUT_SECONDS,
    DirectionSpec,
    IntegrationSpec,
    Kind,
    base_environment,
)
from components.stage import STAGE_ROLE_NAME, Stage, StageArgs
from contract import environment as var
from contract.aws_types import INTEGRATION
from contract.naming import WEBHOOK_INGRESS_ROLE
from contract.phases import REVERSE
from roadmap.budget import Batching
from roadmap.settings import StackSettings

__all__ = ["Integration", "IntegrationArgs"]


@dataclass
class IntegrationArgs:
    """Inputs of an Integration: what it needs (its spec), the stack's settings, the code.

    `account_id` is the account being deployed into; by default the engine's own
    (`aws.get_caller_identity()`), which the program asks once for every integration.
    """

    spec: IntegrationSpec
    settings: StackSettings
    function_code: pulumi.Archive
    rotation_code: pulumi.Archive
    account_id: str | None = None
    # The principal deploying the stack, which administers the secrets; by default the
    # engine's caller (`components.deployer.deploying_principal`).
    deployer_arn: str | None = None


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
        spec, settings = args.spec, args.settings
        # A renamed integration keeps its resources: the engine resolves each child's former
        # URN from the component's alias, since every child's name starts with `name`
        # (Pulumi docs, "Resource options: aliases").
        renamed = pulumi.ResourceOptions(aliases=[pulumi.Alias(name=n) for n in spec.renamed_from])
        super().__init__(
            INTEGRATION,
            name,
            None,
            pulumi.ResourceOptions.merge(opts, renamed),
        )
        self.phase = spec.phase
        self._name, self._spec, self._settings, self._args = name, spec, settings, args
        self._scope = scope = Scope(
            environment=spec.environment,
            name_prefix=settings.name_prefix,
            integration=spec.name,
            account_id=args.account_id or aws.get_caller_identity().account_id,
            region=settings.region,
            tags=spec.tags,
            protect_stateful=settings.protect_stateful,
        )
        self._child = pulumi.ResourceOptions(parent=self)
        self.queue = self.state = self.sync_function = self.reconcile_function = None
        self.reverse_queue = self.reverse_function = self.ingress_function = None
        self.alarms = self.stage = None

        self.credentials = self._scoped_credential()
        key_arn = self.credentials.key.arn
        secrets = self.credentials.secrets
        # A pusher's access key is the external system's, read by its rotation role only; a
        # webhook signing secret is read by the ingress alone (below).
        grants = [Grant("decrypt-with-key", [key_arn])]
        if spec.calls_out:
            grants.insert(0, Grant("read-secret", [secrets[c].arn for c in spec.calls_out]))
        if spec.warehouse is not None:
            self.stage = Stage(
                name,
                StageArgs(
                    scope=scope,
                    kms_key_arn=key_arn,
                    objects=spec.objects,
                    snowflake=spec.snowflake,
                    permissions_boundary_arn=settings.permissions_boundary_arn,
                ),
                self._child,
            )
            grants += [
                Grant("write-stage", self.stage.object_arns),
                Grant("encrypt-stage-files", [key_arn]),
            ]
        if spec.phase >= 3:
            grants += self._queues_and_state()

        queue_arn = self.queue.queue.arn if self.queue and self.queue.queue else None
        self.service_account = ServiceAccount(
            name,
            ServiceAccountArgs(
                scope=scope,
                grants=grants,
                permissions_boundary_arn=settings.permissions_boundary_arn,
                pushers=[
                    Pusher(
                        credential, queue_arn, key_arn, ranges, secret_arn=secrets[credential].arn
                    )
                    for credential, ranges in spec.pushers
                ],
            ),
            self._child,
        )
        if self.queue is not None and self.state is not None:
            self._functions_and_alarms()

        self.outputs = self._outputs(spec.phase, settings.region, spec.main_kind)
        self.register_outputs(self.outputs)

    def _scoped_credential(self) -> ScopedCredential:
        """The key, the rotated secrets and their rotator (phase 2 on)."""
        spec, settings, scope = self._spec, self._settings, self._scope
        return ScopedCredential(
            self._name,
            ScopedCredentialArgs(
                scope=scope,
                credentials=spec.credentials,
                rotation_code=self._args.rotation_code,
                max_rotation_days=settings.max_rotation_days,
                permissions_boundary_arn=settings.permissions_boundary_arn,
                log_retention_days=settings.log_retention_days,
                pusher_user_arns=[scope.user_arn(f"cred-{c}") for c, _ in spec.pushers],
                administrator_arns=[
                    self._args.deployer_arn or deploying_principal(),
                    *settings.secret_administrator_arns,
                ],
                function_roles=spec.function_roles,
                key_user_arns=[scope.role_arn(STAGE_ROLE_NAME)] if spec.snowflake else [],
                alert_topic=spec.phase >= 3,
            ),
            self._child,
        )

    def _queues_and_state(self) -> list[Grant]:
        """The queues (both ways, and the review queue) and the state table (phase 3 on),
        and what the functions may do with them."""
        spec, scope, name = self._spec, self._scope, self._name
        key_arn = self.credentials.key.arn

        def sync_queue(name: str, batching: Batching, **shape: Any) -> SyncQueue:
            return SyncQueue(
                name,
                SyncQueueArgs(
                    scope=scope,
                    kms_key_arn=key_arn,
                    fifo=spec.fifo,
                    consumer_timeout_seconds=TIMEOUT_SECONDS["consumer"],
                    batching=batching,
                    **shape,
                ),
                self._child,
            )

        self.queue = queue = sync_queue(
            name, spec.forward.batching, with_source=spec.queued, with_review=spec.review
        )
        if spec.reverse is not None:
            self.reverse_queue = sync_queue(
                f"{name}-{REVERSE}", spec.reverse.batching, role_prefix=f"{REVERSE}-"
            )
        self.state = IdempotencyStore(
            name, IdempotencyStoreArgs(scope=scope, kms_key_arn=key_arn), self._child
        )
        # Pushers may use their keys from now on: superseded keys are retired on a
        # schedule once unused, a failed run kept in the DLQ like the scheduled jobs'.
        self.credentials.retire_superseded_keys(queue.dlq)
        grants = [
            Grant("read-write-state", [self.state.table.arn]),
            Grant("write-own-logs", [scope.log_streams_arn(k) for k in spec.function_roles]),
            Grant("put-metrics"),
        ]
        signing = self.credentials.secrets[spec.webhook[2]].arn if spec.webhook else None
        return grants + self._queue_grants(queue, self.reverse_queue, spec.phase, signing)

    def _function(
        self,
        kind: Kind,
        environment: dict[str, pulumi.Input[str]],
        role: str | None = None,
        **trigger: Any,
    ) -> SyncFunction:
        """One sync function of the integration, run as its role, after the whole account:
        Lambda checks the role's queue and DLQ permissions when the function and its trigger
        are created."""
        settings = self._settings
        return SyncFunction(
            f"{self._name}-{role or kind}",
            SyncFunctionArgs(
                scope=self._scope,
                kind=kind,
                role=role,
                role_arn=self.service_account.role.arn,
                code=self._args.function_code,
                environment=environment,
                log_retention_days=settings.log_retention_days,
                kms_key_arn=self.credentials.key.arn,
                **trigger,
            ),
            pulumi.ResourceOptions(parent=self, depends_on=[self.service_account]),
        )

    def _functions_and_alarms(self) -> None:
        """The main function, the reconciliation, the way back's consumer, the webhook
        ingress, and the alarms on all of them (phase 3 on)."""
        spec, queue = self._spec, self.queue
        assert queue is not None and self.state is not None
        main_kind, enabled = spec.main_kind, spec.trigger_enabled
        environment = self._environment(spec.forward, queue)
        self.sync_function = self._function(
            main_kind,
            environment,
            enabled=enabled,
            queue_arn=queue.queue.arn if queue.queue else None,
            maximum_concurrency=spec.concurrency,
            batching=spec.forward.batching,
            schedule=spec.schedule,
            on_failure_arn=None if spec.queued else queue.dlq.arn,
        )
        if spec.phase >= 4:
            self.reconcile_function = self._function(
                "reconcile",
                environment,
                enabled=enabled,
                schedule=RECONCILE_SCHEDULE,
                on_failure_arn=queue.dlq.arn,
            )
        if spec.webhook is not None and queue.queue is not None:
            scheme, hook_object, signing = spec.webhook
            ingress_env: dict[str, pulumi.Input[str]] = {
                **base_environment(spec.name, spec.environment),
                var.WEBHOOK_SCHEME: scheme,
                var.WEBHOOK_OBJECT: hook_object,
                var.SIGNING_SECRET_ARN: self.credentials.secrets[signing].arn,
                var.STATE_TABLE: self.state.table.name,
                var.QUEUE_URL: queue.queue.url,
            }
            self.ingress_function = self._function(
                "webhook",
                ingress_env,
                role=WEBHOOK_INGRESS_ROLE,
                reserved_concurrency=spec.ingress_concurrency,
            )
        reverse_watch = None
        back = self.reverse_queue
        if spec.reverse is not None and back is not None and back.queue is not None:
            self.reverse_function = self._function(
                "consumer",
                self._environment(spec.reverse, back),
                role=REVERSE_CONSUMER,
                enabled=enabled,
                queue_arn=back.queue.arn,
                maximum_concurrency=spec.concurrency,
                batching=spec.reverse.batching,
            )
            reverse_watch = self._watch(self.reverse_function, "consumer", back)
        self.alarms = self._alarms(reverse_watch)

    @staticmethod
    def _watch(
        function: SyncFunction, kind: Kind, queues: SyncQueue, *, source: bool = True
    ) -> DirectionWatch:
        """What one direction's alarms watch: its function, DLQ and (source) queue."""
        queue_name = queues.queue.name if source and queues.queue else None
        return DirectionWatch(
            function.function.name, TIMEOUT_SECONDS[kind], queues.dlq.name, queue_name
        )

    def _alarms(self, reverse: DirectionWatch | None) -> IntegrationAlarms:
        spec, alarms, queue = self._spec, self._spec.alarms, self.queue
        assert queue is not None and self.sync_function is not None
        endpoint: tuple[str, pulumi.Input[str]] | None = None
        if alarms.endpoint is not None:
            protocol, address, secret = alarms.endpoint
            endpoint = (protocol, pulumi.Output.secret(address) if secret else address)
        forward = self._watch(self.sync_function, spec.main_kind, queue)
        return IntegrationAlarms(
            self._name,
            IntegrationAlarmsArgs(
                scope=self._scope,
                phase=spec.phase,
                alert_path=spec.tags["alert-path"],
                endpoint=endpoint,
                function_name=forward.function_name,
                function_timeout_seconds=forward.function_timeout_seconds,
                dlq_name=forward.dlq_name,
                queue_name=forward.queue_name,
                secret_arns=[s.arn for s in self.credentials.secrets.values()],
                max_staleness_seconds=alarms.max_staleness_seconds,
                api_calls_threshold=alarms.api_calls_threshold,
                reconcile_function_name=(
                    self.reconcile_function.function.name if self.reconcile_function else None
                ),
                kms_key_arn=self.credentials.key.arn,
                reverse=reverse,
                review_queue_name=queue.review.name if queue.review else None,
                manual_secrets={
                    c: (self.credentials.secrets[c].name, days)
                    for c, days in alarms.manual_credentials.items()
                },
                ingress=self._watch(self.ingress_function, "webhook", queue, source=False)
                if self.ingress_function is not None
                else None,
                slack=alarms.slack,
            ),
            self._child,
        )

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
        self, direction: DirectionSpec, queues: SyncQueue
    ) -> dict[str, pulumi.Input[str]]:
        """A direction's plain variables (its spec) and those naming created resources."""
        assert self.queue is not None and self.state is not None
        secrets = self.credentials.secrets
        env: dict[str, pulumi.Input[str]] = dict(direction.environment)
        for key, credential in (
            (var.SOURCE_CREDENTIAL_SECRET_ARN, direction.source_credential),
            (var.TARGET_CREDENTIAL_SECRET_ARN, direction.target_credential),
        ):
            env[key] = secrets[credential].arn if credential else ""
        env[var.STATE_TABLE] = self.state.table.name
        env[var.DLQ_URL] = queues.dlq.url
        if queues.queue is not None:
            env[var.QUEUE_URL] = queues.queue.url
        if self.queue.review is not None:
            env[var.REVIEW_QUEUE_URL] = self.queue.review.url
        if self.stage is not None and direction.direction == "forward":
            env[var.STAGE_BUCKET] = self.stage.bucket_name
        return env
