"""The integration roadmap as a validated model: systems, data objects, integrations.

The roadmap is the source of truth for everything the project provisions. Loading it
checks types (pydantic) and then the rules that span entries: references exist, each
object has one owner, writes respect ownership or declare a conflict rule, phases never
rise from dev to prod, and the Salesforce API budget holds.

Usage::

    from components.roadmap import load_roadmap, RoadmapError

    try:
        roadmap = load_roadmap(Path("roadmap.yaml"))
    except RoadmapError as err:
        for problem in err.problems:
            print(problem.render(err.source))
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationError,
    field_validator,
)

from components.budget import salesforce_calls_per_day
from components.evidence import Evidence
from components.plain_errors import allowed_pattern, plain_message
from components.source_file import SourceFileError, load_yaml, read_source
from contract.connectors import CONNECTORS, MIDDLEWARE, ConnectorSpec, connector_by_vendor
from contract.naming import SLUG_PATTERN, clashing_names
from contract.phases import STAGE_PHASE

__all__ = [
    "ENVIRONMENTS",
    "ConflictRule",
    "Credential",
    "CredentialKind",
    "DataObject",
    "Direction",
    "Integration",
    "Pattern",
    "Problem",
    "Roadmap",
    "RoadmapError",
    "System",
    "SystemKind",
    "load_roadmap",
    "parse_roadmap",
]

ENVIRONMENTS: tuple[str, ...] = ("dev", "staging", "prod")
"""Stacks from lowest to highest; an integration's phase never rises along this order."""

# Lower-case letters, digits and hyphens, 3-32 characters: usable inside every AWS name;
# `contract.naming` keeps the physical names built from it within AWS's limits.
NAME_WORDS = (
    "3-32 lower-case letters, digits or hyphens, starting with a letter and ending with "
    "a letter or digit"
)
NAME_PATTERN = allowed_pattern(SLUG_PATTERN, NAME_WORDS)
Name = Annotated[str, Field(pattern=NAME_PATTERN, description=NAME_WORDS)]
# A system's own name for an object: it ends up in an API path segment (Salesforce
# `/sobjects/HW_Order__c/...`), so letters, digits, underscores and hyphens only.
API_NAME_PATTERN = allowed_pattern(
    r"^[A-Za-z][A-Za-z0-9_-]{0,79}$",
    "1-80 letters, digits, underscores or hyphens, starting with a letter (e.g. HW_Order__c)",
)
# Alert paths become AWS tag values and SNS topic names: no '#', no spaces.
ALERT_PATH_PATTERN = allowed_pattern(
    r"^(pagerduty|opsgenie|slack|email|teams):[A-Za-z0-9@._+-]{2,100}$",
    "<channel>:<target>, the channel one of pagerduty, opsgenie, slack, email or teams and "
    "the target 2-100 letters, digits or @ . _ + - (e.g. pagerduty:revops-oncall)",
)
SCHEDULE_PATTERN = re.compile(
    r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\((\S+ ){5}\S+\))$"
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class SystemKind(StrEnum):
    CRM = "crm"
    ERP = "erp"
    ECOMMERCE = "ecommerce"
    ACCOUNTING = "accounting"
    MARKETING = "marketing"
    SUPPORT = "support"
    ANALYTICS = "analytics"
    BI = "bi"
    BILLING = "billing"  # subscriptions, payments (Stripe, Chargebee, Zuora)
    LOGISTICS = "logistics"  # carriers, 3PL and warehouse management
    PLATFORM = "platform"  # the company's own services: internal APIs, IoT/device clouds
    OTHER = "other"


class SalesforceEdition(StrEnum):
    DEVELOPER = "developer"
    PROFESSIONAL = "professional"
    ENTERPRISE = "enterprise"
    UNLIMITED = "unlimited"
    PERFORMANCE = "performance"


# Salesforce "API Request Limits and Allocations" (App Limits Cheatsheet, 2026): a
# production org's 24-hour allocation is 100,000 + licences x per-licence adder
# (+ purchased add-ons); Developer Edition orgs get a flat 15,000.
_SALESFORCE_BASE_ALLOCATION = 100_000
_SALESFORCE_PER_LICENCE = {
    SalesforceEdition.PROFESSIONAL: 1_000,
    SalesforceEdition.ENTERPRISE: 1_000,
    SalesforceEdition.UNLIMITED: 5_000,
    SalesforceEdition.PERFORMANCE: 5_000,
}
_SALESFORCE_DEVELOPER_ALLOCATION = 15_000


class SalesforceOrg(_Model):
    """A Salesforce org's edition and licences, from which its daily API allocation follows."""

    edition: SalesforceEdition
    licenses: int = Field(default=0, ge=0, le=1_000_000)
    api_addon_calls: int = Field(default=0, ge=0, description="purchased API call add-ons/day")
    daily_api_allocation: int | None = Field(
        default=None, gt=0, description="overrides the computed allocation when given"
    )

    @property
    def allocation(self) -> int:
        """Calls per rolling 24 hours: the given figure, else computed from edition and licences."""
        if self.daily_api_allocation is not None:
            return self.daily_api_allocation
        if self.edition is SalesforceEdition.DEVELOPER:
            return _SALESFORCE_DEVELOPER_ALLOCATION + self.api_addon_calls
        per_licence = _SALESFORCE_PER_LICENCE[self.edition]
        return _SALESFORCE_BASE_ALLOCATION + self.licenses * per_licence + self.api_addon_calls


class ApiLimits(_Model):
    """What is known of a system's API: where it lives, who speaks it, how hard to call it.

    ``connector`` names the connector of ``contract/connectors.py`` that speaks this API;
    without it the system's ``vendor`` decides (``Oracle NetSuite`` -> ``netsuite``), and a
    vendor no connector knows is reached through a middleware facade (``middleware``).
    """

    base_url: HttpUrl | None = None
    connector: str | None = Field(
        default=None, description=f"one of: {', '.join(sorted(CONNECTORS))}"
    )
    daily_call_limit: int | None = Field(default=None, gt=0)
    requests_per_second: float | None = Field(default=None, gt=0)

    @field_validator("connector")
    @classmethod
    def _known_connector(cls, value: str | None) -> str | None:
        if value is not None and value not in CONNECTORS:
            raise ValueError(
                f"no connector named {value!r}; use one of: {', '.join(sorted(CONNECTORS))}"
            )
        return value


class System(_Model):
    """A system in the landscape (Salesforce, the ERP, the web shop, ...)."""

    name: Name
    kind: SystemKind
    vendor: str = Field(min_length=1)
    description: str = ""
    api: ApiLimits = ApiLimits()
    salesforce: SalesforceOrg | None = None

    @property
    def is_salesforce(self) -> bool:
        return self.salesforce is not None

    @property
    def connector(self) -> ConnectorSpec:
        """The connector speaking this system's API: as named, else by vendor, else middleware."""
        name = self.api.connector or connector_by_vendor(self.vendor)
        if name is None and self.is_salesforce:
            name = "salesforce"
        return CONNECTORS[name or MIDDLEWARE]


class DataObject(_Model):
    """A business object with exactly one owning system, optionally overridden per field."""

    name: Name
    description: str = ""
    owner: Name = Field(description="the system that is the source of truth")
    fields: tuple[str, ...] = ()
    field_owners: dict[str, Name] = Field(default_factory=dict)

    def owner_of(self, field: str) -> str:
        return self.field_owners.get(field, self.owner)


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


class Credential(_Model):
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


class ServiceLevels(_Model):
    """What the business expects of the flow."""

    max_staleness_minutes: int = Field(ge=1, le=10_080)
    expected_records_per_day: int = Field(ge=0)
    # The owners' own estimate, shown beside the computed figure (components.budget) in
    # plan; the budget rules, the alarm and the functions use the computed one.
    salesforce_api_calls_per_day: int = Field(default=0, ge=0)


class FieldMapping(_Model):
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


class ConflictRule(_Model):
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


class Phases(_Model):
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


class Webhook(_Model):
    """The source pushes over HTTPS: a signed-webhook ingress enqueues its deliveries."""

    scheme: WebhookScheme
    object: Name = Field(description="the roadmap object the deliveries carry")
    credential: Name = Field(description="the webhook_signing_secret credential it signs with")


class Integration(_Model):
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


class RoadmapSettings(_Model):
    api_headroom_percent: int = Field(
        default=20, ge=0, le=90, description="share of the Salesforce allocation kept free"
    )


class Roadmap(_Model):
    """The whole roadmap: the systems, who owns which object, and every integration."""

    version: Literal[1] = 1
    organisation: str = Field(min_length=1)
    settings: RoadmapSettings = RoadmapSettings()
    systems: tuple[System, ...] = Field(min_length=1)
    objects: tuple[DataObject, ...] = Field(min_length=1)
    integrations: tuple[Integration, ...] = ()

    def system(self, name: str) -> System:
        return next(s for s in self.systems if s.name == name)

    def connector(
        self, integration: Integration, side: Literal["source", "target"]
    ) -> ConnectorSpec:
        """The connector the integration's sync functions use for one side.

        A ``middleware`` flow talks to the platform in front of both systems, so both sides
        speak the middleware contract; any other flow speaks each system's own API.
        """
        if integration.pattern is Pattern.MIDDLEWARE:
            return CONNECTORS[MIDDLEWARE]
        return self.system(getattr(integration, side)).connector

    def stage_warehouse(self, integration: Integration, environment: str) -> str | None:
        """The warehouse (its connector's name) that loads this integration's staged files.

        A ``warehouse_pipeline`` writes each run's records as files into its own S3 stage
        bucket from phase 3 (components/stage.py), and the warehouse loads them itself;
        None for any other flow, or before phase 3.
        """
        if integration.pattern is not Pattern.WAREHOUSE_PIPELINE:
            return None
        if integration.phase(environment) < STAGE_PHASE:
            return None
        return self.connector(integration, "target").name

    def rotation_mode(self, credential: Credential) -> str:
        """``api`` (rotated on schedule) or ``manual`` (a person pipes in the next value).

        ``manual`` when the roadmap marks it so, or when the issuing vendor allows nothing
        else (``contract/connectors.py``; a kind no API issues, such as NetSuite TBA tokens
        and webhook signing secrets); a vendor reached through middleware rotates through
        the platform's issuer contract.
        """
        return "manual" if credential.rotation == "manual" else self.vendor_rotation(credential)

    def vendor_rotation(self, credential: Credential) -> str:
        """How the issuing vendor (or AWS) lets this credential be rotated: ``api``/``manual``."""
        if not credential.kind.rotates_by_api:
            return "manual"
        spec = self.system(credential.system).connector
        return spec.rotation_mode(credential.kind.value) or "api"

    def connector_summary(self, integration: Integration) -> str:
        """``salesforce (REST API v62.0) -> netsuite (REST record API v1, SuiteQL)``."""
        source, target = (self.connector(integration, side) for side in ("source", "target"))
        return f"{source.name} ({source.api_version}) -> {target.name} ({target.api_version})"

    def rotation_summary(self, integration: Integration) -> str:
        """``salesforce-jwt: api, netsuite-m2m: manual``: each credential's rotation mode."""
        return ", ".join(f"{c.name}: {self.rotation_mode(c)}" for c in integration.credentials)

    def object(self, name: str) -> DataObject:
        return next(o for o in self.objects if o.name == name)

    def integration(self, name: str) -> Integration:
        for integration in self.integrations:
            if integration.name == name:
                return integration
        known = ", ".join(i.name for i in self.integrations)
        raise KeyError(f"no integration named {name!r} in the roadmap (known: {known})")

    def active(self, environment: str) -> tuple[Integration, ...]:
        """Integrations that provision anything in the environment (phase >= 2)."""
        return tuple(i for i in self.integrations if i.phase(environment) >= 2)


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the roadmap: where (a path inside the file) and what to do."""

    loc: str
    msg: str

    def render(self, source: str = "roadmap.yaml") -> str:
        return f"{source}: {self.loc}: {self.msg}" if self.loc else f"{source}: {self.msg}"


class RoadmapError(Exception):
    """The roadmap could not be used; `problems` lists every reason found in one pass."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(p.render(source) for p in problems))


# The roadmap file is missing, unreadable, too large or not YAML (a usage/I-O error, not a rule).
RoadmapFileError = SourceFileError


def format_loc(loc: Iterable[str | int]) -> str:
    """Render a location: ('integrations', 3, 'schedule') -> 'integrations[3].schedule'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _pydantic_problems(err: ValidationError) -> list[Problem]:
    problems = []
    for e in err.errors(include_url=False):
        # Drop pydantic's internal tags (e.g. 'function-after[...]') from the location.
        loc = [p for p in e["loc"] if not (isinstance(p, str) and "[" in p)]
        problems.append(Problem(format_loc(loc), plain_message(e)))
    return problems


# --------------------------------------------------------------------------- rules


def parse_roadmap(data: Any, source: str = "roadmap.yaml") -> Roadmap:
    """Validate plain data (from YAML) into a Roadmap, or raise RoadmapError with every problem."""
    if not isinstance(data, dict):
        raise RoadmapError(
            source, [Problem("", "expected a mapping with systems, objects and integrations")]
        )
    try:
        roadmap = Roadmap.model_validate(data)
    except ValidationError as err:
        raise RoadmapError(source, _pydantic_problems(err)) from None
    problems = list(check_rules(roadmap))
    if problems:
        raise RoadmapError(source, problems)
    return roadmap


def check_rules(roadmap: Roadmap) -> Iterator[Problem]:
    """Every cross-entry rule, each yielding problems with a location and a fix."""
    yield from _unique_names(roadmap)
    yield from _renames(roadmap)
    yield from _references(roadmap)
    yield from _ownership(roadmap)
    yield from _concurrent_writers(roadmap)
    yield from _phases_never_rise(roadmap)
    yield from _schedules(roadmap)
    yield from _ordering(roadmap)
    yield from _both_ways(roadmap)
    yield from _mappings(roadmap)
    yield from _connectors(roadmap)
    yield from _webhooks(roadmap)
    yield from _salesforce_budget(roadmap)


def _duplicates(names: list[str]) -> dict[str, list[int]]:
    seen: dict[str, list[int]] = defaultdict(list)
    for index, name in enumerate(names):
        seen[name].append(index)
    return {name: idx for name, idx in seen.items() if len(idx) > 1}


def _unique_names(roadmap: Roadmap) -> Iterator[Problem]:
    for section, items in (
        ("systems", roadmap.systems),
        ("objects", roadmap.objects),
        ("integrations", roadmap.integrations),
    ):
        for name, indexes in _duplicates([i.name for i in items]).items():
            first = indexes[0]
            for index in indexes[1:]:
                yield Problem(
                    f"{section}[{index}].name",
                    f"{name!r} is already used by {section}[{first}]; names must be unique",
                )
    index_of = {integ.name: i for i, integ in enumerate(roadmap.integrations)}
    for shorter, longer in clashing_names(index_of):
        yield Problem(
            f"integrations[{index_of[longer]}].name",
            f"{longer!r} is {shorter!r} followed by a word its resources use in their names, "
            f"so the two could get the same AWS names; rename {longer!r}",
        )
    for i, integration in enumerate(roadmap.integrations):
        for name, indexes in _duplicates([c.name for c in integration.credentials]).items():
            for index in indexes[1:]:
                yield Problem(
                    f"integrations[{i}].credentials[{index}].name",
                    f"credential {name!r} appears twice in this integration; rename one",
                )


def _renames(roadmap: Roadmap) -> Iterator[Problem]:
    """A former name points at one integration's past, never at a living one."""
    current = {integ.name: i for i, integ in enumerate(roadmap.integrations)}
    claimed: dict[str, int] = {}
    for i, integ in enumerate(roadmap.integrations):
        for r, former in enumerate(integ.renamed_from):
            loc = f"integrations[{i}].renamed_from[{r}]"
            if former in current:
                yield Problem(
                    loc,
                    f"{former!r} is the name of integrations[{current[former]}]; a former "
                    "name must be one no integration uses now, or the two would claim the "
                    f"same resources; remove it from renamed_from",
                )
            elif former in claimed and claimed[former] != i:
                yield Problem(
                    loc,
                    f"{former!r} is already a former name of integrations[{claimed[former]}]; "
                    "one integration's resources can be carried over to one successor only; "
                    "keep it in one renamed_from",
                )
            elif former in claimed:
                yield Problem(loc, f"{former!r} is listed twice; remove one")
            claimed.setdefault(former, i)


@dataclass(frozen=True)
class _Known:
    """The roadmap's systems and objects, and how a reference to neither is refused."""

    systems: dict[str, System]
    objects: frozenset[str]

    def unknown_system(self, name: str) -> str:
        known = ", ".join(sorted(self.systems))
        return f"unknown system {name!r}; add it under systems or use one of: {known}"

    def unknown_object(self, name: str) -> str:
        known = ", ".join(sorted(self.objects))
        return f"unknown object {name!r}; add it under objects or use one of: {known}"


def _references(roadmap: Roadmap) -> Iterator[Problem]:
    known = _Known({s.name: s for s in roadmap.systems}, frozenset(o.name for o in roadmap.objects))
    for o, obj in enumerate(roadmap.objects):
        yield from _object_references(o, obj, known)
    for i, integ in enumerate(roadmap.integrations):
        yield from _integration_references(i, integ, known)
        for c, cred in enumerate(integ.credentials):
            yield from _credential_references(
                f"integrations[{i}].credentials[{c}]", cred, integ, known
            )


def _object_references(o: int, obj: DataObject, known: _Known) -> Iterator[Problem]:
    if obj.owner not in known.systems:
        yield Problem(f"objects[{o}].owner", known.unknown_system(obj.owner))
    for field, owner in obj.field_owners.items():
        if owner not in known.systems:
            yield Problem(f"objects[{o}].field_owners.{field}", known.unknown_system(owner))
        if obj.fields and field not in obj.fields:
            yield Problem(
                f"objects[{o}].field_owners.{field}",
                f"field {field!r} is not listed in objects[{o}].fields; add it there",
            )


def _integration_references(i: int, integ: Integration, known: _Known) -> Iterator[Problem]:
    for side in ("source", "target"):
        name = getattr(integ, side)
        if name not in known.systems:
            yield Problem(f"integrations[{i}].{side}", known.unknown_system(name))
    if integ.source == integ.target:
        yield Problem(
            f"integrations[{i}].target",
            "source and target are the same system; an integration connects two systems",
        )
    for j, obj_name in enumerate(integ.objects):
        if obj_name not in known.objects:
            yield Problem(f"integrations[{i}].objects[{j}]", known.unknown_object(obj_name))
    for m, mapping in enumerate(integ.field_mappings):
        if mapping.object not in integ.objects:
            yield Problem(
                f"integrations[{i}].field_mappings[{m}].object",
                f"{mapping.object!r} is not among this integration's objects; add it to "
                f"integrations[{i}].objects or remove the mapping",
            )


def _credential_references(
    loc: str, cred: Credential, integ: Integration, known: _Known
) -> Iterator[Problem]:
    systems = known.systems
    if cred.system not in systems:
        yield Problem(f"{loc}.system", known.unknown_system(cred.system))
    elif (
        cred.system not in (integ.source, integ.target)
        and {
            integ.source,
            integ.target,
        }
        <= systems.keys()
    ):
        yield Problem(
            f"{loc}.system",
            f"{cred.system!r} is neither the source nor the target; a credential "
            "is scoped to one side of its own integration",
        )
    elif (
        cred.kind is CredentialKind.SALESFORCE_JWT_BEARER and not systems[cred.system].is_salesforce
    ):
        yield Problem(
            f"{loc}.kind",
            f"salesforce_jwt_bearer needs a Salesforce system, {cred.system!r} is not "
            "one; use oauth_client_credentials or api_key",
        )
    if cred.kind is CredentialKind.WEBHOOK_SIGNING_SECRET and cred.system != integ.source:
        yield Problem(
            f"{loc}.system",
            f"a webhook signing secret belongs to the system that pushes (the source, "
            f"{integ.source!r}), not {cred.system!r}; set system: {integ.source}",
        )
    if cred.source_ranges and cred.kind is not CredentialKind.IAM_ACCESS_KEY:
        yield Problem(
            f"{loc}.source_ranges",
            "source ranges apply only to iam_access_key credentials; remove them",
        )


def _written_systems(integ: Integration) -> list[tuple[str, str]]:
    """(writer, written system) pairs: the target, and the source too when bidirectional."""
    pairs = [(integ.source, integ.target)]
    if integ.direction is Direction.BIDIRECTIONAL:
        pairs.append((integ.target, integ.source))
    return pairs


def _written_fields(integ: Integration, obj_name: str) -> list[str]:
    """Target fields written (the mapping's values), or "*" (the whole object) when unmapped."""
    mapping = integ.mapping_for(obj_name)
    if mapping is not None:
        return list(mapping.fields.values())
    return ["*"]


def _ownership(roadmap: Roadmap) -> Iterator[Problem]:
    objects = {o.name: o for o in roadmap.objects}
    for i, integ in enumerate(roadmap.integrations):
        if integ.direction is Direction.BIDIRECTIONAL and integ.conflict_rule is None:
            yield Problem(
                f"integrations[{i}].conflict_rule",
                "bidirectional flows must declare a conflict rule (e.g. strategy: source_wins "
                "with the fields it covers) so both sides cannot overwrite each other",
            )
        rule = integ.conflict_rule
        for j, obj_name in enumerate(integ.objects):
            obj = objects.get(obj_name)
            if obj is None:
                continue
            for writer, _written in _written_systems(integ):
                for field in _written_fields(integ, obj_name):
                    owner = obj.owner if field == "*" else obj.owner_of(field)
                    if owner == writer or (rule is not None and rule.covers(field)):
                        continue
                    what = f"{obj_name!r}" if field == "*" else f"field {obj_name}.{field}"
                    yield Problem(
                        f"integrations[{i}].objects[{j}]",
                        f"writes {what} from {writer!r}, but {owner!r} owns it (source of "
                        f"truth); swap source and target, or declare a conflict_rule covering it",
                    )


def _concurrent_writers(roadmap: Roadmap) -> Iterator[Problem]:
    writers: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    for i, integ in enumerate(roadmap.integrations):
        for _writer, written in _written_systems(integ):
            for obj_name in integ.objects:
                for field in _written_fields(integ, obj_name):
                    writers[(written, obj_name)].append((i, field))
    for (system, obj_name), entries in writers.items():
        for a in range(len(entries)):
            for b in range(a + 1, len(entries)):
                (ia, fa), (ib, fb) = entries[a], entries[b]
                if ia == ib or not (fa == fb or "*" in (fa, fb)):
                    continue
                ra = roadmap.integrations[ia].conflict_rule
                rb = roadmap.integrations[ib].conflict_rule
                field = fb if fa == "*" else fa
                if (ra is not None and ra.covers(field)) or (rb is not None and rb.covers(field)):
                    continue
                what = obj_name if field == "*" else f"{obj_name}.{field}"
                yield Problem(
                    f"integrations[{ib}].objects",
                    f"both {roadmap.integrations[ia].name!r} and "
                    f"{roadmap.integrations[ib].name!r} write {what} into {system!r}; "
                    "declare a conflict_rule on one of them or let only one write it",
                )


def _phases_never_rise(roadmap: Roadmap) -> Iterator[Problem]:
    for i, integ in enumerate(roadmap.integrations):
        for lower, higher in pairwise(ENVIRONMENTS):
            if integ.phase(higher) > integ.phase(lower):
                yield Problem(
                    f"integrations[{i}].phases.{higher}",
                    f"phase {integ.phase(higher)} in {higher} is ahead of phase "
                    f"{integ.phase(lower)} in {lower}; promote through {lower} first "
                    f"(dev >= staging >= prod)",
                )


def _mappings(roadmap: Roadmap) -> Iterator[Problem]:
    """Queued flows that sync (phase >= 3 anywhere) map every object; upsert keys are mapped."""
    for i, integ in enumerate(roadmap.integrations):
        for m, mapping in enumerate(integ.field_mappings):
            if mapping.external_id not in mapping.fields.values():
                yield Problem(
                    f"integrations[{i}].field_mappings[{m}].external_id",
                    f"{mapping.external_id!r} is not a target of any mapped field, so the upsert "
                    "has no key; map the source's id to it, e.g. "
                    f"fields: {{Id: {mapping.external_id}}}",
                )
            if integ.bidirectional:
                yield from _invertible(f"integrations[{i}].field_mappings[{m}]", mapping)
        syncing = max(integ.phase(env) for env in ENVIRONMENTS) >= 3
        if not (integ.pattern.queued and syncing):
            continue
        for j, obj_name in enumerate(integ.objects):
            if integ.mapping_for(obj_name) is None:
                yield Problem(
                    f"integrations[{i}].objects[{j}]",
                    f"{obj_name!r} has no field mapping, but {integ.pattern.value} flows at "
                    "phase >= 3 map each record before the upsert (unmapped records would be "
                    "dead-lettered); add a field_mappings entry with its external_id",
                )


def _webhooks(roadmap: Roadmap) -> Iterator[Problem]:
    """A webhook ingress feeds a queue, carries one of the flow's objects, and is verified
    with the source's signing secret."""
    for i, integ in enumerate(roadmap.integrations):
        hook = integ.webhook
        if hook is None:
            continue
        loc = f"integrations[{i}].webhook"
        if not integ.pattern.queued:
            yield Problem(
                loc,
                f"{integ.pattern.value} flows read on a schedule and have no queue for pushed "
                "deliveries; use event_driven (or middleware, real_time_api), or remove webhook",
            )
        if integ.ordering is not Ordering.NONE:
            yield Problem(
                f"integrations[{i}].ordering",
                f"a webhook ingress cannot keep ordering {integ.ordering.value}: vendors retry "
                "and deliver events out of order, and the ingress enqueues each delivery as it "
                "comes; remove ordering (record versions skip stale writes) or drop the webhook",
            )
        if hook.object not in integ.objects:
            yield Problem(
                f"{loc}.object",
                f"{hook.object!r} is not among this integration's objects; use one of: "
                f"{', '.join(integ.objects)}",
            )
        secrets = [
            c.name for c in integ.credentials if c.kind is CredentialKind.WEBHOOK_SIGNING_SECRET
        ]
        if hook.credential not in secrets:
            yield Problem(
                f"{loc}.credential",
                f"{hook.credential!r} is not a webhook_signing_secret credential of this "
                "integration; "
                + (
                    f"use one of: {', '.join(secrets)}"
                    if secrets
                    else f"add one under credentials (kind: webhook_signing_secret, system: "
                    f"{integ.source})"
                ),
            )


def _invertible(loc: str, mapping: FieldMapping) -> Iterator[Problem]:
    """A bidirectional flow writes back through the same pairs the other way round, so each
    target field comes from one source field, and that one is a field, not a part of one."""
    firsts: dict[str, str] = {}
    for source, target in mapping.fields.items():
        if "." in source:
            yield Problem(
                f"{loc}.fields.{source}",
                f"{source!r} is a part of a source field; the reverse direction writes "
                f"{target!r} back into a whole field, so map whole fields in a bidirectional flow",
            )
        if target in firsts:
            yield Problem(
                f"{loc}.fields.{source}",
                f"{target!r} is also mapped from {firsts[target]!r}; the reverse direction "
                f"could not tell which one to write back, so map each target field once",
            )
        firsts.setdefault(target, source)


def _connectors(roadmap: Roadmap) -> Iterator[Problem]:
    """A side that is written has a connector that writes; a vendor issues the credential."""
    systems = {s.name: s for s in roadmap.systems}
    for i, integ in enumerate(roadmap.integrations):
        if not {integ.source, integ.target} <= systems.keys():
            continue  # reported by _references
        written: list[Literal["source", "target"]] = ["target"]
        if integ.direction is Direction.BIDIRECTIONAL:
            written.append("source")
        for side in written:
            spec = roadmap.connector(integ, side)
            if spec.read_only:
                yield Problem(
                    f"integrations[{i}].{side}",
                    f"{getattr(integ, side)!r} is read through the {spec.name} connector "
                    f"({spec.api_version}), which cannot write; make it a source, or route "
                    "the flow through a middleware platform (pattern: middleware)",
                )
        yield from _object_names(roadmap, i, integ)
        yield from _external_ids(roadmap, i, integ)
        for c, cred in enumerate(integ.credentials):
            vendor = systems.get(cred.system)
            used_by = _side_of(integ, cred.system)
            platform = roadmap.connector(integ, used_by) if used_by else None
            if (
                platform is not None
                and platform.name == MIDDLEWARE
                and cred.kind.value not in ("webhook_signing_secret", "iam_access_key")
                and platform.rotation_mode(cred.kind.value) is None
            ):
                kinds = ", ".join(sorted(k for k in platform.rotation if k != "iam_access_key"))
                yield Problem(
                    f"integrations[{i}].credentials[{c}].kind",
                    f"{cred.system!r} is reached through the middleware contract "
                    f"({platform.api_version}), which takes {kinds}, not {cred.kind.value}; "
                    "issue the platform's own credential of one of those kinds, or give the "
                    f"system an api.connector that speaks {cred.kind.value}",
                )
                continue
            if (
                vendor is None
                or vendor.connector.name == MIDDLEWARE
                or cred.kind is CredentialKind.SALESFORCE_JWT_BEARER  # _references says why
                # A webhook signing secret may be one the integration shares with the
                # sender rather than one the vendor issues.
                or cred.kind.value == "webhook_signing_secret"
            ):
                continue
            if vendor.connector.rotation_mode(cred.kind.value) is None:
                kinds = ", ".join(sorted(vendor.connector.rotation))
                yield Problem(
                    f"integrations[{i}].credentials[{c}].kind",
                    f"{vendor.connector.vendor} does not issue {cred.kind.value} credentials; "
                    f"use one of: {kinds}",
                )
        yield from _manual_rotations(roadmap, i, integ)


def _manual_rotations(roadmap: Roadmap, i: int, integ: Integration) -> Iterator[Problem]:
    """A period no API can honour is refused unless a person is named to honour it."""
    for c, cred in enumerate(integ.credentials):
        if cred.system not in {s.name for s in roadmap.systems}:
            continue  # reported by _references
        if cred.rotation == "manual" or roadmap.vendor_rotation(cred) != "manual":
            continue
        spec = roadmap.system(cred.system).connector
        by_api = sorted(
            k for k, mode in spec.rotation.items() if mode == "api" and k != "iam_access_key"
        )
        other = f", or use a kind it rotates by API ({', '.join(by_api)})" if by_api else ""
        why = (
            f"no API issues a {cred.kind.value}, a person makes the next one"
            if not cred.kind.rotates_by_api
            else f"{spec.vendor} issues the next {cred.kind.value} only by hand"
        )
        yield Problem(
            f"integrations[{i}].credentials[{c}].rotation",
            f"{cred.name!r} cannot be rotated every {cred.rotation_days} days automatically: "
            f"{why}; add `rotation: manual` "
            f"(when it is due, `provisioner rotate {integ.name} --stack S --manual "
            f"--credential {cred.name}` takes the new value from standard input){other}",
        )


def _side_of(integ: Integration, system: str) -> Literal["source", "target"] | None:
    if system == integ.source:
        return "source"
    return "target" if system == integ.target else None


def _object_names(roadmap: Roadmap, i: int, integ: Integration) -> Iterator[Problem]:
    """Each mapped object is named as its connector's API names it, on each side it is used.

    The source side is read (and written back when bidirectional), the target written (and
    read when bidirectional); a name the vendor's API has no object for would fail at the
    first call, or, worse, in the first batch after go-live.
    """
    bidirectional = integ.direction is Direction.BIDIRECTIONAL
    for m, mapping in enumerate(integ.field_mappings):
        for side, field_name, name in (
            ("source", "api_name", mapping.source_object),
            ("target", "target_api_name", mapping.target_object),
        ):
            spec = roadmap.connector(integ, side)  # type: ignore[arg-type]
            uses = ["read" if side == "source" else "write"]
            if bidirectional:
                uses.append("write" if side == "source" else "read")
            for use in uses:
                ok = spec.can_read(name) if use == "read" else spec.can_write(name)
                if ok or (use == "write" and spec.read_only):  # _connectors says why
                    continue
                hint = (
                    "; or route the flow through a middleware platform (pattern: middleware)"
                    if spec.name != MIDDLEWARE
                    else ""
                )
                yield Problem(
                    f"integrations[{i}].field_mappings[{m}].{field_name}",
                    f"the {spec.name} connector ({spec.api_version}) cannot {use} {name!r} "
                    f"on {getattr(integ, side)!r}: it {use}s {spec.objects_help(use)}; set "
                    f"{field_name} to the object's API name there{hint}",
                )


def _external_ids(roadmap: Roadmap, i: int, integ: Integration) -> Iterator[Problem]:
    """A target that upserts an object only by one field of its own is keyed by that field."""
    spec = roadmap.connector(integ, "target")
    for m, mapping in enumerate(integ.field_mappings):
        wanted = spec.external_ids.get(mapping.target_object)
        if wanted is not None and mapping.external_id != wanted:
            yield Problem(
                f"integrations[{i}].field_mappings[{m}].external_id",
                f"{spec.vendor} finds {mapping.target_object} by {wanted} only, not by "
                f"{mapping.external_id!r}; set external_id: {wanted} and map the source's id "
                "onto it",
            )


def _schedules(roadmap: Roadmap) -> Iterator[Problem]:
    for i, integ in enumerate(roadmap.integrations):
        if integ.pattern.scheduled and integ.schedule is None:
            yield Problem(
                f"integrations[{i}].schedule",
                f"{integ.pattern.value} integrations run on a schedule; add one such as "
                "'rate(1 hour)' or 'cron(0 2 * * ? *)'",
            )
        if not integ.pattern.scheduled and integ.schedule is not None:
            yield Problem(
                f"integrations[{i}].schedule",
                f"{integ.pattern.value} integrations are triggered by their queue, not a "
                "schedule; remove it or change the pattern to batch",
            )


def _ordering(roadmap: Roadmap) -> Iterator[Problem]:
    """Ordering is promised only where the pattern keeps it; elsewhere it is refused."""
    for i, integ in enumerate(roadmap.integrations):
        if integ.ordering is Ordering.NONE or not integ.pattern.scheduled:
            continue
        yield Problem(
            f"integrations[{i}].ordering",
            f"{integ.pattern.value} flows cannot keep ordering {integ.ordering.value}: each run "
            "copies the latest state of records changed since the last watermark (intermediate "
            "changes are never seen) and a record that fails is parked and retried on its own "
            "later; remove ordering, or use event_driven, whose FIFO queue keeps per-record order",
        )


def _both_ways(roadmap: Roadmap) -> Iterator[Problem]:
    """Bidirectional flows run a queue and consumer each way; a schedule runs one way only."""
    for i, integ in enumerate(roadmap.integrations):
        if integ.bidirectional and integ.pattern.scheduled:
            yield Problem(
                f"integrations[{i}].direction",
                f"{integ.pattern.value} flows run one way: a scheduled job pages through the "
                "source's changes into the target, and nothing carries the target's changes "
                "back; use a queued pattern (event_driven, middleware, real_time_api), whose "
                "consumers run both ways, or declare a second integration for the way back",
            )


def _salesforce_budget(roadmap: Roadmap) -> Iterator[Problem]:
    """All flows' Salesforce calls/day, computed from their pattern, volume and batches
    (components.budget), fit each org's allocation minus the headroom."""
    spend = {i.name: salesforce_calls_per_day(i, roadmap) for i in roadmap.integrations}
    headroom = roadmap.settings.api_headroom_percent
    for s, system in enumerate(roadmap.systems):
        if system.salesforce is None:
            continue
        users = [
            i for i in roadmap.integrations if system.name in (i.source, i.target) and spend[i.name]
        ]
        total = sum(spend[i.name] for i in users)
        allocation = system.salesforce.allocation
        budget = allocation * (100 - headroom) // 100
        if total > budget:
            top = sorted(users, key=lambda i: -spend[i.name])[:3]
            largest = ", ".join(f"{i.name} {spend[i.name]:,}" for i in top)
            yield Problem(
                f"systems[{s}].salesforce",
                f"integrations spend {total:,} Salesforce API calls/day but {system.name!r} "
                f"allows {budget:,} ({allocation:,} allocation minus {headroom}% headroom); "
                f"lower service_levels.expected_records_per_day or schedules (largest: "
                f"{largest}), or raise licences/api_addon_calls",
            )


# --------------------------------------------------------------------------- loading


def read_yaml(path: Path) -> Any:
    """Read YAML from a file, raising RoadmapFileError with the file named on any I/O problem."""
    return load_yaml(read_source(path), path)


def load_roadmap(path: Path) -> Roadmap:
    """Load and validate the roadmap at `path` (RoadmapFileError, RoadmapError on failure)."""
    return parse_roadmap(read_yaml(path), source=path.name)
