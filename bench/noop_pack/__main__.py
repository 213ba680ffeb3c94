"""The no-op policy pack: the engine protocol's floor (bench/check.py's baseline).

Started like policies/ (`python -u -m pulumi.policy <engine-address> .`): it serves one
resource policy that reports nothing, so every `Analyze` costs only the gRPC round trip,
the SDK's deserialisation of the resource and one Python call.
"""

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)


def _accept_everything(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    return None


PolicyPack(
    name="bench-noop",
    enforcement_level=EnforcementLevel.ADVISORY,
    policies=[
        ResourceValidationPolicy(
            name="noop",
            description="Accepts every resource (benchmark baseline).",
            validate=_accept_everything,
        )
    ],
)
