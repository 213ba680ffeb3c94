"""The Pulumi program: one isolated set of resources per roadmap integration at phase >= 2.

`pulumi up --stack <env>` runs this file under the real engine; `provisioner plan`,
`check` and `rehearse` run this same file under the SDK's mock runtime
(provisioner/program.py). There is no second code path.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.audit import AuditTrail, AuditTrailArgs
from components.deployer import deploying_principal
from components.integration import Integration, IntegrationArgs
from components.spec import integration_spec
from contract.naming import CONFIG_NAMESPACE
from provisioner.bundles import BUNDLES, BundleBuildError, built_bundle
from roadmap.io import SourceFileError, load_roadmap
from roadmap.problems import RoadmapError
from roadmap.settings import AUDIT_TRAIL_CREATE, StackSettings, stack_problems
from roadmap.stack_config import StackSettingsError, settings_from_config

PROJECT_DIR = Path(__file__).resolve().parent


def _settings() -> StackSettings:
    config, aws_config = pulumi.Config(CONFIG_NAMESPACE), pulumi.Config("aws")

    def is_secret(key: str) -> bool:
        # A `secure:` value (also one nested in an object) marks its whole key secret.
        return pulumi.runtime.is_config_secret(config.full_key(key))

    try:
        return settings_from_config(pulumi.get_stack(), config.get, aws_config.get, is_secret)
    except StackSettingsError as err:
        raise pulumi.RunError(str(err)) from None


def _account() -> str:
    """The account the engine deploys into, refused unless the stack allows it.

    The AWS provider refuses accounts outside `aws:allowedAccountIds` itself; the same
    rule here holds under the mock runtime too, and names the fix.
    """
    account = aws.get_caller_identity().account_id
    allowed = settings.allowed_account_ids
    if allowed and account not in allowed:
        raise pulumi.RunError(
            f"stacks/Pulumi.{pulumi.get_stack()}.yaml: config.aws:allowedAccountIds: "
            f"{', '.join(allowed)} does not include {account}, the account of the credentials "
            "in use; switch to this stack's account (AWS_PROFILE) or add it to the list"
        )
    return account


def _bundle(folder: str) -> pulumi.FileArchive:
    """The Lambda zip `provisioner build` made for `folder` (provisioner/bundles.py).

    The program only reads built artifacts: building needs pip and the package registry,
    which a preview must not.
    """
    try:
        path = built_bundle(PROJECT_DIR / folder)
    except BundleBuildError as err:
        raise pulumi.RunError(f"the {BUNDLES[folder]} Lambda bundle: {err}") from None
    return pulumi.FileArchive(str(path))


settings = _settings()
roadmap_path = PROJECT_DIR / settings.roadmap
try:
    roadmap = load_roadmap(roadmap_path)
except SourceFileError as err:
    raise pulumi.RunError(str(err)) from None
except RoadmapError as err:
    raise pulumi.RunError(
        f"{roadmap_path} is invalid; run `provisioner validate`:\n{err}"
    ) from None

problems = stack_problems(settings, roadmap)
if problems:
    raise pulumi.RunError(
        "\n".join(p.render(f"Pulumi.{settings.environment}.yaml") for p in problems)
    )

active = roadmap.active(settings.environment)
account_id = _account()
if active:
    function_code = _bundle("functions")
    rotation_code = _bundle("secrets")
    deployer_arn = deploying_principal()
for integration in active:
    component = Integration(
        integration.name,
        IntegrationArgs(
            spec=integration_spec(integration, roadmap, settings),
            settings=settings,
            function_code=function_code,
            rotation_code=rotation_code,
            account_id=account_id,
            deployer_arn=deployer_arn,
        ),
    )
    pulumi.export(integration.name, component.outputs)
if active and settings.audit_trail == AUDIT_TRAIL_CREATE:
    audit = AuditTrail(
        "stack-audit",
        AuditTrailArgs(
            settings=settings,
            account_id=account_id,
            integrations=[i.name for i in active],
            tags={"environment": settings.environment, "managed-by": "integration-provisioner"},
        ),
    )
    pulumi.export("auditTrail", audit.trail.arn)
pulumi.export(
    "discovery",
    [i.name for i in roadmap.integrations if i.phase(settings.environment) < 2],
)
