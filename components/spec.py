"""What one integration needs in one stack, read from the roadmap and the stack's settings.

Plain values, no Pulumi: which functions its phase runs and how (kind, timeout, batching,
concurrency, kill switch), each direction's environment variables, its credentials with
their bootstrap documents and rotation modes, its pushers and webhook ingress, and what
its alarms watch and whom they page. `components.integration.Integration` wires resources
from an `IntegrationSpec`; everything here can be read and tested without a Pulumi run.

Usage::

    spec = integration_spec(roadmap.integration("quote-to-order"), roadmap, settings)
    spec.function_roles  # ('consumer', 'reconcile')
    spec.forward.environment["FIELD_MAPPING"]
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from contract import environment as var
from contract.connectors import SNOWFLAKE
from contract.metrics import namespace
from contract.naming import WEBHOOK_INGRESS_ROLE, physical_name
from contract.phases import REVERSE
from roadmap.budget import (
    Batching,
    api_alarm_threshold,
    consumer_batching,
    reads_in_bulk,
    salesforce_calls_per_day,
)
from roadmap.concurrency import (
    INGRESS_TIMEOUT_SECONDS,
    ingress_reserved_concurrency,
    ingress_webhook,
)
from roadmap.integrations import ConflictStrategy, Credential, CredentialKind, FlowDirection, Side
from roadmap.integrations import Integration as RoadmapIntegration
from roadmap.model import Roadmap
from roadmap.settings import SnowflakeStage, StackSettings

__all__ = [
    "MAX_CONCURRENCY",
    "MIN_CONCURRENCY",
    "RECONCILE_SCHEDULE",
    "REVERSE_CONSUMER",
    "TIMEOUT_SECONDS",
    "AlarmSpec",
    "CredentialSpec",
    "DirectionSpec",
    "IntegrationSpec",
    "Kind",
    "base_environment",
    "consumer_concurrency",
    "integration_spec",
]

Kind = Literal["consumer", "batch", "reconcile", "webhook"]

# Timeouts fixed by docs/contracts.md (Sync function environment variables); the ingress's
# in roadmap.concurrency, whose reservation it sizes.
TIMEOUT_SECONDS: dict[str, int] = {
    "consumer": 60,
    "batch": 300,
    "reconcile": 300,
    "webhook": INGRESS_TIMEOUT_SECONDS,
}
# SQS event source mappings: MaximumConcurrency 2-1000 (Lambda API reference, ScalingConfig).
MIN_CONCURRENCY, MAX_CONCURRENCY = 2, 1000
# The role of a bidirectional flow's target-to-source consumer (contract.phases).
REVERSE_CONSUMER = f"{REVERSE}-consumer"
# Reconciliation compares source and target once a day, after the nightly loads.
RECONCILE_SCHEDULE = "cron(30 3 * * ? *)"
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class CredentialSpec:
    """One roadmap credential and the non-secret fields of its bootstrap document."""

    name: str
    kind: str
    rotation_days: int
    bootstrap: Mapping[str, Any] = field(default_factory=dict)
    # Rotated by hand (its vendor issues the next one only in its console): tagged
    # `rotation=manual`, so the pack requires its secret-age alarm (contract.phases).
    manual: bool = False


@dataclass(frozen=True)
class DirectionSpec:
    """One direction of a flow: its consumer's plain environment and its batch.

    `environment` holds every variable known before deployment; the wiring adds the ones
    that name created resources (STATE_TABLE, the queues' URLs, the credential secrets'
    ARNs: `source_credential` and `target_credential`, the credentials it calls out with).
    """

    direction: FlowDirection
    environment: dict[str, str]
    batching: Batching
    source_credential: str | None
    target_credential: str | None


@dataclass(frozen=True)
class AlarmSpec:
    """What the integration's alarms need beyond the resources they watch."""

    max_staleness_seconds: int
    # ApiCallsUsed a day above which the api-budget alarm pages (roadmap.budget)
    api_calls_threshold: int
    # alarmRouting's endpoint for the alert path: (protocol, address, from a `secure:` value)
    endpoint: tuple[str, str, bool] | None
    # A `slack:` path's channel (workspace id, channel id): AWS Chatbot posts the topic there.
    slack: tuple[str, str] | None
    # Credentials rotated by hand: name -> rotation_days (their secret-age alarms)
    manual_credentials: dict[str, int]


@dataclass(frozen=True)
class IntegrationSpec:
    """Everything one integration at its phase in this stack is made of, as plain values."""

    name: str
    environment: str
    phase: int
    tags: dict[str, str]
    renamed_from: tuple[str, ...]
    main_kind: Kind
    queued: bool
    fifo: bool
    both_ways: bool
    review: bool
    # The signed-webhook ingress (phase >= 3, queued flows): its scheme, object, secret,
    # and the concurrency it reserves behind its public URL (roadmap.concurrency).
    webhook: tuple[str, str, str] | None
    ingress_concurrency: int | None
    # A warehouse pipeline's stage: the warehouse, and Snowflake's storage integration.
    warehouse: str | None
    snowflake: SnowflakeStage | None
    objects: tuple[str, ...]
    schedule: str | None
    function_roles: tuple[str, ...]
    credentials: tuple[CredentialSpec, ...]
    # The credentials the sync functions call out with (not a pusher's key or a signing secret)
    calls_out: tuple[str, ...]
    # Pushers with an IAM access key: (credential, the source ranges they push from)
    pushers: tuple[tuple[str, tuple[str, ...]], ...]
    concurrency: int
    trigger_enabled: bool
    forward: DirectionSpec
    reverse: DirectionSpec | None
    alarms: AlarmSpec

    @property
    def ingress(self) -> bool:
        return self.webhook is not None


def base_environment(integration: str, environment: str) -> dict[str, str]:
    """The variables every function of an integration starts from (contracts.md)."""
    return {
        var.INTEGRATION: integration,
        var.ENVIRONMENT: environment,
        var.POWERTOOLS_SERVICE_NAME: integration,
    }


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
    cred: Credential, integ: RoadmapIntegration, roadmap: Roadmap, settings: StackSettings
) -> dict[str, Any]:
    """Non-secret fields of the first version (secrets/credential_rotation/formats.py).

    Identifiers the issuer has not assigned yet are placeholders; the rotation runbook
    (formats.py, "Bootstrap") replaces them before the first rotation completes.
    """

    def physical(role: str) -> str:
        return physical_name(settings.name_prefix, integ.name, role)

    base = _base_url(roadmap, cred.system) or f"https://{cred.system}.invalid"
    if cred.kind is CredentialKind.SALESFORCE_JWT_BEARER:
        # Sandboxes log in at test.salesforce.com (Salesforce Help, "OAuth 2.0 JWT Bearer Flow").
        prod = settings.environment == "prod"
        return {
            "login_url": "https://login.salesforce.com" if prod else "https://test.salesforce.com",
            "username": f"{physical('integration')}@placeholder.invalid",
            "client_id": "pending-slot-a",
            "client_ids": {"a": "pending-slot-a", "b": "pending-slot-b"},
            "slot": "a",
            "certificate_pem": "",
            "admin_url": base,
        }
    if cred.kind is CredentialKind.OAUTH_CLIENT_CREDENTIALS:
        doc = {
            "token_url": f"{base}/oauth/token",
            "client_id": physical(cred.name),
            "client_secret_id": "",
            "admin_url": base,
        }
        if cred.scopes:
            doc["scope"] = " ".join(cred.scopes)
        return doc
    if cred.kind is CredentialKind.SNOWFLAKE_KEY_PAIR:
        # Snowflake's account identifier is the first label of its host name.
        return {
            "account_url": base,
            "account": base.split("//", 1)[-1].split(".", 1)[0],
            "user": physical("integration").upper().replace("-", "_"),
            "slot": "1",
            "public_key_fingerprint": "",
        }
    if cred.kind is CredentialKind.IAM_ACCESS_KEY:
        return {"user_name": physical(f"cred-{cred.name}"), "access_key_id": ""}
    return _IDENTIFIER_PLACEHOLDERS[cred.kind](base)


# The kinds whose bootstrap document is the issuer's base URL and empty identifiers.
_IDENTIFIER_PLACEHOLDERS: dict[CredentialKind, Callable[[str], dict[str, Any]]] = {
    CredentialKind.API_KEY: lambda base: {"base_url": base, "key_id": "", "admin_url": base},
    CredentialKind.BASIC_TOKEN: lambda base: {
        "base_url": base,
        "username": "",
        "token_id": "",
        "admin_url": base,
    },
    CredentialKind.NETSUITE_TBA: lambda base: {
        "base_url": base,
        "account_id": "",
        "consumer_key": "",
        "token_id": "",
    },
    CredentialKind.WEBHOOK_SIGNING_SECRET: lambda base: {"scheme": "hmac-sha256"},
}


def _function_roles(phase: int, main_kind: Kind, *, both_ways: bool, ingress: bool) -> list[str]:
    """The sync functions a phase runs: none before phase 3, then the main one, the
    reconciliation from phase 4, the way back's consumer and the webhook ingress."""
    if phase < 3:
        return []
    roles = [main_kind, *(["reconcile"] if phase >= 4 else [])]
    roles += [REVERSE_CONSUMER] if both_ways else []
    roles += [WEBHOOK_INGRESS_ROLE] if ingress else []
    return roles


def _direction(
    integ: RoadmapIntegration,
    roadmap: Roadmap,
    settings: StackSettings,
    main_kind: Kind,
    direction: FlowDirection,
) -> DirectionSpec:
    """contracts.md, Sync function environment variables: names, no secrets, no ARNs.

    The reverse direction of a bidirectional flow reads the target as its source and
    writes into the source, with the mapping inverted.
    """
    source, target = integ.source, integ.target
    sides: tuple[Side, Side] = ("source", "target")
    if direction == "reverse":
        source, target = target, source
        sides = ("target", "source")
    source_connector = roadmap.connector(integ, sides[0]).name
    env = base_environment(integ.name, settings.environment) | {
        var.METRICS_NAMESPACE: namespace(integ.name),
        var.SOURCE_SYSTEM: source,
        var.TARGET_SYSTEM: target,
        var.SOURCE_BASE_URL: _base_url(roadmap, source),
        var.TARGET_BASE_URL: _base_url(roadmap, target),
        var.SOURCE_CONNECTOR: source_connector,
        var.TARGET_CONNECTOR: roadmap.connector(integ, sides[1]).name,
        var.FIELD_MAPPING: json.dumps(integ.field_mapping(direction), sort_keys=True),
        var.FIFO: "true" if integ.fifo else "false",
        var.API_CALLS_PER_DAY: str(salesforce_calls_per_day(integ, roadmap)),
        var.MAX_STALENESS_SECONDS: str(integ.service_levels.max_staleness_minutes * 60),
    }
    conflict = integ.conflict_contract(roadmap, direction)
    if conflict is not None:
        env[var.CONFLICT] = json.dumps(conflict, sort_keys=True)
    if main_kind == "batch" and direction == "forward":
        env[var.BATCH_OVERLAP_SECONDS] = str(settings.batch_overlap_seconds)
    if direction == "forward" and reads_in_bulk(integ) and source_connector == "salesforce":
        # The batch job and the reconciliation job (which shares this environment).
        env[var.SOURCE_BULK_QUERY] = "true"

    def calling_out(system: str) -> str | None:
        # A pusher's access key or signing secret authenticates calls to us, not from us.
        found = (c.name for c in integ.credentials if c.system == system and c.kind.calls_out)
        return next(found, None)

    return DirectionSpec(
        direction=direction,
        environment=env,
        batching=consumer_batching(integ, roadmap, reverse=direction == "reverse"),
        source_credential=calling_out(source),
        target_credential=calling_out(target),
    )


def _alarms(integ: RoadmapIntegration, roadmap: Roadmap, settings: StackSettings) -> AlarmSpec:
    routing = settings.alarm_routing
    endpoint = routing.endpoint_for(integ.alert_path)
    channel = routing.slack_channel(integ.alert_path)
    return AlarmSpec(
        max_staleness_seconds=integ.service_levels.max_staleness_minutes * 60,
        api_calls_threshold=api_alarm_threshold(integ, roadmap),
        # As `Config.require_secret` would: what came from a `secure:` value (a PagerDuty
        # URL carries its integration key) stays a secret in the state.
        endpoint=(endpoint.protocol, endpoint.endpoint, settings.is_secret("alarmRouting"))
        if endpoint
        else None,
        slack=(channel.workspace_id, channel.channel_id) if channel else None,
        manual_credentials={
            c.name: c.rotation_days
            for c in integ.credentials
            if roadmap.rotation_mode(c) == "manual"
        },
    )


def integration_spec(
    integ: RoadmapIntegration, roadmap: Roadmap, settings: StackSettings
) -> IntegrationSpec:
    """What `integ` needs at its phase in the stack; ValueError when it cannot be built."""
    environment = settings.environment
    phase = integ.phase(environment)
    if phase < 2:
        raise ValueError(
            f"{integ.name} is at phase {phase} (discovery) in {environment}, which "
            "provisions nothing; build only integrations at phase >= 2"
        )
    main_kind: Kind = "consumer" if integ.pattern.queued else "batch"
    # Both ways: a second queue and consumer for target-to-source changes (phase >= 3).
    both_ways = len(integ.flows(environment)) == 2
    rule = integ.conflict_rule
    review = both_ways and rule is not None and rule.strategy is ConflictStrategy.MANUAL_REVIEW
    hook = ingress_webhook(integ, environment)
    warehouse = roadmap.stage_warehouse(integ, environment)
    snowflake = settings.snowflake.get(integ.name) if warehouse == SNOWFLAKE else None
    if warehouse == SNOWFLAKE and snowflake is None:
        raise ValueError(
            f"{integ.name} stages its records for Snowflake but the stack sets no "
            f"snowflake.{integ.name}; copy storageAwsIamUserArn and storageAwsExternalId "
            "from DESC INTEGRATION into the stack file (README, Stack settings)"
        )
    forward = _direction(integ, roadmap, settings, main_kind, "forward")
    return IntegrationSpec(
        name=integ.name,
        environment=environment,
        phase=phase,
        tags={
            "integration": integ.name,
            "owner": integ.owner_team,
            "phase": str(phase),
            "environment": environment,
            "runbook": str(integ.runbook),
            "alert-path": integ.alert_path,
        },
        renamed_from=tuple(integ.renamed_from),
        main_kind=main_kind,
        queued=integ.pattern.queued,
        fifo=integ.fifo,
        both_ways=both_ways,
        review=review,
        webhook=(hook.scheme.value, hook.object, hook.credential) if hook else None,
        ingress_concurrency=ingress_reserved_concurrency(integ) if hook else None,
        warehouse=warehouse,
        snowflake=snowflake,
        objects=tuple(integ.objects),
        schedule=integ.schedule,
        function_roles=tuple(
            _function_roles(phase, main_kind, both_ways=both_ways, ingress=hook is not None)
        ),
        credentials=tuple(
            CredentialSpec(
                name=c.name,
                kind=c.kind.value,
                rotation_days=c.rotation_days,
                bootstrap=_bootstrap(c, integ, roadmap, settings),
                manual=roadmap.rotation_mode(c) == "manual",
            )
            for c in integ.credentials
        ),
        calls_out=tuple(c.name for c in integ.credentials if c.kind.calls_out),
        pushers=tuple(
            (c.name, tuple(c.source_ranges))
            for c in integ.credentials
            if c.kind is CredentialKind.IAM_ACCESS_KEY
        ),
        concurrency=consumer_concurrency(integ, roadmap),
        trigger_enabled=settings.trigger_enabled(integ.name),
        forward=forward,
        reverse=_direction(integ, roadmap, settings, main_kind, "reverse") if both_ways else None,
        alarms=_alarms(integ, roadmap, settings),
    )
