"""The typed baseline: the same resources as a real run, through pulumi-aws's classes.

Like bench/bare_program.py it registers, in order and under the same parents, every
resource a run of the real program recorded, with none of the program's own work (roadmap,
settings, components' logic, policy documents, `Output.apply`). Unlike it, each custom
resource is made the way a team writing its own program with pulumi-aws would make it:
the class the type token names (`aws:sqs/queue:Queue` -> `pulumi_aws.sqs.Queue`, found in
pulumi-aws's own resource registry), with snake_case keyword arguments and nested input
types (`FunctionEnvironmentArgs`, ...) converted from the recorded camelCase inputs through
the classes' own declarations, and file archives as `pulumi.FileArchive`
(`bench.baseline.typed_resource`). Outputs are left unused. So the SDK does the typed
classes' work (every declared output, serialisation through type annotations) and nothing
of ours.

Run by bench/plan.py through `provisioner.program.run_program(..., program=<this file>)`.
"""

from __future__ import annotations

from bench.baseline import register_recorded, typed_resource

register_recorded(typed_resource)
