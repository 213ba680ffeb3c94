"""End to end for a scheduled flow: changed records read from the source's fake by the batch job.

For a batch or warehouse integration at phase >= 3: one record per mapped
object is put in the fake of its source's vendor, changed a few minutes ago; the deployed
batch code (``integration_sync.batch.handler``) runs as Lambda runs it
(``lambda_runner``), with its vendors' fakes' URLs, reading through the
source connector (``SOURCE_CONNECTOR``) and writing through the target connector; each
record must be stored at the target's fake with its mapped fields. A warehouse pipeline
with a stage (``STAGE_BUCKET``) writes files instead, which the warehouse loads itself: each
record must be a row of a file in the stage bucket, encrypted with the integration's key.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from contract import environment as var
from contract.aws_types import LAMBDA_FUNCTION
from contract.connectors import CONNECTORS, side_connector
from provisioner.rehearsal.checks.records import Sample, deployed_mapping, enrol, sample
from provisioner.rehearsal.lambda_runner import deployed_environment
from provisioner.rehearsal.result import Check

if TYPE_CHECKING:
    from provisioner.rehearsal.lambda_runner import LambdaRunner
    from provisioner.rehearsal.runner import Deployment
    from provisioner.rehearsal.vendors import VendorServer

__all__ = ["changed_at", "one_run"]

# What the batch job should have written: per mapped object (slug), the target's API name
# for it and the record seeded at the source.
Expected = dict[str, tuple[str, Sample]]


def one_run(
    name: str,
    integration: Any,
    deployment: Deployment,
    vendors: VendorServer,
    lambdas: LambdaRunner,
) -> Check:
    d = deployment.inventory[integration.name]
    batch = d.named("batch", LAMBDA_FUNCTION)
    if batch is None or d.role is None:
        return Check(name, False, "no batch function or role deployed for a scheduled flow")
    function_env = deployed_environment(deployment, batch)
    mapping = deployed_mapping(function_env, "batch function", integration.objects, "copy nothing")
    sides = {}
    for side, connector_var, secret_var in (
        ("source", var.SOURCE_CONNECTOR, var.SOURCE_CREDENTIAL_SECRET_ARN),
        ("target", var.TARGET_CONNECTOR, var.TARGET_CREDENTIAL_SECRET_ARN),
    ):
        connector = side_connector(function_env.get(connector_var))
        fake = vendors.fakes.get(connector)
        if fake is None:
            return Check(name, False, f"no fake of the {connector} API to sync through")
        enrol(deployment, function_env.get(secret_var, ""), fake)
        sides[side] = (connector, fake)
    (source_connector, source), (target_connector, target) = sides["source"], sides["target"]

    changed = changed_at(source_connector, time.time())
    expected: Expected = {}
    for slug, spec in mapping.items():
        record = sample(spec, 0, record_id=source.new_id())
        source.seed(
            spec["source_object"],
            record.record_id,
            changed,
            record.fields,
            external_id=record.external_id,
        )
        expected[slug] = (spec["target_object"], record)

    # The schedule's event carries nothing the job reads: it pages from its watermarks.
    urls = {var.SOURCE_BASE_URL: source.base_url, var.TARGET_BASE_URL: target.base_url}
    invocation = lambdas.invoke(batch.outputs["name"], {}, environment=urls)
    if invocation.error is not None:
        return Check(
            name,
            False,
            f"the batch job failed: {': '.join(invocation.error)}; log: {invocation.logs[-600:]}",
        )
    response = invocation.payload
    answered = f"batch answered {response}; output: {invocation.logs[-600:]}"
    watermarks = {k: v["watermark"] for k, v in response.get("objects", {}).items()}
    bucket = function_env.get(var.STAGE_BUCKET)
    if bucket:
        problems = _staged(deployment, bucket, mapping, expected, answered)
        done = f"staged {sorted(expected)} as NDJSON files in s3://{bucket}/ (SSE-KMS) for the "
        done += "warehouse to load"
    else:
        problems = [
            problem
            for slug, (obj, record) in expected.items()
            for problem in _differences(
                slug,
                target.stored(obj).get(record.external_id),
                record.expected,
                f"no {obj} {record.external_id} at the {target_connector} fake; {answered}",
                target.field,
            )
        ]
        done = f"read {sorted(expected)} changed at {changed} through the {source_connector} "
        done += f"connector and upserted them through the {target_connector} connector"
    return Check.judged(
        name,
        problems,
        f"batch job {done} with their mapped fields (watermarks committed: {watermarks})",
    )


def changed_at(connector: str, now: float) -> str:
    """When the seeded record changed: ten minutes before the source's API shows a change
    made at ``now`` (Amplitude exports events two hours after it received them)."""
    ago = 600 + CONNECTORS[connector].read_latency_seconds
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - ago))


def _differences(
    slug: str,
    found: dict[str, Any] | None,
    want: dict[str, Any],
    missing: str,
    field: Callable[[str], str] = str,
) -> list[str]:
    """What is wrong with the record ``found`` for ``slug``: ``missing``, or values other
    than ``want`` (target field names as ``field`` spells them in what was found)."""
    if found is None:
        return [f"{slug}: {missing}"]
    if any(found.get(field(k)) != v for k, v in want.items()):
        return [f"{slug}: the target holds {found}, expected {want}"]
    return []


def _staged(
    deployment: Deployment,
    bucket: str,
    mapping: dict[str, Any],
    expected: Expected,
    answered: str,
) -> list[str]:
    """Each record is a row of an NDJSON file under `{object}/` in the stage bucket, and every
    file there is encrypted with a KMS key (the bucket's default, the integration's)."""
    s3 = deployment.aws.admin("s3")
    problems = []
    for slug, (_, record) in expected.items():
        id_field = mapping[slug]["external_id"]
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{slug}/").get("Contents", [])
        rows = []
        for item in listed:
            got = s3.get_object(Bucket=bucket, Key=item["Key"])
            if got.get("ServerSideEncryption") != "aws:kms":
                problems.append(f"{item['Key']} is stored without SSE-KMS")
            rows += [json.loads(line) for line in got["Body"].iter_lines() if line]
        row = next((r for r in rows if r.get(id_field) == record.external_id), None)
        missing = f"no row {id_field}={record.external_id} in s3://{bucket}/{slug}/; {answered}"
        problems += _differences(slug, row, record.expected, missing)
    return problems
