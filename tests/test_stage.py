"""A warehouse pipeline's stage: what the program builds for it, and the stack settings it needs.

The component tests read the real program's dev run (`program_runs.stack_run`); the
settings tests change one line of the example dev stack file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from roadmap_examples import stack_folder

from components.stage import EXPIRE_AFTER_DAYS
from contract.naming import stage_bucket_name
from contract.transport import deny_insecure_transport
from provisioner.records import ProgramRun, RecordedResource
from roadmap.io import load_roadmap
from roadmap.settings import stack_problems
from roadmap.stack_config import StackSettingsError, load_stack_settings

ROOT = Path(__file__).resolve().parent.parent
ROADMAP = load_roadmap(ROOT / "roadmap.yaml")
WAREHOUSE = "warehouse-export"
ACCOUNT = "111111111111"
BUCKET = stage_bucket_name("dev", WAREHOUSE, ACCOUNT)
USER_ARN = "storageAwsIamUserArn: arn:aws:iam::123456789001:user/sfc1-b-dev1234"


def named(run: ProgramRun, name: str, type_: str = "aws:") -> RecordedResource:
    return next(r for r in run.resources if r.name == name and r.type.startswith(type_))


def statements(document: str) -> list[dict[str, Any]]:
    return list(json.loads(document)["Statement"])


def test_only_warehouse_pipelines_get_a_stage_bucket(dev: ProgramRun) -> None:
    buckets = [r for r in dev.resources if r.type == "aws:s3/bucket:Bucket"]
    assert [(r.name, r.inputs["bucket"]) for r in buckets] == [(f"{WAREHOUSE}-stage", BUCKET)]
    assert 3 <= len(BUCKET) <= 63 and BUCKET.lower() == BUCKET


def test_the_stage_is_encrypted_with_the_integrations_key_private_and_expiring(
    dev: ProgramRun,
) -> None:
    key_arn = named(dev, f"{WAREHOUSE}-key").outputs["arn"]
    [rule] = named(dev, f"{WAREHOUSE}-stage-encryption").inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": key_arn,
    }
    assert rule["bucketKeyEnabled"] is True
    block = named(dev, f"{WAREHOUSE}-stage-public-access-block").inputs
    assert all(block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls"))
    assert block["restrictPublicBuckets"] is True
    ownership = named(dev, f"{WAREHOUSE}-stage-ownership").inputs["rule"]
    assert ownership == {"objectOwnership": "BucketOwnerEnforced"}
    [lifecycle] = named(dev, f"{WAREHOUSE}-stage-lifecycle").inputs["rules"]
    assert lifecycle["expiration"] == {"days": EXPIRE_AFTER_DAYS}
    assert lifecycle["abortIncompleteMultipartUpload"]["daysAfterInitiation"] >= 1
    [deny] = statements(named(dev, f"{WAREHOUSE}-stage-policy").inputs["policy"])
    assert deny["Effect"] == "Deny" and deny["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }


def test_snowflake_assumes_the_stage_role_only_with_its_external_id_and_reads_only_the_stage(
    dev: ProgramRun,
) -> None:
    role = named(dev, f"{WAREHOUSE}-stage-role")
    [trust] = statements(role.inputs["assumeRolePolicy"])
    assert trust["Principal"] == {"AWS": "arn:aws:iam::123456789001:user/sfc1-b-dev1234"}
    assert trust["Condition"] == {
        "StringEquals": {"sts:ExternalId": "NORTHWIND_DEV_SFCRole=2_kQ3vR8aXe1dGp0sT7wYz4bN6mLc="}
    }
    granted = statements(named(dev, f"{WAREHOUSE}-stage-role-policy").inputs["policy"])
    objects = ROADMAP.integration(WAREHOUSE).objects
    assert {a for s in granted for a in [s["Action"]] if isinstance(a, str)} | {
        a for s in granted if isinstance(s["Action"], list) for a in s["Action"]
    } == {"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "kms:Decrypt"}
    assert granted[0]["Resource"] == [f"arn:aws:s3:::{BUCKET}/{o}/*" for o in objects]
    assert granted[2]["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    }


def test_the_sync_role_only_puts_files_under_the_stage_prefixes(dev: ProgramRun) -> None:
    found = statements(named(dev, f"{WAREHOUSE}-policy").inputs["policy"])
    s3 = [s for s in found if any(str(a).startswith("s3:") for a in s["Action"])]
    objects = ROADMAP.integration(WAREHOUSE).objects
    assert [(s["Action"], s["Resource"]) for s in s3] == [
        (["s3:PutObject"], [f"arn:aws:s3:::{BUCKET}/{o}/*" for o in objects])
    ]
    function = named(dev, f"{WAREHOUSE}-batch", "aws:lambda/function:Function")
    batch = function.inputs["environment"]["variables"]
    assert batch["STAGE_BUCKET"] == BUCKET


def test_the_pipes_queue_hears_of_created_files_under_each_prefix(dev: ProgramRun) -> None:
    queues = named(dev, f"{WAREHOUSE}-stage-notification").inputs["queues"]
    assert {q["filterPrefix"] for q in queues} == {
        f"{o}/" for o in ROADMAP.integration(WAREHOUSE).objects
    }
    assert all(q["events"] == ["s3:ObjectCreated:*"] for q in queues)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        (USER_ARN, "storageAwsIamUserArn: arn:aws:iam::123456789001:root", "storageAwsIamUserArn"),
        (
            "storageAwsExternalId: NORTHWIND_DEV",
            "storageAwsExternalId: NORTHWIND DEV",
            "storageAwsExternalId",
        ),
        (
            "pipeNotificationChannelArn: arn:aws:sqs:",
            "pipeNotificationChannelArn: arn:aws:sns:",
            "pipeNotificationChannelArn",
        ),
    ],
)
def test_a_malformed_snowflake_value_names_the_file_key_and_what_desc_integration_prints(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    stacks = stack_folder(tmp_path, "dev", {old: new})
    with pytest.raises(StackSettingsError) as caught:
        load_stack_settings(stacks, "dev")
    message = str(caught.value)
    assert "Pulumi.dev.yaml" in message
    assert f"config.integration-provisioner:snowflake.{WAREHOUSE}.{key}" in message, message


def test_a_staged_snowflake_integration_without_its_values_is_a_problem(tmp_path: Path) -> None:
    text = (ROOT / "stacks" / "Pulumi.dev.yaml").read_text()
    kept = text.split("  integration-provisioner:snowflake:")[0]
    (tmp_path / "Pulumi.dev.yaml").write_text(kept)
    [problem] = stack_problems(load_stack_settings(tmp_path, "dev"), ROADMAP)
    assert problem.loc == f"config.integration-provisioner:snowflake.{WAREHOUSE}"
    assert "DESC INTEGRATION" in problem.msg and "storageAwsExternalId" in problem.msg


def test_the_emulator_judges_a_tls_only_deny_as_for_a_request_over_tls() -> None:
    from provisioner.rehearsal.moto_seams import judged_bucket_policy

    tls = deny_insecure_transport("s3", "arn:aws:s3:::b/*")
    other = {**tls, "Condition": {"StringNotEquals": {"aws:PrincipalAccount": "111111111111"}}}
    unconditioned = {k: v for k, v in tls.items() if k != "Condition"}
    policy = json.dumps({"Version": "2012-10-17", "Statement": [tls, other, unconditioned]})
    assert statements(judged_bucket_policy(policy)) == [other, unconditioned]


def test_plan_notes_a_stage_whose_pipe_queue_is_not_set() -> None:
    from provisioner.commands.plan import _stage_line

    stage = {"bucket": BUCKET, "warehouse": "snowflake", "notification_queue": None}
    line = _stage_line(WAREHOUSE, stage)
    assert f"snowflake.{WAREHOUSE}.pipeNotificationChannelArn is not set" in line
    assert "COPY INTO" in line
