"""`provisioner plan`: what `pulumi up --stack S` would create, without cloud or CLI.

Runs the real program (`__main__.py`) under the SDK's mock runtime
(provisioner/program.py) and prints the resources per integration, with every secret
value replaced by "[secret]" and the monthly cost from provisioner/pricing.py.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from collections import Counter
from typing import Any

from contract.aws_types import S3_BUCKET, S3_BUCKET_NOTIFICATION, SECRETS_MANAGER_SECRET_VERSION
from contract.naming import NAME_LIMITS, SECRET
from provisioner.aws_shapes import stand_in_account
from provisioner.context import StackContext, load_stack_context
from provisioner.errors import EXIT_OK, CheckFailed, UsageError
from provisioner.prices import PriceError, price_table_json
from provisioner.pricing import integration_cost, stack_cost
from provisioner.program import run_program
from provisioner.records import ProgramError, ProgramRun, RecordedResource
from roadmap.budget import salesforce_calls_per_day

NAME = "plan"
ORDER = 20
HELP = "show what `pulumi up` would create per integration (mock runtime, no cloud)"
DESCRIPTION = """\
Run the Pulumi program for a stack under the SDK's mock runtime and list, per
integration at phase >= 2 there, its direction (both ways where a bidirectional flow
runs back from phase 3), its phase and every resource it would create, with
the monthly cost: fixed items (KMS keys and their rotated key material, secrets,
alarms, dashboards, custom metrics) and usage estimated from the roadmap's service levels
(Lambda, SQS, DynamoDB, Secrets Manager and KMS requests, log ingestion), priced from the
dated table in provisioner/prices.py for the stack's region. Secret values are printed
as "[secret]".

  provisioner plan --stack prod
  provisioner plan --stack dev --json > plan.json

An integration renamed in the roadmap (`renamed_from`) keeps its resources by Pulumi
alias; the plan says which of them AWS re-creates because their names change.

--json prints {"stack", "region", "integrations": [{"name", "renamed_from",
"recreated_by_rename", "phase", "flows": [{"direction" (forward, or reverse), "source",
"target"}], "salesforce_calls_per_day" (computed from the pattern, the volume and the
batches; what the budget rules and the api-budget alarm use), "monthly_cost_usd",
"cost": {"fixed_usd", "usage_usd", "monthly_usd", "items": [{"item", "kind", "quantity",
"unit", "usd", "basis"}]}, "resources": [{"type", "name", "urn", "parent", "inputs",
"outputs"}]}], "stack_resources" (those of no integration: the stack's audit trail, its
key and bucket), "stack_cost", "resource_count", "monthly_cost_usd", "fixed_cost_usd",
"usage_cost_usd", "prices": [{"item", "what", "kind", "usd", "per", "unit", "source", "as_of"}]}.

Exit 0 on success, 1 when the roadmap is invalid or the program fails, 2 on usage errors.
"""

# Values redacted whether or not the SDK marked them secret: the secret payload itself.
_ALWAYS_SECRET = {SECRETS_MANAGER_SECRET_VERSION: ("secretString", "secretBinary")}


def register(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import add_json_argument, add_roadmap_argument, add_stack_argument

    add_stack_argument(parser)
    add_roadmap_argument(parser)
    add_json_argument(parser)


def resource_json(resource: RecordedResource) -> dict[str, Any]:
    """The contract's shape with secrets redacted in inputs and outputs."""
    doc = resource.to_json(redact=True)
    secret_outputs = set(resource.options.get("additionalSecretOutputs", ()))
    secret_outputs |= {p[0] for p in resource.secret_paths if p and isinstance(p[0], str)}
    for key in _ALWAYS_SECRET.get(resource.type, ()):
        if key in doc["inputs"]:
            doc["inputs"][key] = SECRET
        secret_outputs.add(key)
    doc["outputs"] = {
        k: (SECRET if k in secret_outputs and v is not None else v)
        for k, v in doc["outputs"].items()
    }
    return doc


def plan_document(ctx: StackContext, run: ProgramRun) -> dict[str, Any]:
    """The `--json` document for a run of the program."""
    grouped: dict[str | None, list[RecordedResource]] = {}
    for resource in run.resources:
        grouped.setdefault(run.integration_of(resource), []).append(resource)
    integrations: list[dict[str, Any]] = []
    region = ctx.settings.region
    fixed = usage = 0.0
    for integ in ctx.roadmap.active(ctx.environment):
        resources = grouped.get(integ.name, [])
        cost = integration_cost(integ, resources, region)
        fixed, usage = fixed + cost.fixed_usd, usage + cost.usage_usd
        integrations.append(
            {
                "name": integ.name,
                "renamed_from": list(integ.renamed_from),
                "recreated_by_rename": [r.name for r in resources if _named(r)]
                if integ.renamed_from
                else [],
                "phase": integ.phase(ctx.environment),
                "flows": [
                    {"direction": d, "source": a, "target": b}
                    for d, a, b in integ.flows(ctx.environment)
                ],
                "connectors": {
                    side: {"name": spec.name, "api_version": spec.api_version}
                    for side in ("source", "target")
                    for spec in (ctx.roadmap.connector(integ, side),)
                },
                "credential_rotation": {
                    c.name: ctx.roadmap.rotation_mode(c) for c in integ.credentials
                },
                "salesforce_calls_per_day": salesforce_calls_per_day(
                    integ, ctx.roadmap, phase=integ.phase(ctx.environment)
                ),
                "stage": _stage(ctx, integ, resources),
                "monthly_cost_usd": cost.total_usd,
                "cost": cost.to_json(),
                "resources": [resource_json(r) for r in resources],
            }
        )
    own = grouped.get(None, [])
    stack = stack_cost(own, region)
    fixed, usage = round(fixed + stack.fixed_usd, 2), round(usage + stack.usage_usd, 2)
    return {
        "stack": ctx.stack,
        "region": region,
        "integrations": integrations,
        "stack_resources": [resource_json(r) for r in own],
        "stack_cost": stack.to_json(),
        "resource_count": len(run.resources),
        "monthly_cost_usd": round(fixed + usage, 2),
        "fixed_cost_usd": fixed,
        "usage_cost_usd": usage,
        "prices": price_table_json(region),
    }


def _named(resource: RecordedResource) -> bool:
    """Whether the resource has an AWS name (`NAME_LIMITS`): AWS changes none in place."""
    limits = NAME_LIMITS.get(resource.type, ())
    return any(isinstance(resource.inputs.get(r.field), str) for r in limits)


# Text output stays readable in an 100-column terminal; long lists wrap under their column.
WIDTH = 100


def short_type(type_token: str) -> str:
    """'aws:cloudwatch/metricAlarm:MetricAlarm' -> 'cloudwatch MetricAlarm'; ours: 'component X'."""
    provider, module, resource = type_token.split(":", 2)
    return f"{module.split('/')[0]} {resource}" if provider == "aws" else f"component {resource}"


def _wrapped(head: str, items: list[str]) -> list[str]:
    return textwrap.wrap(
        ", ".join(items),
        WIDTH,
        initial_indent=head,
        subsequent_indent=" " * len(head),
        break_on_hyphens=False,
        break_long_words=False,
    ) or [head.rstrip()]


def _stage(
    ctx: StackContext, integ: Any, resources: list[RecordedResource]
) -> dict[str, Any] | None:
    """A warehouse pipeline's stage: its bucket, who loads it, and how it hears of files."""
    warehouse = ctx.roadmap.stage_warehouse(integ, ctx.environment)
    bucket = next((r for r in resources if r.type == S3_BUCKET), None)
    if warehouse is None or bucket is None:
        return None
    queues = [
        q.get("queueArn")
        for r in resources
        if r.type == S3_BUCKET_NOTIFICATION
        for q in r.inputs.get("queues") or []
    ]
    return {
        "bucket": bucket.inputs.get("bucket"),
        "warehouse": warehouse,
        "notification_queue": queues[0] if queues else None,
    }


def _stage_line(name: str, stage: dict[str, Any]) -> str:
    head = f"  stage: s3://{stage['bucket']}/ loaded by {stage['warehouse']}"
    if stage["notification_queue"]:
        return f"{head}; Snowpipe auto-ingest hears of new files at {stage['notification_queue']}"
    return (
        f"{head}; note: no event notification (snowflake.{name}.pipeNotificationChannelArn is "
        "not set), so loads run by COPY INTO until SHOW PIPES' notification_channel is set"
    )


def render_text(ctx: StackContext, doc: dict[str, Any]) -> str:
    settings = ctx.settings
    lines = [
        f"plan for stack {doc['stack']} ({settings.environment} rules, {settings.region}, "
        f"account {stand_in_account(settings)})",
        f"{len(doc['integrations'])} integration(s), {doc['resource_count']} resources, "
        f"${doc['monthly_cost_usd']:.2f}/month (${doc['fixed_cost_usd']:.2f} fixed, "
        f"${doc['usage_cost_usd']:.2f} usage from the service levels)",
    ]
    for integ in doc["integrations"]:
        resources = integ["resources"]
        flows = " and ".join(f"{f['source']} -> {f['target']}" for f in integ["flows"])
        entry = ctx.roadmap.integration(integ["name"])
        lines += [
            "",
            f"{integ['name']}  phase {integ['phase']}  {len(resources)} resources  "
            f"${integ['monthly_cost_usd']:.2f}/month (${integ['cost']['fixed_usd']:.2f} fixed, "
            f"${integ['cost']['usage_usd']:.2f} usage)",
            f"  {flows}" + (" (both ways)" if len(integ["flows"]) > 1 else ""),
            f"  connectors: {ctx.roadmap.connector_summary(entry)}",
            f"  rotation:   {ctx.roadmap.rotation_summary(entry)}",
        ]
        if integ["stage"]:
            lines += textwrap.wrap(
                _stage_line(integ["name"], integ["stage"]),
                WIDTH,
                subsequent_indent="    ",
                break_on_hyphens=False,
            )
        estimate = entry.service_levels.salesforce_api_calls_per_day
        if integ["salesforce_calls_per_day"] or estimate:
            lines.append(
                f"  Salesforce: {integ['salesforce_calls_per_day']:,} API calls/day computed"
                + (f" (owners' estimate {estimate:,})" if estimate else "")
            )
        if integ["renamed_from"]:
            recreated = len(integ["recreated_by_rename"])
            lines += textwrap.wrap(
                f"renamed from {', '.join(integ['renamed_from'])}: its resources are carried "
                f"over by alias; AWS changes no name in place, so the {recreated} with AWS "
                "names are re-created, with what refers to them (drain the queues first: see "
                'the README\'s "Renaming an integration")',
                WIDTH,
                initial_indent="  ",
                subsequent_indent="  ",
                break_on_hyphens=False,
            )
        counts = Counter(short_type(r["type"]) for r in resources)
        width = max((len(t) for t in counts), default=0)
        prefix = f"{integ['name']}-"
        for type_, count in sorted(counts.items()):
            names = [
                r["name"].removeprefix(prefix) for r in resources if short_type(r["type"]) == type_
            ]
            lines += _wrapped(f"  {count:>3} {type_:<{width}}  ", names)
    if doc["stack_resources"]:
        lines += [
            "",
            *_wrapped(
                "the stack's own (audit trail): ", [r["name"] for r in doc["stack_resources"]]
            ),
        ]
    resting = [i.name for i in ctx.roadmap.integrations if i.phase(ctx.environment) < 2]
    if resting:
        lines += ["", *_wrapped("phase 1 (discovery, nothing provisioned): ", resting)]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    ctx = load_stack_context(args.stack, args.roadmap)
    try:
        program_run = run_program(ctx.stack, roadmap=ctx.roadmap_path)
    except ProgramError as err:
        raise CheckFailed(f"the program failed for stack {ctx.stack}: {err}") from None
    try:
        doc = plan_document(ctx, program_run)
    except PriceError as err:
        raise UsageError(f"stacks/Pulumi.{ctx.stack}.yaml: aws:region: {err}") from None
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(render_text(ctx, doc))
    return EXIT_OK
