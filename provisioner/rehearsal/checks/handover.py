"""An external pusher's key handover, rehearsed: no outage between two access keys.

After the rehearsal's first rotation of a pusher's access key (from the bootstrap version,
which holds no real key), a second rotation runs through the deployed rotation function's
worker (``secrets_rotation.rotate``) and this module checks what the pusher lives through:
- while testSecret proves the new key, the old one is still accepted by the emulator's STS:
  the emulator's recorder shows the worker's GetCallerIdentity signed by the new key before
  moto serves it, and the old key is probed right then;
- after finishSecret the old key still works (the pusher switches when it next reads
  AWSCURRENT), and so does the new one;
- the deployed retirement schedule's own event (read back from the rule's target), sent to
  the function the rule targets, keeps the old key while it is inside the grace period and
  deactivates it once the grace has passed. The function reads the key's age from IAM
  (GetAccessKeyLastUsed, else its CreateDate) against its own clock, so the grace period is
  let pass by moving the emulator's view of the old key's creation and last use back by the
  grace and a minute (``moto_seams.backdate_access_key``), not waited for; then only the
  new key works.

Usage::

    problems, detail = pusher_handover(deployment, deployed, secret_arn, lambdas)
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from contract.aws_types import CLOUDWATCH_EVENT_RULE
from provisioner.rehearsal.inventory import Deployed
from provisioner.rehearsal.moto_seams import backdate_access_key
from provisioner.rehearsal.recorder import Request
from provisioner.rehearsal.secrets_rotation import rotate
from provisioner.rotate import RotationFailed

if TYPE_CHECKING:
    from provisioner.rehearsal.lambda_runner import LambdaRunner
    from provisioner.rehearsal.runner import Deployment

__all__ = ["iam_key_accepted", "pusher_handover"]


def iam_key_accepted(deployment: Deployment, doc: dict[str, Any]) -> bool:
    """The emulator's STS identifies the key as the credential's IAM user, and IAM has it
    active: AWS refuses every call signed with an inactive key (IAM user guide, "Manage
    access keys for IAM users"), moto's STS does not (docs/moto-differences.md)."""
    keys = deployment.aws.admin("iam").list_access_keys(UserName=doc["user_name"])
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


def _retirement_event(deployment: Deployment, d: Deployed) -> tuple[str, dict[str, Any]] | None:
    """The function the deployed schedule targets and the event it sends (its Input)."""
    rule = d.named("rotation-schedule", CLOUDWATCH_EVENT_RULE)
    if rule is None:
        return None
    events = deployment.aws.admin("events")
    for target in events.list_targets_by_rule(Rule=rule.id)["Targets"]:
        if target.get("Input"):
            return str(target["Arn"]), dict(json.loads(target["Input"]))
    return None


def pusher_handover(
    deployment: Deployment, d: Deployed, arn: str, lambdas: LambdaRunner
) -> tuple[list[str], str]:
    """(problems, detail) of a second rotation of a pusher's key and its retirement."""
    if d.dlq is None:
        return [], ""  # phase 2: the pusher may do nothing with any key yet, none is retired
    sm = deployment.aws.admin("secretsmanager")
    old = json.loads(sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])
    during: list[bool] = []

    def testing_the_new_key(request: Request) -> None:
        if (
            request.operation == "GetCallerIdentity"
            and request.user_name == old["user_name"]
            and request.access_key_id != old["access_key_id"]
            and not during
        ):
            try:  # testSecret is proving the new key: is the old one still accepted?
                during.append(iam_key_accepted(deployment, old))
            except Exception:  # a probe that fails cannot tell: the old key is not proven
                during.append(False)

    try:
        with deployment.aws.recorder.watching(testing_the_new_key):
            rotate(deployment.aws, lambdas, arn)
    except RotationFailed as err:
        return [f"the second rotation of the pusher's key failed: {err}"], ""
    new = json.loads(sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])
    problems = []
    if during != [True]:
        problems.append("the old key was not accepted while testSecret proved the new one")
    if not (iam_key_accepted(deployment, old) and iam_key_accepted(deployment, new)):
        problems.append("after the rotation the old and the new key do not both work")
    scheduled = _retirement_event(deployment, d)
    if scheduled is None:
        problems.append(f"no schedule {d.name}-rotation-schedule sends the retirement event")
        return problems, ""
    function, event = scheduled
    grace = float(event["retirePreviousKeys"]["GraceSeconds"])
    first = lambdas.invoke(function, event)
    kept = iam_key_accepted(deployment, old)
    backdate_access_key(deployment.aws.account_id, old["access_key_id"], grace + 60)
    second = lambdas.invoke(function, event)
    failed = first.error or second.error
    if failed is not None:  # reported as the check's outcome, as AWS would fail the run
        problems.append(f"the scheduled retirement failed: {': '.join(failed)}")
        return problems, ""
    if not kept:
        problems.append("the retirement deactivated the old key inside its grace period")
    if iam_key_accepted(deployment, old) or not iam_key_accepted(deployment, new):
        problems.append("after the grace period the old key still works or the new one does not")
    detail = (
        f"; the pusher's handover: a second rotation left the old key "
        f"{old['access_key_id'][-4:]} working while the new one was proven and after, and the "
        f"deployed schedule's event deactivated it only once {grace / 3600:.0f} h unused "
        "(GetAccessKeyLastUsed; the emulator's view of the key's age moved on)"
    )
    return problems, detail
