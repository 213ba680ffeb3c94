"""The integration roadmap as a validated model: its systems, objects and integrations.

The roadmap is the source of truth for everything the project provisions. Its entries are
in `roadmap.systems` and `roadmap.integrations`; `roadmap.io` loads and checks a file.

Usage::

    from roadmap.io import load_roadmap

    roadmap = load_roadmap(Path("roadmap.yaml"))
    roadmap.active("prod")  # the integrations that provision anything in prod
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contract.connectors import CONNECTORS, MIDDLEWARE, ConnectorSpec
from contract.phases import STAGE_PHASE
from roadmap.fields import StrictModel
from roadmap.integrations import Credential, Integration, Pattern
from roadmap.systems import DataObject, System

__all__ = ["Roadmap", "RoadmapSettings"]


class RoadmapSettings(StrictModel):
    api_headroom_percent: int = Field(
        default=20, ge=0, le=90, description="share of the Salesforce allocation kept free"
    )


class Roadmap(StrictModel):
    """The whole roadmap: the systems, who owns which object, and every integration."""

    version: Literal[1] = 1
    organisation: str = Field(min_length=1)
    settings: RoadmapSettings = RoadmapSettings()
    systems: tuple[System, ...] = Field(min_length=1)
    objects: tuple[DataObject, ...] = Field(min_length=1)
    integrations: tuple[Integration, ...] = ()

    def system(self, name: str) -> System:
        return next(s for s in self.systems if s.name == name)

    def connector(
        self, integration: Integration, side: Literal["source", "target"]
    ) -> ConnectorSpec:
        """The connector the integration's sync functions use for one side.

        A ``middleware`` flow talks to the platform in front of both systems, so both sides
        speak the middleware contract; any other flow speaks each system's own API.
        """
        if integration.pattern is Pattern.MIDDLEWARE:
            return CONNECTORS[MIDDLEWARE]
        return self.system(getattr(integration, side)).connector

    def stage_warehouse(self, integration: Integration, environment: str) -> str | None:
        """The warehouse (its connector's name) that loads this integration's staged files.

        A ``warehouse_pipeline`` writes each run's records as files into its own S3 stage
        bucket from phase 3 (components/stage.py), and the warehouse loads them itself;
        None for any other flow, or before phase 3.
        """
        if integration.pattern is not Pattern.WAREHOUSE_PIPELINE:
            return None
        if integration.phase(environment) < STAGE_PHASE:
            return None
        return self.connector(integration, "target").name

    def rotation_mode(self, credential: Credential) -> str:
        """``api`` (rotated on schedule) or ``manual`` (a person pipes in the next value).

        ``manual`` when the roadmap marks it so, or when the issuing vendor allows nothing
        else (``contract/connectors.py``; a kind no API issues, such as NetSuite TBA tokens
        and webhook signing secrets); a vendor reached through middleware rotates through
        the platform's issuer contract.
        """
        return "manual" if credential.rotation == "manual" else self.vendor_rotation(credential)

    def vendor_rotation(self, credential: Credential) -> str:
        """How the issuing vendor (or AWS) lets this credential be rotated: ``api``/``manual``."""
        if not credential.kind.rotates_by_api:
            return "manual"
        spec = self.system(credential.system).connector
        return spec.rotation_mode(credential.kind.value) or "api"

    def connector_summary(self, integration: Integration) -> str:
        """``salesforce (REST API v62.0) -> netsuite (REST record API v1, SuiteQL)``."""
        source, target = (self.connector(integration, side) for side in ("source", "target"))
        return f"{source.name} ({source.api_version}) -> {target.name} ({target.api_version})"

    def rotation_summary(self, integration: Integration) -> str:
        """``salesforce-jwt: api, netsuite-m2m: manual``: each credential's rotation mode."""
        return ", ".join(f"{c.name}: {self.rotation_mode(c)}" for c in integration.credentials)

    def object(self, name: str) -> DataObject:
        return next(o for o in self.objects if o.name == name)

    def integration(self, name: str) -> Integration:
        for integration in self.integrations:
            if integration.name == name:
                return integration
        known = ", ".join(i.name for i in self.integrations)
        raise KeyError(f"no integration named {name!r} in the roadmap (known: {known})")

    def active(self, environment: str) -> tuple[Integration, ...]:
        """Integrations that provision anything in the environment (phase >= 2)."""
        return tuple(i for i in self.integrations if i.phase(environment) >= 2)
