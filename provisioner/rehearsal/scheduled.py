"""End to end for a scheduled flow: changed records read from the source's fake by the batch job.

For a batch or warehouse integration at phase >= 3: one record per mapped
object is put in the fake of its source's vendor, changed a few minutes ago; the deployed
batch code (``integration_sync.batch.handler``) runs in this process with the function's
deployed environment, the role's credentials and the fakes' URLs, reading through the
source connector (``SOURCE_CONNECTOR``) and writing through the target connector; each
record must be stored at the target's fake with its mapped fields. A warehouse pipeline
with a stage (``STAGE_BUCKET``) writes files instead, which the warehouse loads itself: each
record must be a row of a file in the stage bucket, encrypted with the integration's key.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from contract.aws_types import LAMBDA_FUNCTION
from provisioner.rehearsal.result import Check

if TYPE_CHECKING:
    from provisioner.rehearsal.runner import Deployment
    from provisioner.rehearsal.vendors import VendorServer

__all__ = ["one_run"]


def one_run(name: str, integration: Any, deployment: Deployment, vendors: VendorServer) -> Check:
    from provisioner.rehearsal.access import assume
    from provisioner.rehearsal.flows import (
        _deployed_environment,
        _lookup,
        _nest,
        _run_consumer,
        _value,
    )

    d = deployment.inventory[integration.name]
    batch = d.named("batch", LAMBDA_FUNCTION)
    if batch is None or d.role is None:
        return Check(name, False, "no batch function or role deployed for a scheduled flow")
    function_env = _deployed_environment(deployment, batch)
    mapping = json.loads(function_env.get("FIELD_MAPPING") or "{}")
    if not mapping:
        return Check(
            name,
            False,
            f"the deployed batch function maps no fields for {list(integration.objects)}, so "
            "it copies nothing; add field_mappings to the roadmap",
        )
    sides = {}
    for side in ("SOURCE", "TARGET"):
        connector = function_env.get(f"{side}_CONNECTOR") or "middleware"
        fake = vendors.fakes.get(connector)
        if fake is None:
            return Check(name, False, f"no fake of the {connector} API to sync through")
        _enrol(deployment, function_env.get(f"{side}_CREDENTIAL_SECRET_ARN", ""), fake)
        sides[side] = (connector, fake)
    (source_connector, source), (target_connector, target) = sides["SOURCE"], sides["TARGET"]

    changed = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 600))
    expected: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for slug, spec in mapping.items():
        record_id = source.new_id()
        fields: dict[str, Any] = {}
        for i, source_field in enumerate(spec["fields"]):
            _nest(
                fields, source_field, _value(source_field, i) if source_field != "Id" else record_id
            )
        external_id = next(
            str(_lookup(fields, s, record_id))
            for s, t in spec["fields"].items()
            if t == spec["external_id"]
        )
        source.seed(spec["source_object"], record_id, changed, fields, external_id=external_id)
        want = {
            t: _lookup(fields, s, record_id)
            for s, t in spec["fields"].items()
            if t != spec["external_id"]
        }
        expected[slug] = (spec["target_object"], external_id, want)

    creds = assume(deployment.aws, d.role.outputs["arn"], f"rehearsal-{integration.name}"[:64])
    urls = {"SOURCE_BASE_URL": source.base_url}
    response, output = _run_consumer(
        {}, function_env, creds, deployment, target.base_url, module="batch", urls=urls
    )
    bucket = function_env.get("STAGE_BUCKET")
    if bucket:
        return _staged(name, deployment, bucket, mapping, expected, response, output)
    problems = []
    for slug, (obj, external_id, want) in expected.items():
        stored = target.stored(obj).get(external_id)
        if stored is None:
            problems.append(
                f"{slug}: no {obj} {external_id} at the {target_connector} fake; batch "
                f"answered {response}; output: {output[-600:]}"
            )
        elif any(stored.get(target.field(k)) != v for k, v in want.items()):
            problems.append(f"{slug}: the target holds {stored}, expected {want}")
    if problems:
        return Check(name, False, "; ".join(problems))
    return Check(
        name,
        True,
        f"batch job read {sorted(expected)} changed at {changed} through the "
        f"{source_connector} connector and upserted them through the {target_connector} "
        f"connector with their mapped fields (watermarks committed: "
        f"{ {k: v['watermark'] for k, v in response['objects'].items()} })",
    )


def _staged(
    name: str,
    deployment: Deployment,
    bucket: str,
    mapping: dict[str, Any],
    expected: dict[str, tuple[str, str, dict[str, Any]]],
    response: Any,
    output: str,
) -> Check:
    """Each record is a row of an NDJSON file under `{object}/` in the stage bucket, and every
    file there is encrypted with a KMS key (the bucket's default, the integration's)."""
    s3 = deployment.aws.client("s3")
    problems = []
    for slug, (_, external_id, want) in expected.items():
        id_field = mapping[slug]["external_id"]
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{slug}/").get("Contents", [])
        rows = []
        for item in listed:
            got = s3.get_object(Bucket=bucket, Key=item["Key"])
            if got.get("ServerSideEncryption") != "aws:kms":
                problems.append(f"{item['Key']} is stored without SSE-KMS")
            rows += [json.loads(line) for line in got["Body"].iter_lines() if line]
        row = next((r for r in rows if r.get(id_field) == external_id), None)
        if row is None:
            problems.append(
                f"{slug}: no row {id_field}={external_id} in s3://{bucket}/{slug}/; batch "
                f"answered {response}; output: {output[-600:]}"
            )
        elif any(row.get(k) != v for k, v in want.items()):
            problems.append(f"{slug}: the staged row is {row}, expected {want}")
    if problems:
        return Check(name, False, "; ".join(problems))
    return Check(
        name,
        True,
        f"batch job staged {sorted(expected)} as NDJSON files in s3://{bucket}/ (SSE-KMS) "
        "for the warehouse to load, with their mapped fields (watermarks committed: "
        f"{ {k: v['watermark'] for k, v in response['objects'].items()} })",
    )


def _enrol(deployment: Deployment, secret_arn: str, fake: Any) -> None:
    """The credential the vendor's administrator would issue, put into the deployed secret."""
    if not secret_arn:
        return
    sm = deployment.aws.client("secretsmanager")
    doc = json.loads(sm.get_secret_value(SecretId=secret_arn)["SecretString"])
    if doc["kind"] == "iam_access_key":
        return
    sm.put_secret_value(
        SecretId=secret_arn, SecretString=json.dumps(fake.enrol(doc)), VersionStages=["AWSCURRENT"]
    )
