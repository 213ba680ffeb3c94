"""An integration: a flow of objects between two systems, and everything needed to run it
safely (credentials, service levels, field mappings, conflict rule, webhook, phases).

Usage::

    from roadmap.integrations import Integration

    integration.flows("dev")  # [('forward', 'salesforce', 'netsuite'), ...]
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, HttpUrl, field_validator

from contract.phases import ENVIRONMENTS
from roadmap.evidence import Evidence
from roadmap.fields import (
    ALERT_PATH_PATTERN,
    API_NAME_PATTERN,
    SCHEDULE_PATTERN,
    Name,
    StrictModel,
)

if TYPE_CHECKING:
    from roadmap.model import Roadmap

__all__ = [
    "ConflictRule",
    "ConflictStrategy",
    "Credential",
    "CredentialKind",
    "Direction",
    "FieldMapping",
    "FlowDirection",
    "Integration",
    "Ordering",
    "Pattern",
    "Phases",
    "ServiceLevels",
    "Side",
    "Webhook",
    "WebhookScheme",
]


class Direction(StrEnum):
    ONE_WAY = "one_way"
    BIDIRECTIONAL = "bidirectional"


# The two directions of a bidirectional flow, as its sync functions name them
# (functions/integration_sync/conflict.py): source to target, and back.
FlowDirection = Literal["forward", "reverse"]
# The two ends of an integration as the roadmap names them.
Side = Literal["source", "target"]


class Pattern(StrEnum):
    REAL_TIME_API = "real_time_api"
    EVENT_DRIVEN = "event_driven"
    BATCH = "batch"
    MIDDLEWARE = "middleware"
    WAREHOUSE_PIPELINE = "warehouse_pipeline"

    @property
    def queued(self) -> bool:
        """Flows that buffer records in a queue consumed by a sync function."""
        return self in (Pattern.EVENT_DRIVEN, Pattern.MIDDLEWARE, Pattern.REAL_TIME_API)

    @property
    def scheduled(self) -> bool:
        """Flows that run on a schedule and page through changes."""
        return self in (Pattern.BATCH, Pattern.WAREHOUSE_PIPELINE)


class Ordering(StrEnum):
    NONE = "none"
    PER_RECORD = "per_record"
    STRICT = "strict"


class CredentialKind(StrEnum):
    """How an integration authenticates (secret shapes: secrets/credential_rotation)."""

    SALESFORCE_JWT_BEARER = "salesforce_jwt_bearer"
    OAUTH_CLIENT_CREDENTIALS = "oauth_client_credentials"
    API_KEY = "api_key"
    IAM_ACCESS_KEY = "iam_access_key"
    NETSUITE_TBA = "netsuite_tba"  # OAuth 1.0a token-based authentication
    SNOWFLAKE_KEY_PAIR = "snowflake_key_pair"  # key-pair JWT, two public-key slots per user
    BASIC_TOKEN = "basic_token"  # user + API token over HTTP Basic (Zendesk, Jira)
    WEBHOOK_SIGNING_SECRET = "webhook_signing_secret"  # the key a source signs pushes with

    @property
    def rotates_by_api(self) -> bool:
        """False where only a person can issue the next credential (a manual swap)."""
        return self not in _MANUAL_SWAP_KINDS

    @property
    def calls_out(self) -> bool:
        """Whether the integration's functions authenticate API calls with it.

        An external pusher's IAM key and a webhook signing secret authenticate calls made
        *to* the integration, so no sync function sends them anywhere.
        """
        return self not in (CredentialKind.IAM_ACCESS_KEY, CredentialKind.WEBHOOK_SIGNING_SECRET)


# NetSuite issues TBA tokens only in its UI, and webhook vendors generate signing secrets in
# their dashboards: secrets/credential_rotation/formats.py, "Manual swap".
_MANUAL_SWAP_KINDS = frozenset({CredentialKind.NETSUITE_TBA, CredentialKind.WEBHOOK_SIGNING_SECRET})


class Credential(StrictModel):
    """A scoped credential the integration uses, stored in Secrets Manager and rotated."""

    name: Name
    kind: CredentialKind
    system: Name = Field(description="the system this credential authenticates to")
    rotation_days: int = Field(ge=1, le=365)
    rotation: Literal["api", "manual"] | None = Field(
        default=None,
        description="manual: a person rotates it every rotation_days with `provisioner rotate "
        "NAME --manual` (required where the vendor issues the next one only in its console)",
    )
    scopes: tuple[str, ...] = ()
    source_ranges: tuple[str, ...] = Field(
        default=(), description="CIDR ranges an external pusher calls from (IAM access keys)"
    )

    @field_validator("source_ranges")
    @classmethod
    def _cidrs(cls, ranges: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in ranges:
            try:
                ipaddress.ip_network(cidr, strict=True)
            except ValueError as err:
                raise ValueError(
                    f"{cidr!r} is not a CIDR range like 203.0.113.0/24 ({err})"
                ) from err
        return ranges


class ServiceLevels(StrictModel):
    """What the business expects of the flow."""

    max_staleness_minutes: int = Field(ge=1, le=10_080)
    expected_records_per_day: int = Field(ge=0)
    # The owners' own estimate, shown beside the computed figure (roadmap.budget) in
    # plan; the budget rules, the alarm and the functions use the computed one.
    salesforce_api_calls_per_day: int = Field(default=0, ge=0)


class FieldMapping(StrictModel):
    """How one object's fields map from source to target, and the target's external id.

    The roadmap names objects by slug (``hw-order``); the systems name them by their own API
    names (Salesforce ``HW_Order__c``). ``api_name`` is what the source calls the object (its
    events and change feeds carry it), ``target_api_name`` what the target's API calls it;
    both default to the slug. `contract` is the one place these become the sync function's
    ``FIELD_MAPPING`` entry, so every name the function uses comes from this mapping.
    """

    object: Name
    api_name: str | None = Field(
        default=None,
        pattern=API_NAME_PATTERN,
        description="the source system's API name for the object (HW_Order__c)",
    )
    target_api_name: str | None = Field(
        default=None,
        pattern=API_NAME_PATTERN,
        description="the target system's API name for the object (customrecord_hw_order)",
    )
    external_id: str = Field(min_length=1, description="target field used for idempotent upsert")
    fields: dict[str, str] = Field(min_length=1, description="source field -> target field")

    @property
    def source_object(self) -> str:
        return self.api_name or self.object

    @property
    def target_object(self) -> str:
        return self.target_api_name or self.object

    def contract(self) -> dict[str, Any]:
        """This object's ``FIELD_MAPPING`` entry (docs/contracts.md), keyed by the slug."""
        return {
            "fields": dict(self.fields),
            "external_id": self.external_id,
            "source_object": self.source_object,
            "target_object": self.target_object,
        }

    @property
    def key_field(self) -> str:
        """The source field whose value the target keeps in ``external_id``."""
        return next(s for s, t in self.fields.items() if t == self.external_id)

    def reverse_contract(self) -> dict[str, Any]:
        """The entry of a bidirectional flow's target-to-source direction: the same pairs the
        other way round, upserting into the source by its own key field, so both directions
        address a record by one value (the source's id)."""
        return {
            "fields": {target: source for source, target in self.fields.items()},
            "external_id": self.key_field,
            "source_object": self.target_object,
            "target_object": self.source_object,
        }


class ConflictStrategy(StrEnum):
    SOURCE_WINS = "source_wins"
    TARGET_WINS = "target_wins"
    LAST_WRITER_WINS = "last_writer_wins"
    MANUAL_REVIEW = "manual_review"


class ConflictRule(StrictModel):
    """How a write into data the source does not own is resolved."""

    strategy: ConflictStrategy
    fields: tuple[str, ...] = Field(default=(), description="fields it covers; empty = all")
    own_users: dict[Name, str] = Field(
        default_factory=dict,
        description="the integration's own user id per system: its changes there are echoes "
        "of this integration's writes and are never sent back",
    )

    def covers(self, field: str) -> bool:
        return not self.fields or field in self.fields


class Phases(StrictModel):
    """The rollout phase (1-5) of an integration in each environment."""

    dev: int = Field(ge=1, le=5)
    staging: int = Field(ge=1, le=5)
    prod: int = Field(ge=1, le=5)

    def __getitem__(self, environment: str) -> int:
        if environment not in ENVIRONMENTS:
            raise KeyError(environment)
        return int(getattr(self, environment))


class WebhookScheme(StrEnum):
    """How a vendor signs its webhooks (functions/integration_sync/webhook.py, SCHEMES)."""

    STRIPE = "stripe"  # HMAC-SHA256 over a signed timestamp and the body
    HUBSPOT_V3 = "hubspot_v3"  # HMAC-SHA256 over method, URI, body and timestamp
    SHOPIFY = "shopify"  # HMAC-SHA256 over the body; replays caught by the delivery id
    GITHUB = "github"  # HMAC-SHA256 over the body; replays caught by the delivery id


class Webhook(StrictModel):
    """The source pushes over HTTPS: a signed-webhook ingress enqueues its deliveries."""

    scheme: WebhookScheme
    object: Name = Field(description="the roadmap object the deliveries carry")
    credential: Name = Field(description="the webhook_signing_secret credential it signs with")


class Integration(StrictModel):
    """A flow of objects between two systems, with everything needed to run it safely."""

    name: Name
    renamed_from: tuple[Name, ...] = Field(
        default=(),
        description=(
            "names this integration had before, newest first; `pulumi up` carries its "
            "resources over by alias instead of deleting and re-creating them all"
        ),
    )
    description: str = ""
    source: Name
    target: Name
    objects: tuple[Name, ...] = Field(min_length=1)
    direction: Direction = Direction.ONE_WAY
    pattern: Pattern
    ordering: Ordering = Ordering.NONE
    owner_team: str = Field(min_length=2)
    runbook: HttpUrl
    alert_path: str = Field(pattern=ALERT_PATH_PATTERN)
    credentials: tuple[Credential, ...] = Field(min_length=1)
    service_levels: ServiceLevels
    field_mappings: tuple[FieldMapping, ...] = ()
    conflict_rule: ConflictRule | None = None
    webhook: Webhook | None = Field(
        default=None, description="queued flows whose source pushes signed webhooks over HTTPS"
    )
    schedule: str | None = None
    phases: Phases
    evidence: Evidence = Field(
        default_factory=Evidence, description="exit-criteria evidence, keyed by phase left"
    )

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is not None and not SCHEDULE_PATTERN.match(value):
            raise ValueError(
                f"{value!r} is not an EventBridge schedule; use 'rate(15 minutes)' or "
                "'cron(0 2 * * ? *)'"
            )
        return value

    @property
    def fifo(self) -> bool:
        """Queued flows that need ordering get FIFO queues (per-group order)."""
        return self.pattern.queued and self.ordering is not Ordering.NONE

    def phase(self, environment: str) -> int:
        return self.phases[environment]

    def mapping_for(self, obj: str) -> FieldMapping | None:
        return next((m for m in self.field_mappings if m.object == obj), None)

    @property
    def bidirectional(self) -> bool:
        return self.direction is Direction.BIDIRECTIONAL

    def flows(self, environment: str) -> list[tuple[FlowDirection, str, str]]:
        """(direction, from, to) of each direction provisioned in `environment`: a
        bidirectional flow runs its reverse direction once it syncs (phase >= 3)."""
        flows: list[tuple[FlowDirection, str, str]] = [("forward", self.source, self.target)]
        if self.bidirectional and self.pattern.queued and self.phase(environment) >= 3:
            flows.append(("reverse", self.target, self.source))
        return flows

    def field_mapping(self, direction: FlowDirection = "forward") -> dict[str, Any]:
        """The sync function's ``FIELD_MAPPING`` for one direction, keyed by object slug."""
        if direction == "forward":
            return {m.object: m.contract() for m in self.field_mappings}
        return {m.object: m.reverse_contract() for m in self.field_mappings}

    def conflict_contract(
        self, roadmap: Roadmap, direction: FlowDirection = "forward"
    ) -> dict[str, Any] | None:
        """The sync function's ``CONFLICT`` (functions/integration_sync/conflict.py) for one
        direction of a bidirectional flow; None for one-way flows.

        Per object, the fields this direction writes alone (its source owns them) and those
        the conflict rule lets both directions write (the strategy settles them), named as
        the system it writes calls them. Ownership and the rule name the target's fields
        (``objects[].field_owners``, ``conflict_rule.fields``) for both directions.
        """
        rule = self.conflict_rule
        if not self.bidirectional or rule is None:
            return None
        writer = self.source if direction == "forward" else self.target
        objects: dict[str, dict[str, list[str]]] = {}
        for mapping in self.field_mappings:
            obj = roadmap.object(mapping.object)
            # (target field, the field this direction writes) per mapped pair, key aside.
            pairs = sorted(
                (target, target if direction == "forward" else source)
                for source, target in mapping.fields.items()
                if target != mapping.external_id
            )
            own = [w for t, w in pairs if obj.owner_of(t) == writer]
            contested = [w for t, w in pairs if w not in own and rule.covers(t)]
            objects[mapping.object] = {"own": sorted(own), "contested": sorted(contested)}
        echo_authors = [rule.own_users[writer]] if writer in rule.own_users else []
        return {
            "direction": direction,
            "strategy": rule.strategy.value,
            "objects": objects,
            "echo_authors": echo_authors,
        }
