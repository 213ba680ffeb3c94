"""contract.ownership: whose a name, an ARN pattern or a principal is, present and future."""

from __future__ import annotations

import pytest

from contract.naming import physical_name, stage_bucket_name
from contract.ownership import Ownership

ACCOUNT = "333333333333"
WORLD = Ownership("prod", {"lead", "lead-to-account", "quote-to-order"}, ACCOUNT, "eu-west-1")


def sqs(name: str, region: str = "eu-west-1", account: str = ACCOUNT) -> str:
    return f"arn:aws:sqs:{region}:{account}:{name}"


@pytest.mark.parametrize(
    ("pattern", "owner"),
    [
        (sqs("prod-lead-dlq"), "lead"),
        (sqs("prod-lead-to-account-queue.fifo"), "lead-to-account"),
        (f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:prod-lead-cred-*", "lead"),
        (
            f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/aws/lambda/prod-lead-consumer:*",
            "lead",
        ),
        (f"arn:aws:iam::{ACCOUNT}:role/prod-quote-to-order-rotation", "quote-to-order"),
        (sqs(physical_name("prod", "lead", "alarm-" + "x" * 60)), "lead"),
    ],
)
def test_pattern_within_one_integration_is_that_integrations(pattern: str, owner: str) -> None:
    assert WORLD.arn_reach(pattern).only(owner)


@pytest.mark.parametrize(
    ("pattern", "reached"),
    [
        (sqs("prod-lead-*"), "a future integration 'lead-"),  # a future `lead-x`
        (sqs("prod-lead-to*"), "a future integration 'lead-to"),
        (sqs("prod-lead-dl?"), "future integration"),
        (sqs("prod-*"), "every integration's names"),
        (sqs("*"), "every name"),
        (sqs("prod-lead-queue", region="*"), "region '*'"),
        (sqs("prod-lead-queue", account="*"), "account '*'"),
        (sqs("prod-lead-queue", account="444455556666"), "account '444455556666'"),
        (sqs("staging-lead-queue"), "not one of this stack's names"),
        (sqs("prod-leadership-queue"), "no integration's name"),
        ("*", "every resource of every account"),
    ],
)
def test_pattern_reaching_beyond_one_integration_says_what(pattern: str, reached: str) -> None:
    reach = WORLD.arn_reach(pattern)
    assert not reach.only("lead")
    assert reached in "; ".join(reach.others("lead"))


def test_the_log_streams_of_a_shortened_name_are_its_integrations_alone() -> None:
    # Name and prefix at their limits: shortening cuts the role word (`reverse-consumer`
    # ends as `rever-<hash>`), so only the hash says the name ended.
    owner = "xero-amplitude-002-" + "x" * 13
    world = Ownership("dev-alice-sandbx", {owner}, ACCOUNT, "eu-west-1")
    name = physical_name("dev-alice-sandbx", owner, "reverse-consumer")
    assert "-rever-" in name and not name.endswith("-consumer")
    group = f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/aws/lambda/{name}"

    assert world.arn_reach(f"{group}:*").only(owner)
    # Without a separator the pattern may go on past the name into someone else's.
    assert not world.arn_reach(f"{group}*").only(owner)


def test_the_objects_of_a_shortened_stage_bucket_are_its_integrations_alone() -> None:
    # S3 allows 63 characters, one fewer than the other names: the bucket's shortened name
    # is as long as that limit, and the objects under it are the integration's own.
    owner = "marketo-salesforce-003-" + "x" * 9
    world = Ownership("dev-alice-sandbx", {owner}, ACCOUNT, "eu-west-1")
    bucket = stage_bucket_name("dev-alice-sandbx", owner, ACCOUNT)
    assert len(bucket) == 63 and not bucket.endswith(ACCOUNT)

    assert world.arn_reach(f"arn:aws:s3:::{bucket}/payment/*").only(owner)
    assert world.arn_reach(f"arn:aws:s3:::{bucket}").only(owner)
    assert not world.arn_reach(f"arn:aws:s3:::{bucket}*").only(owner)


def test_a_prefix_pattern_reaches_the_longer_integration_too() -> None:
    assert "lead-to-account" in WORLD.arn_reach(sqs("prod-lead-*")).owners


@pytest.mark.parametrize(
    ("arn", "kind", "integration", "job"),
    [
        (f"arn:aws:iam::{ACCOUNT}:role/prod-lead-role", "role", "lead", "sync"),
        (f"arn:aws:iam::{ACCOUNT}:role/prod-lead-rotation", "role", "lead", "rotation"),
        (f"arn:aws:iam::{ACCOUNT}:user/prod-lead-cred-marketo", "user", "lead", "pusher"),
        (
            f"arn:aws:iam::{ACCOUNT}:role/prod-lead-to-account-role",
            "role",
            "lead-to-account",
            "sync",
        ),
        (f"arn:aws:iam::{ACCOUNT}:root", "root", None, None),
        (ACCOUNT, "root", None, None),
        ("*", "anyone", None, None),
        ("arn:aws:iam::444455556666:role/prod-lead-role", "role", None, None),
    ],
)
def test_principal_is_classified_with_its_integration_and_job(
    arn: str, kind: str, integration: str | None, job: str | None
) -> None:
    principal = WORLD.principal(arn)
    assert (principal.kind, principal.integration, principal.job) == (kind, integration, job)
