"""The Pulumi program: one isolated set of resources per roadmap integration at phase >= 2.

`pulumi up --stack <env>` runs this file under the real engine; `provisioner plan`,
`check` and `rehearse` run this same file under the SDK's mock runtime
(provisioner/program.py). There is no second code path.
"""

from __future__ import annotations

from pathlib import Path

import pulumi

from components.integration import Integration, IntegrationArgs
from components.roadmap import RoadmapError, RoadmapFileError, load_roadmap
from components.settings import CONFIG_NAMESPACE, StackSettingsError, settings_from_config
from provisioner.bundles import BundleBuildError, build_bundle

PROJECT_DIR = Path(__file__).resolve().parent


def _settings():
    config = pulumi.Config(CONFIG_NAMESPACE)

    def get(key: str) -> str | None:
        return config.get(key)

    try:
        return settings_from_config(pulumi.get_stack(), get, pulumi.Config("aws").get("region"))
    except StackSettingsError as err:
        raise pulumi.RunError(str(err)) from None


def _bundle(folder: str, what: str) -> pulumi.FileArchive:
    """The deterministic Lambda zip of `folder` (provisioner/bundles.py)."""
    source = PROJECT_DIR / folder
    try:
        path = build_bundle(source, requirements=source / "requirements.txt")
    except BundleBuildError as err:
        raise pulumi.RunError(
            f"cannot build the {what} Lambda bundle from {source}/: {err}. "
            f"The {folder}/ folder with its requirements.txt must be present and its pins "
            "installable for python3.11 x86_64."
        ) from None
    return pulumi.FileArchive(str(path))


settings = _settings()
roadmap_path = PROJECT_DIR / settings.roadmap
try:
    roadmap = load_roadmap(roadmap_path)
except RoadmapFileError as err:
    raise pulumi.RunError(str(err)) from None
except RoadmapError as err:
    raise pulumi.RunError(
        f"{roadmap_path} is invalid; run `provisioner validate`:\n{err}"
    ) from None

active = roadmap.active(settings.environment)
if active:
    function_code = _bundle("functions", "sync")
    rotation_code = _bundle("secrets", "credential rotation")
for integration in active:
    component = Integration(
        integration.name,
        IntegrationArgs(
            integration=integration,
            roadmap=roadmap,
            settings=settings,
            function_code=function_code,
            rotation_code=rotation_code,
        ),
    )
    pulumi.export(integration.name, component.outputs)
pulumi.export(
    "discovery",
    [i.name for i in roadmap.integrations if i.phase(settings.environment) < 2],
)
