"""The roadmap's rules about what each system's connector can do: a side that is written has
a connector that writes, each object is named as the connector's API names it, the
credential is of a kind its vendor issues, and a period no API can honour has a person.

Usage::

    from roadmap.connector_rules import connector_rules

    problems = list(connector_rules(roadmap))
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from contract.connectors import MIDDLEWARE
from roadmap.integrations import CredentialKind, Direction, Integration
from roadmap.model import Roadmap
from roadmap.problems import Problem

__all__ = ["connector_rules"]


def connector_rules(roadmap: Roadmap) -> Iterator[Problem]:
    """A side that is written has a connector that writes; a vendor issues the credential."""
    systems = {s.name: s for s in roadmap.systems}
    for i, integ in enumerate(roadmap.integrations):
        if not {integ.source, integ.target} <= systems.keys():
            continue  # reported by _references
        written: list[Literal["source", "target"]] = ["target"]
        if integ.direction is Direction.BIDIRECTIONAL:
            written.append("source")
        for side in written:
            spec = roadmap.connector(integ, side)
            if spec.read_only:
                yield Problem(
                    f"integrations[{i}].{side}",
                    f"{getattr(integ, side)!r} is read through the {spec.name} connector "
                    f"({spec.api_version}), which cannot write; make it a source, or route "
                    "the flow through a middleware platform (pattern: middleware)",
                )
        yield from _object_names(roadmap, i, integ)
        yield from _external_ids(roadmap, i, integ)
        for c, cred in enumerate(integ.credentials):
            vendor = systems.get(cred.system)
            used_by = _side_of(integ, cred.system)
            platform = roadmap.connector(integ, used_by) if used_by else None
            if (
                platform is not None
                and platform.name == MIDDLEWARE
                and cred.kind.value not in ("webhook_signing_secret", "iam_access_key")
                and platform.rotation_mode(cred.kind.value) is None
            ):
                kinds = ", ".join(sorted(k for k in platform.rotation if k != "iam_access_key"))
                yield Problem(
                    f"integrations[{i}].credentials[{c}].kind",
                    f"{cred.system!r} is reached through the middleware contract "
                    f"({platform.api_version}), which takes {kinds}, not {cred.kind.value}; "
                    "issue the platform's own credential of one of those kinds, or give the "
                    f"system an api.connector that speaks {cred.kind.value}",
                )
                continue
            if (
                vendor is None
                or vendor.connector.name == MIDDLEWARE
                or cred.kind is CredentialKind.SALESFORCE_JWT_BEARER  # _references says why
                # A webhook signing secret may be one the integration shares with the
                # sender rather than one the vendor issues.
                or cred.kind.value == "webhook_signing_secret"
            ):
                continue
            if vendor.connector.rotation_mode(cred.kind.value) is None:
                kinds = ", ".join(sorted(vendor.connector.rotation))
                yield Problem(
                    f"integrations[{i}].credentials[{c}].kind",
                    f"{vendor.connector.vendor} does not issue {cred.kind.value} credentials; "
                    f"use one of: {kinds}",
                )
        yield from _manual_rotations(roadmap, i, integ)


def _manual_rotations(roadmap: Roadmap, i: int, integ: Integration) -> Iterator[Problem]:
    """A period no API can honour is refused unless a person is named to honour it."""
    for c, cred in enumerate(integ.credentials):
        if cred.system not in {s.name for s in roadmap.systems}:
            continue  # reported by _references
        if cred.rotation == "manual" or roadmap.vendor_rotation(cred) != "manual":
            continue
        spec = roadmap.system(cred.system).connector
        by_api = sorted(
            k for k, mode in spec.rotation.items() if mode == "api" and k != "iam_access_key"
        )
        other = f", or use a kind it rotates by API ({', '.join(by_api)})" if by_api else ""
        why = (
            f"no API issues a {cred.kind.value}, a person makes the next one"
            if not cred.kind.rotates_by_api
            else f"{spec.vendor} issues the next {cred.kind.value} only by hand"
        )
        yield Problem(
            f"integrations[{i}].credentials[{c}].rotation",
            f"{cred.name!r} cannot be rotated every {cred.rotation_days} days automatically: "
            f"{why}; add `rotation: manual` "
            f"(when it is due, `provisioner rotate {integ.name} --stack S --manual "
            f"--credential {cred.name}` takes the new value from standard input){other}",
        )


def _side_of(integ: Integration, system: str) -> Literal["source", "target"] | None:
    if system == integ.source:
        return "source"
    return "target" if system == integ.target else None


def _object_names(roadmap: Roadmap, i: int, integ: Integration) -> Iterator[Problem]:
    """Each mapped object is named as its connector's API names it, on each side it is used.

    The source side is read (and written back when bidirectional), the target written (and
    read when bidirectional); a name the vendor's API has no object for would fail at the
    first call, or, worse, in the first batch after go-live.
    """
    bidirectional = integ.direction is Direction.BIDIRECTIONAL
    for m, mapping in enumerate(integ.field_mappings):
        for side, field_name, name in (
            ("source", "api_name", mapping.source_object),
            ("target", "target_api_name", mapping.target_object),
        ):
            spec = roadmap.connector(integ, side)  # type: ignore[arg-type]
            uses = ["read" if side == "source" else "write"]
            if bidirectional:
                uses.append("write" if side == "source" else "read")
            for use in uses:
                ok = spec.can_read(name) if use == "read" else spec.can_write(name)
                if ok or (use == "write" and spec.read_only):  # _connectors says why
                    continue
                hint = (
                    "; or route the flow through a middleware platform (pattern: middleware)"
                    if spec.name != MIDDLEWARE
                    else ""
                )
                yield Problem(
                    f"integrations[{i}].field_mappings[{m}].{field_name}",
                    f"the {spec.name} connector ({spec.api_version}) cannot {use} {name!r} "
                    f"on {getattr(integ, side)!r}: it {use}s {spec.objects_help(use)}; set "
                    f"{field_name} to the object's API name there{hint}",
                )


def _external_ids(roadmap: Roadmap, i: int, integ: Integration) -> Iterator[Problem]:
    """A system that upserts an object only by one field of its own is keyed by that field:
    the target always, and the source too when a bidirectional flow writes back into it
    (the way back upserts by the source field the mapping keys the target by)."""
    target = roadmap.connector(integ, "target")
    source = roadmap.connector(integ, "source")
    for m, mapping in enumerate(integ.field_mappings):
        loc = f"integrations[{i}].field_mappings[{m}]"
        wanted = target.external_ids.get(mapping.target_object)
        if wanted is not None and mapping.external_id != wanted:
            yield Problem(
                f"{loc}.external_id",
                f"{target.vendor} finds {mapping.target_object} by {wanted} only, not by "
                f"{mapping.external_id!r}; set external_id: {wanted} and map the source's id "
                "onto it",
            )
        back = source.external_ids.get(mapping.source_object)
        if integ.direction is not Direction.BIDIRECTIONAL or back is None:
            continue
        key = next((s for s, t in mapping.fields.items() if t == mapping.external_id), None)
        if key is not None and key != back:
            yield Problem(
                f"{loc}.fields",
                f"the way back upserts {mapping.source_object} into {integ.source!r} by the "
                f"field mapped onto {mapping.external_id!r}, {key!r}, but {source.vendor} finds "
                f"{mapping.source_object} by {back} only; map {back} onto "
                f"{mapping.external_id!r} instead of {key!r}",
            )
