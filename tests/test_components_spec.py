"""What an integration needs, read from the roadmap and a stack's settings without Pulumi.

`components.spec.integration_spec` decides the functions, environments, credentials and
alarms; the components only wire them (test_components_integration.py runs the program).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from components.spec import (
    REVERSE_CONSUMER,
    base_environment,
    integration_spec,
)
from contract.naming import WEBHOOK_INGRESS_ROLE
from roadmap.io import load_roadmap
from roadmap.settings import StackSettings
from roadmap.stack_config import load_stack_settings

ROOT = Path(__file__).resolve().parent.parent
ROADMAP = load_roadmap(ROOT / "roadmap.yaml")


@pytest.fixture(scope="module")
def dev() -> StackSettings:
    return load_stack_settings(ROOT / "stacks", "dev")


@pytest.fixture(scope="module")
def prod() -> StackSettings:
    return load_stack_settings(ROOT / "stacks", "prod")


def test_an_integration_in_discovery_is_refused(prod: StackSettings) -> None:
    with pytest.raises(ValueError, match=r"phase 1 \(discovery\) in prod, which provisions"):
        integration_spec(ROADMAP.integration("web-order-capture"), ROADMAP, prod)


@pytest.mark.parametrize(
    ("stack", "name", "roles"),
    [
        ("prod", "inventory-to-promise", ()),
        ("prod", "quote-to-order", ("consumer",)),
        ("dev", "quote-to-order", ("consumer", "reconcile")),
        ("dev", "order-to-invoice", ("batch", "reconcile")),
        ("dev", "campaign-sync", ("consumer", REVERSE_CONSUMER)),
        ("dev", "refund-capture", ("consumer", WEBHOOK_INGRESS_ROLE)),
    ],
)
def test_the_functions_follow_the_phase_the_pattern_and_the_flows(
    stack: str, name: str, roles: tuple[str, ...]
) -> None:
    settings = load_stack_settings(ROOT / "stacks", stack)
    spec = integration_spec(ROADMAP.integration(name), ROADMAP, settings)
    assert spec.function_roles == roles


def test_the_way_back_reads_the_target_and_writes_the_source(dev: StackSettings) -> None:
    spec = integration_spec(ROADMAP.integration("campaign-sync"), ROADMAP, dev)

    assert spec.both_ways and spec.reverse is not None
    forward, reverse = spec.forward.environment, spec.reverse.environment
    assert (reverse["SOURCE_SYSTEM"], reverse["TARGET_SYSTEM"]) == (
        forward["TARGET_SYSTEM"],
        forward["SOURCE_SYSTEM"],
    )
    assert reverse["SOURCE_CONNECTOR"] == forward["TARGET_CONNECTOR"]
    assert (spec.reverse.source_credential, spec.reverse.target_credential) == (
        spec.forward.target_credential,
        spec.forward.source_credential,
    )
    assert '"direction": "reverse"' in reverse["CONFLICT"]
    assert reverse["FIELD_MAPPING"] != forward["FIELD_MAPPING"]


def test_only_the_forward_batch_job_reads_the_overlap_window(dev: StackSettings) -> None:
    batch = integration_spec(ROADMAP.integration("order-to-invoice"), ROADMAP, dev)
    queued = integration_spec(ROADMAP.integration("quote-to-order"), ROADMAP, dev)

    assert batch.forward.environment["BATCH_OVERLAP_SECONDS"] == str(dev.batch_overlap_seconds)
    assert "BATCH_OVERLAP_SECONDS" not in queued.forward.environment


def test_every_environment_starts_from_the_three_names_and_leaves_resources_to_the_wiring(
    dev: StackSettings,
) -> None:
    for integ in ROADMAP.active("dev"):
        spec = integration_spec(integ, ROADMAP, dev)
        for direction in (spec.forward, spec.reverse):
            if direction is None:
                continue
            env = direction.environment
            assert base_environment(integ.name, "dev").items() <= env.items()
            # Secrets' ARNs, queues' URLs and the state table are the created resources'.
            created = ("SECRET_ARN", "QUEUE_URL", "DLQ_URL", "STATE_TABLE", "STAGE_BUCKET")
            assert not [key for key in env if key.endswith(created)]


def test_the_ingress_reads_its_signing_secret_and_the_sync_functions_never_do(
    dev: StackSettings,
) -> None:
    spec = integration_spec(ROADMAP.integration("refund-capture"), ROADMAP, dev)

    assert spec.webhook == ("shopify", "refund", "shopify-webhook")
    assert "shopify-webhook" not in spec.calls_out
    assert "shopify-webhook" not in (spec.forward.source_credential, spec.forward.target_credential)


def test_a_credential_rotated_by_hand_gets_its_rotation_days_for_its_alarm(
    dev: StackSettings,
) -> None:
    spec = integration_spec(ROADMAP.integration("refund-capture"), ROADMAP, dev)

    manual = {c.name for c in spec.credentials if c.manual}
    assert manual == set(spec.alarms.manual_credentials) == {"shopify-webhook", "netsuite-m2m"}
    assert spec.alarms.manual_credentials["shopify-webhook"] == 90


def test_a_pusher_keeps_its_source_ranges_and_its_bootstrap_names_its_user(
    dev: StackSettings,
) -> None:
    spec = integration_spec(ROADMAP.integration("lead-to-account"), ROADMAP, dev)

    assert spec.pushers == (("marketo-pusher", ("192.28.144.0/20", "199.15.212.0/22")),)
    bootstrap = next(c.bootstrap for c in spec.credentials if c.name == "marketo-pusher")
    assert bootstrap["user_name"] == "dev-lead-to-account-cred-marketo-pusher"


def test_snowflake_staging_without_its_storage_integration_is_refused(
    dev: StackSettings,
) -> None:
    bare = dev.model_copy(update={"snowflake": {}})

    with pytest.raises(ValueError, match=r"snowflake\.warehouse-export; copy storageAwsIamUserArn"):
        integration_spec(ROADMAP.integration("warehouse-export"), ROADMAP, bare)


def test_the_ingress_reserves_its_burst_rate_times_its_timeout(dev: StackSettings) -> None:
    from roadmap.concurrency import INGRESS_MIN_RESERVED

    refunds = ROADMAP.integration("refund-capture")
    # 200 refunds a day, all within an hour, 5 s each: under one at a time, so the floor.
    assert integration_spec(refunds, ROADMAP, dev).ingress_concurrency == INGRESS_MIN_RESERVED
    levels = refunds.service_levels.model_copy(update={"expected_records_per_day": 100_000})
    busy = refunds.model_copy(update={"service_levels": levels})
    # 100,000 in an hour is 27.8 a second; 5 s each: 139 at once.
    assert integration_spec(busy, ROADMAP, dev).ingress_concurrency == 139
    quotes = integration_spec(ROADMAP.integration("quote-to-order"), ROADMAP, dev)
    assert quotes.webhook is None and quotes.ingress_concurrency is None
