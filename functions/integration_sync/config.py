"""Settings read from the function's environment (names fixed by docs/contracts.md).

Example::

    settings = Settings.from_env()
    settings.mapping["Order"].external_id  # "Salesforce_Order_Id__c"
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from contract import environment as var
from contract.metrics import namespace
from integration_sync.errors import ConfigurationError


@dataclass(frozen=True)
class ObjectMapping:
    """How one source object lands in the target: field renames and the external id field.

    ``name`` is the roadmap's slug (``hw-order``); ``source_object`` and ``target_object``
    are what the source and target APIs call it (``HW_Order__c``), the slug when not given.
    """

    name: str
    fields: Mapping[str, str]
    external_id: str
    source_object: str = ""
    target_object: str = ""

    def __post_init__(self) -> None:
        for attribute in ("source_object", "target_object"):
            if not getattr(self, attribute):
                object.__setattr__(self, attribute, self.name)


@dataclass(frozen=True)
class Settings:
    """Everything a sync handler needs, taken from environment variables."""

    integration: str
    environment: str
    metrics_namespace: str
    source_system: str
    target_system: str
    source_base_url: str
    target_base_url: str
    source_secret_arn: str
    target_secret_arn: str
    state_table: str
    queue_url: str
    dlq_url: str
    fifo: bool
    api_calls_per_day: int
    max_staleness_seconds: int
    # How far back each batch run re-reads before its watermark (stack setting
    # batchOverlapSeconds), for records a lagging source clock committed "in the past".
    batch_overlap_seconds: int = 0
    # The batch job reads its source through Bulk API 2.0 query jobs (SOURCE_BULK_QUERY)
    source_bulk_query: bool = False
    source_connector: str = ""
    target_connector: str = ""
    mapping: Mapping[str, ObjectMapping] = field(default_factory=dict)
    # Bidirectional integrations only: this direction's conflict policy (conflict.py) and
    # where contested changes are parked for a person (the DLQ when empty).
    conflict: str = ""
    review_queue_url: str = ""
    # Warehouse pipelines only: the S3 stage bucket each run's records land in as files
    # (integration_sync.stage); the warehouse loads them itself.
    stage_bucket: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate the contract's variables; raise ConfigurationError if unusable."""
        env = os.environ if env is None else env
        integration = env.get(var.INTEGRATION, "")
        if not integration:
            raise ConfigurationError(f"{var.INTEGRATION} is not set")
        return cls(
            integration=integration,
            environment=env.get(var.ENVIRONMENT, ""),
            metrics_namespace=env.get(var.METRICS_NAMESPACE) or namespace(integration),
            source_system=env.get(var.SOURCE_SYSTEM, ""),
            target_system=env.get(var.TARGET_SYSTEM, ""),
            source_base_url=env.get(var.SOURCE_BASE_URL, "").rstrip("/"),
            target_base_url=env.get(var.TARGET_BASE_URL, "").rstrip("/"),
            source_secret_arn=env.get(var.SOURCE_CREDENTIAL_SECRET_ARN, ""),
            target_secret_arn=env.get(var.TARGET_CREDENTIAL_SECRET_ARN, ""),
            state_table=env.get(var.STATE_TABLE, ""),
            queue_url=env.get(var.QUEUE_URL, ""),
            dlq_url=env.get(var.DLQ_URL, ""),
            fifo=env.get(var.FIFO, "").lower() == "true",
            api_calls_per_day=_int(env, var.API_CALLS_PER_DAY, 0),
            max_staleness_seconds=_int(env, var.MAX_STALENESS_SECONDS, 0),
            batch_overlap_seconds=_int(env, var.BATCH_OVERLAP_SECONDS, 0),
            source_bulk_query=env.get(var.SOURCE_BULK_QUERY, "") == "true",
            source_connector=env.get(var.SOURCE_CONNECTOR, ""),
            target_connector=env.get(var.TARGET_CONNECTOR, ""),
            mapping=parse_field_mapping(env.get(var.FIELD_MAPPING, "{}")),
            conflict=env.get(var.CONFLICT, ""),
            review_queue_url=env.get(var.REVIEW_QUEUE_URL, ""),
            stage_bucket=env.get(var.STAGE_BUCKET, ""),
        )

    def require(self, *names: str) -> None:
        """Fail the invocation early, naming every missing variable."""
        missing = [name for name in names if not getattr(self, name)]
        if missing:
            variables = {
                "state_table": var.STATE_TABLE,
                "dlq_url": var.DLQ_URL,
                "queue_url": var.QUEUE_URL,
                "target_base_url": var.TARGET_BASE_URL,
                "source_base_url": var.SOURCE_BASE_URL,
            }
            raise ConfigurationError(
                "missing environment variables: "
                + ", ".join(variables.get(name, name.upper()) for name in missing)
            )


def parse_field_mapping(raw: str) -> dict[str, ObjectMapping]:
    """Parse FIELD_MAPPING: ``{object: {"fields": {source: target}, "external_id": target,
    "source_object": api name, "target_object": api name}}`` (the two names optional)."""
    try:
        data = json.loads(raw or "{}")
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"FIELD_MAPPING is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigurationError("FIELD_MAPPING must be a JSON object keyed by object name")
    mapping: dict[str, ObjectMapping] = {}
    for name, spec in data.items():
        fields = spec.get("fields") if isinstance(spec, dict) else None
        external_id = spec.get("external_id") if isinstance(spec, dict) else None
        if not isinstance(fields, dict) or not isinstance(external_id, str) or not external_id:
            raise ConfigurationError(
                f"FIELD_MAPPING[{name!r}] needs 'fields' (object) and 'external_id' (string)"
            )
        names = {key: spec.get(key) or name for key in ("source_object", "target_object")}
        if not all(isinstance(value, str) for value in names.values()):
            raise ConfigurationError(
                f"FIELD_MAPPING[{name!r}]: 'source_object' and 'target_object' must be strings"
            )
        mapping[name] = ObjectMapping(
            name=name, fields=dict(fields), external_id=external_id, **names
        )
    return mapping


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name, "")
    try:
        return int(value) if value else default
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, got {value!r}") from exc
