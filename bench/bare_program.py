"""The baseline Pulumi program: the same resources as a real run, with nothing of ours.

It reads a JSON list (path in config `bench:resources`) of the resources a run of the real
program recorded, in registration order, and registers each with the SDK's own classes
(`pulumi.CustomResource` / `pulumi.ComponentResource`): same type token, name, parent and
camelCase inputs, so the mock runtime does the same serialisation and RPC work. What it
skips is everything the real program adds: reading the roadmap and settings, the
components' logic, policy documents, `Output.apply` chains and the typed provider classes.

Run by bench/plan.py through `provisioner.program.run_program(..., program=<this file>)`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi

from contract.aws_types import INTEGRATION

spec: list[dict[str, Any]] = json.loads(
    Path(pulumi.Config("bench").require("resources")).read_text(encoding="utf-8")
)
created: dict[str, pulumi.Resource] = {}
for entry in spec:
    parent = created.get(entry["parent"]) if entry["parent"] else None
    opts = pulumi.ResourceOptions(parent=parent)
    resource: pulumi.Resource
    if entry["custom"]:
        resource = pulumi.CustomResource(entry["type"], entry["name"], entry["inputs"], opts)
    else:
        component = pulumi.ComponentResource(entry["type"], entry["name"], None, opts)
        component.register_outputs({})
        resource = component
        if entry["type"] == INTEGRATION:
            pulumi.export(entry["name"], component.urn)
    created[entry["urn"]] = resource
