"""The untyped baseline: the same resources as a real run, with nothing of ours.

It reads a JSON list (path in config `bench:resources`) of the resources a run of the real
program recorded, in registration order, and registers each with the SDK's own classes
(`pulumi.CustomResource` / `pulumi.ComponentResource`): same type token, name, parent and
camelCase inputs, so the mock runtime does the same serialisation and RPC work. What it
skips is everything the real program adds: reading the roadmap and settings, the
components' logic, policy documents, `Output.apply` chains and the typed provider classes
(bench/typed_program.py keeps those classes).

Run by bench/plan.py through `provisioner.program.run_program(..., program=<this file>)`.
"""

from __future__ import annotations

from typing import Any

import pulumi

from bench.baseline import register_recorded


def _untyped(entry: dict[str, Any], opts: pulumi.ResourceOptions) -> pulumi.Resource:
    return pulumi.CustomResource(entry["type"], entry["name"], entry["inputs"], opts)


register_recorded(_untyped)
