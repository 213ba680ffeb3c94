"""Assisted manual rotation in the rehearsal: `rotate --manual`'s steps on each deployed secret.

For each credential of an integration at phase >= 2 that is rotated by hand and that the
functions call out with: the vendor's fake (``provisioner/rehearsal/vendors``) plays the
administrator who issues credentials in its console. A value another account of the vendor
issued is refused by the vendor through the integration's connector and changes nothing
(AWSCURRENT as it was, no AWSPENDING); the value this account issued is staged, tested,
promoted, and the one it replaces stays AWSPREVIOUS (``provisioner.manual_rotation``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from contract.aws_types import SECRETS_MANAGER_SECRET
from provisioner.rehearsal.checks.rotation import stages
from provisioner.rehearsal.result import Check

if TYPE_CHECKING:
    from provisioner.rehearsal.runner import Deployment

__all__ = ["manual_rotations"]


class _Admin:
    """The person's own session: the emulator's clients, as `rotate --manual` has them."""

    def __init__(self, deployment: Deployment) -> None:
        self._aws = deployment.aws

    def client(self, service: str) -> Any:
        return self._aws.client(service)


def manual_rotations(deployment: Deployment) -> list[Check]:
    from provisioner.rehearsal.vendors import FAKES, VendorServer

    env = deployment.settings.environment
    roadmap = deployment.roadmap
    checks: list[Check] = []
    with VendorServer(*(fake() for fake in FAKES.values())) as vendors:
        for integration in roadmap.active(env):
            if integration.phase(env) < 2:
                continue
            for cred in integration.credentials:
                if roadmap.rotation_mode(cred) != "manual" or not cred.kind.calls_out:
                    continue
                name = f"manual-rotation:{integration.name}:{cred.name}"
                try:
                    checks.append(_one(name, integration, cred, deployment, vendors))
                except Exception as err:  # one credential must not hide the others
                    checks.append(Check(name, False, f"{type(err).__name__}: {err}"))
    return checks


def _one(name: str, integration: Any, cred: Any, deployment: Deployment, vendors: Any) -> Check:
    from provisioner.manual_rotation import rotate_manually, vendor_test
    from provisioner.rotate import RotationFailed

    secret = deployment.inventory[integration.name].named(
        f"cred-{cred.name}", SECRETS_MANAGER_SECRET
    )
    if secret is None:
        return Check(name, False, f"no secret cred-{cred.name} deployed")
    arn = secret.outputs["arn"]
    connector = deployment.roadmap.system(cred.system).connector.name
    fake = vendors.fakes[connector]
    sm = deployment.aws.admin("secretsmanager")
    placeholder = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])
    # The administrator's first credential, as put by hand after the deployment.
    sm.put_secret_value(SecretId=arn, SecretString=json.dumps(fake.enrol(placeholder)))
    test = vendor_test(connector, fake.base_url, integration.field_mapping())
    admin = _Admin(deployment)
    problems: list[str] = []

    before = stages(sm, arn)
    stranger = type(fake)()  # another account of the same vendor issued this one
    stranger.base_url = fake.base_url
    try:
        rotate_manually(arn, stranger.enrol(placeholder), session=admin, test=test)
        problems.append("a credential another account issued was promoted")
    except RotationFailed as err:
        if "ConfigurationError" in str(err):  # refused for a broken document, not by the vendor
            problems.append(f"the test could not use the value: {err}")
        if stages(sm, arn) != before:
            problems.append(f"the refused value changed the stages: {before} -> {stages(sm, arn)}")

    issued = fake.enrol(placeholder)  # the next one, issued in the vendor's console
    done = rotate_manually(arn, issued, session=admin, test=test)
    after = stages(sm, arn)
    if after["AWSCURRENT"] != done.version_id or after["AWSPREVIOUS"] != before["AWSCURRENT"]:
        problems.append(f"stages after the rotation: {after}, before: {before}")
    if after["AWSPENDING"]:
        problems.append(f"AWSPENDING left on {after['AWSPENDING']}")
    return Check.judged(
        name,
        problems,
        f"{cred.kind.value} rotated by hand: a value another {connector} account issued was "
        f"refused through the {connector} connector with nothing changed; the issued one was "
        f"staged, tested, promoted (AWSCURRENT {done.version_id[:8]}, AWSPREVIOUS "
        f"{str(before['AWSCURRENT'])[:8]}, no AWSPENDING)",
        about=cred.kind.value,
    )
