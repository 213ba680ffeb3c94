"""An external pusher's key handover, rehearsed: no outage between two access keys.

After the rehearsal's first rotation of a pusher's access key (from the bootstrap version,
which holds no real key), a second rotation runs as the rotation role and this module
checks what the pusher lives through:
- while testSecret proves the new key, the old one is still accepted by the emulator's STS;
- after finishSecret the old key still works (the pusher switches when it next reads
  AWSCURRENT), and so does the new one;
- the deployed retirement schedule's own event (read back from the rule's target), run
  through the rotation function's code as the rotation role, keeps the old key while it is
  inside the grace period and deactivates it once the grace has passed (the clock is moved
  on, not waited for); then only the new key works.

Usage::

    problems, detail = pusher_handover(deployment, deployed, secret_arn, session, deps)
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import TYPE_CHECKING, Any

from contract.aws_types import CLOUDWATCH_EVENT_RULE
from provisioner.rehearsal.inventory import Deployed
from provisioner.rotate import RotationFailed, _handler_module, run_rotation_locally

if TYPE_CHECKING:
    from provisioner.rehearsal.runner import Deployment

__all__ = ["iam_key_accepted", "pusher_handover"]


def iam_key_accepted(deployment: Deployment, doc: dict[str, Any]) -> bool:
    """The emulator's STS identifies the key as the credential's IAM user, and IAM has it
    active: AWS refuses every call signed with an inactive key (IAM user guide, "Manage
    access keys for IAM users"), moto's STS does not (docs/moto-differences.md)."""
    keys = deployment.aws.client("iam").list_access_keys(UserName=doc["user_name"])
    if not any(
        k["AccessKeyId"] == doc["access_key_id"] and k["Status"] == "Active"
        for k in keys["AccessKeyMetadata"]
    ):
        return False
    sts = deployment.aws.client(
        "sts",
        {
            "aws_access_key_id": doc["access_key_id"],
            "aws_secret_access_key": doc["secret_access_key"],
        },
    )
    with deployment.aws.iam_enforced():
        identity = str(sts.get_caller_identity()["Arn"])
    return identity.endswith(f"/{doc['user_name']}")


def _retirement_event(deployment: Deployment, d: Deployed) -> dict[str, Any] | None:
    """The event the deployed schedule sends the rotation function (its target's Input)."""
    rule = d.named("rotation-schedule", CLOUDWATCH_EVENT_RULE)
    if rule is None:
        return None
    events = deployment.aws.client("events")
    for target in events.list_targets_by_rule(Rule=rule.id)["Targets"]:
        if target.get("Input"):
            return dict(json.loads(target["Input"]))
    return None


def pusher_handover(
    deployment: Deployment, d: Deployed, arn: str, session: Any, deps: Any
) -> tuple[list[str], str]:
    """(problems, detail) of a second rotation of a pusher's key and its retirement."""
    if d.dlq is None:
        return [], ""  # phase 2: the pusher may do nothing with any key yet, none is retired
    sm = deployment.aws.client("secretsmanager")
    old = json.loads(sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])
    during: list[bool] = []

    def sts_for_key(access_key_id: str, secret_access_key: str) -> Any:
        if access_key_id != old["access_key_id"] and not during:
            during.append(iam_key_accepted(deployment, old))  # testSecret is proving the new key
        return deps.sts_for_key(access_key_id, secret_access_key)

    try:
        run_rotation_locally(
            arn,
            session=session,
            endpoint_url=deployment.aws.endpoint,
            dependencies=dataclasses.replace(deps, sts_for_key=sts_for_key),
        )
    except RotationFailed as err:
        return [f"the second rotation of the pusher's key failed: {err}"], ""
    new = json.loads(sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])
    problems = []
    if during != [True]:
        problems.append("the old key was not accepted while testSecret proved the new one")
    if not (iam_key_accepted(deployment, old) and iam_key_accepted(deployment, new)):
        problems.append("after the rotation the old and the new key do not both work")
    event = _retirement_event(deployment, d)
    if event is None:
        problems.append(f"no schedule {d.name}-rotation-schedule sends the retirement event")
        return problems, ""
    rotation = _handler_module().Rotation(deps)
    try:
        rotation.retire_previous_keys(event, now=time.time())
        kept = iam_key_accepted(deployment, old)
        grace = float(event["retirePreviousKeys"]["GraceSeconds"])
        rotation.retire_previous_keys(event, now=time.time() + grace + 60)
    except Exception as err:  # reported as the check's outcome, as AWS would fail the run
        problems.append(f"the scheduled retirement failed: {type(err).__name__}: {err}")
        return problems, ""
    if not kept:
        problems.append("the retirement deactivated the old key inside its grace period")
    if iam_key_accepted(deployment, old) or not iam_key_accepted(deployment, new):
        problems.append("after the grace period the old key still works or the new one does not")
    detail = (
        f"; the pusher's handover: a second rotation left the old key "
        f"{old['access_key_id'][-4:]} working while the new one was proven and after, and the "
        f"deployed schedule's event deactivated it only once {grace / 3600:.0f} h unused "
        "(GetAccessKeyLastUsed)"
    )
    return problems, detail
