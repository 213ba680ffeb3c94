"""Every credential rotated once, by the rotation Lambda's own code, as its rotation role.

Per credential of each integration at phase >= 2 (``rotations``): the four steps against
the emulator's Secrets Manager and IAM/STS and fake issuers on 127.0.0.1; a credential only
a person can rotate must be refused with the manual steps, nothing changed; a pusher's key
is handed over without an outage (``checks.handover``).

The rotation function runs as Lambda runs it, like the sync functions: the deployed
function's code in a worker process of its own (``lambda_runner``), with only its deployed
environment and its rotation role's STS credentials, invoked with the events Secrets
Manager sends (``secrets_rotation.rotate``). Nothing of the handler runs in this process:
each request the worker sends is judged on the emulator's side against the rotation role's
policies (``recorder.Recorder`` with ``access.EvaluatedCalls``), the AWSPENDING version
RotateSecret announces is shown by the emulator (``moto_seams.pending_version``), and the
handover watches the old key from the recorder and lets the grace period pass by moving the
emulator's view of the key's age (``checks.handover``).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from contract.aws_types import IAM_ROLE, SECRETS_MANAGER_SECRET
from provisioner.rehearsal.access import EvaluatedCalls, role_policies
from provisioner.rehearsal.checks.handover import iam_key_accepted, pusher_handover
from provisioner.rehearsal.checks.records import enrol
from provisioner.rehearsal.inventory import Deployed
from provisioner.rehearsal.lambda_runner import LambdaRunner
from provisioner.rehearsal.result import Check
from provisioner.rehearsal.secrets_rotation import rotate
from provisioner.rotate import RotationFailed
from roadmap.integrations import Credential, CredentialKind, Integration

if TYPE_CHECKING:
    from provisioner.rehearsal.runner import Deployment

__all__ = ["rotations", "stages"]

_STAGES = ("AWSCURRENT", "AWSPREVIOUS", "AWSPENDING")
# Integrations whose credentials rotate at once. The rehearsal's process serves the emulator
# and the fakes while the rotation functions run in worker processes of their own, so a
# second rotation keeps a second core busy; more only queue behind the first.
SIDE_BY_SIDE = 2


def stages(sm: Any, arn: str) -> dict[str, str | list[str] | None]:
    """Which version holds each staging label (AWSPENDING may, wrongly, be on several)."""
    versions = sm.describe_secret(SecretId=arn).get("VersionIdsToStages", {})
    found: dict[str, str | list[str] | None] = {}
    for stage in _STAGES:
        holders = [v for v, stages in versions.items() if stage in stages]
        found[stage] = holders[0] if len(holders) == 1 else (holders or None)
    return found


def rotations(deployment: Deployment) -> list[Check]:
    """Per credential of each integration at phase >= 2: one rotation completes.

    The deployed rotation function runs the four steps in its worker process against the
    emulator's Secrets Manager and IAM/STS, and against fake issuing systems on 127.0.0.1
    for Salesforce, OAuth and API keys. Those kinds cannot rotate from
    the program's bootstrap placeholder without a person (formats.py, "Bootstrap"): the fake
    plays that administrator and enrols a first credential, which is put as AWSCURRENT.
    ``iam_access_key`` rotates from the bootstrap version itself, as in production.

    The rotation runs as Lambda would run it: with the integration's rotation role's
    credentials from STS AssumeRole. moto checks Secrets Manager calls (and IAM calls on
    users) against resource ``*``, not the secret's or user's ARN, so its enforcement cannot
    judge a correctly scoped role; instead every request the worker sends, and the KMS
    action it implies on the secret's key, is evaluated against the role's policies with the
    access matrix's evaluator by the emulator's recorder before moto serves it. A denied
    call is refused as AWS would refuse it and fails the rotation naming the action and
    resource. The role must also hold every permission a rotation of the credential's kind
    needs (``_rotation_needs``) and be denied on other integrations' secrets.

    Two integrations rotate at a time (``SIDE_BY_SIDE``), each with its own role, function
    and secrets; the checks come back in the roadmap's order.
    """
    from provisioner.rehearsal.fakes import FakeSystems

    active = deployment.roadmap.active(deployment.settings.environment)
    with FakeSystems() as fake, LambdaRunner(deployment.aws) as lambdas:

        def rotated(integration: Integration, credentials: list[Credential]) -> dict[str, Check]:
            d = deployment.inventory[integration.name]
            return {
                c.name: _checked(integration, c, d, fake, lambdas, deployment) for c in credentials
            }

        # Integrations side by side: while one rotation waits on its function's worker
        # process, this one serves the emulator and the fakes for another. A pusher's key
        # rotates afterwards, alone: its handover switches IAM enforcement for the whole
        # emulator, under which moto would judge the other rotations' calls on resource *.
        pool = ThreadPoolExecutor(SIDE_BY_SIDE, thread_name_prefix="rotation")
        try:
            done = list(pool.map(lambda i: rotated(i, _apart(i)), active))
        finally:  # on Ctrl-C, what has not started never does
            pool.shutdown(cancel_futures=True)
        return [
            checks[c.name] if c.name in checks else rotated(i, [c])[c.name]
            for i, checks in zip(active, done, strict=True)
            for c in i.credentials
        ]


def _apart(integration: Integration) -> list[Credential]:
    """The credentials of ``integration`` that may rotate while other integrations' do."""
    return [c for c in integration.credentials if c.kind is not CredentialKind.IAM_ACCESS_KEY]


def _checked(
    integration: Integration,
    cred: Credential,
    d: Deployed,
    fake: Any,
    lambdas: LambdaRunner,
    deployment: Deployment,
) -> Check:
    name = f"rotation:{integration.name}:{cred.name}"
    secret = d.named(f"cred-{cred.name}", SECRETS_MANAGER_SECRET)
    if secret is None:
        return Check(name, False, f"no secret {integration.name}-cred-{cred.name}")
    try:
        return _rotate_one(name, secret, d, fake, lambdas, deployment, expected=cred.kind)
    except Exception as err:  # one credential must not hide the others
        return Check(name, False, f"{type(err).__name__}: {err}")


def _rotation_needs(
    deployment: Deployment, d: Deployed, secret: Any, kind: str, doc: dict[str, Any]
) -> list[tuple[str, str]]:
    """(action, resource) the rotation role needs for one rotation of ``secret``."""
    arn = secret.outputs["arn"]
    needs = [
        (f"secretsmanager:{a}", arn)
        for a in ("DescribeSecret", "GetSecretValue", "PutSecretValue", "UpdateSecretVersionStage")
    ]
    key_id = deployment.aws.admin("secretsmanager").describe_secret(SecretId=arn).get("KmsKeyId")
    if key_id:
        key_arn = deployment.aws.admin("kms").describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
        needs += [("kms:Decrypt", key_arn), ("kms:GenerateDataKey", key_arn)]
    if kind == "iam_access_key":
        user = deployment.aws.admin("iam").get_user(UserName=doc["user_name"])["User"]["Arn"]
        needs += [
            (f"iam:{a}", user)
            for a in (
                "CreateAccessKey",
                "DeleteAccessKey",
                "GetAccessKeyLastUsed",
                "ListAccessKeys",
                "UpdateAccessKey",
            )
        ]
    return needs


def _others_secrets(deployment: Deployment, d: Deployed) -> list[str]:
    return [
        s.outputs["arn"]
        for o in deployment.inventory
        if o.name != d.name
        for s in o.of_type(SECRETS_MANAGER_SECRET)
    ]


# Kinds only a person can rotate (roadmap.integrations.CredentialKind.rotates_by_api).
MANUAL_SWAP_KINDS = frozenset(k.value for k in CredentialKind if not k.rotates_by_api)


def _manual_swap_refused(
    name: str,
    arn: str,
    kind: str,
    role: Any,
    problems: list[str],
    lambdas: LambdaRunner,
    deployment: Deployment,
) -> Check:
    """A credential rotated by hand: the scheduled rotation must refuse with the manual steps
    and leave AWSCURRENT (and no AWSPENDING) as it was."""
    sm = deployment.aws.admin("secretsmanager")
    before = stages(sm, arn)
    try:
        rotate(deployment.aws, lambdas, arn)
    except RotationFailed as err:
        refusal = str(err)
    else:
        problems.insert(0, f"the rotation of a {kind} rotated by hand completed by API")
        return Check(name, False, "; ".join(problems))
    after = stages(sm, arn)
    if "cannot be rotated by API" not in refusal:
        problems.insert(0, f"the rotation failed for another reason: {refusal[:300]}")
    if after["AWSCURRENT"] != before["AWSCURRENT"] or after["AWSPENDING"]:
        problems.append(f"the refused rotation changed the stages: {before} -> {after}")
    return Check.judged(
        name,
        problems,
        f"{kind} is rotated by hand: the scheduled rotation, run as rotation role "
        f"{role.id}, refuses at createSecret naming the manual steps, and leaves AWSCURRENT "
        f"{str(after['AWSCURRENT'])[:8]} in place with no AWSPENDING",
        about=kind,
    )


def _rotate_one(
    name: str,
    secret: Any,
    d: Deployed,
    fake: Any,
    lambdas: LambdaRunner,
    deployment: Deployment,
    *,
    expected: CredentialKind,
) -> Check:
    arn = secret.id
    sm = deployment.aws.admin("secretsmanager")
    role = d.named("rotation-role", IAM_ROLE)
    if role is None:
        return Check(name, False, f"no rotation role {d.name}-rotation-role deployed")
    calls = EvaluatedCalls(
        deployment.aws,
        f"rotation role {role.id}",
        role_policies(deployment.aws, role.id),
        principal_arn=str(role.outputs["arn"]),
    )
    doc = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])
    kind = doc["kind"]
    if kind != expected:
        return Check(
            name, False, f"the deployed secret holds a {kind}; the roadmap says {expected}"
        )
    missing = [
        f"{action} on {resource}"
        for action, resource in _rotation_needs(deployment, d, secret, kind, doc)
        if not calls.allows(action, resource)
    ]
    others = _others_secrets(deployment, d)
    overreach = [  # least privilege of its own policies
        f"{action} on {other}"
        for action, other in calls.identity_allowed(
            others, ("secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue")
        )
    ]
    # Reported with the rotation's own outcome, which names the first call that was denied.
    problems = [
        f"rotation role {role.id} lacks {m} (its policies and the secret's resource policy "
        "evaluated)"
        for m in missing
    ]
    problems += [f"rotation role {role.id} may {o} (policies evaluated)" for o in overreach[:3]]
    how = "from the program's bootstrap version"
    # A kind no API issues, or a credential the roadmap has a person rotate (its vendor
    # issues the next one only in its console): the scheduled rotation must refuse.
    # Every request of the rotation role's sessions (the worker's), judged by the emulator.
    judged = deployment.aws.recorder.judging(str(role.outputs["arn"]), calls)
    if kind in MANUAL_SWAP_KINDS or _tag(secret, "rotation") == "manual":
        with judged:
            return _manual_swap_refused(name, arn, kind, role, problems, lambdas, deployment)
    if kind != "iam_access_key":
        enrol(deployment, arn, fake)
        how = (
            "from a first certificate the fake admin installed on the connected app (a human "
            "upload in production, formats.py Bootstrap)"
            if kind == "salesforce_jwt_bearer"
            else "from a first public key the fake admin set on the Snowflake user (a human "
            "ALTER USER in production, formats.py Bootstrap)"
            if kind == "snowflake_key_pair"
            else "from a first credential the fake issuer enrolled (put by hand in production)"
        )
    before = stages(sm, arn)["AWSCURRENT"]
    with judged:
        try:
            result = rotate(deployment.aws, lambdas, arn)
        except RotationFailed as err:
            problems.insert(0, f"rotation as role {role.id} failed: {err}")
            return Check(name, False, f"{kind} {how}: " + "; ".join(problems))
        found, handover = _after_rotation(deployment, d, arn, kind, before, result, fake, lambdas)
    problems += found
    issuer = "the emulator's STS" if kind == "iam_access_key" else "the fake issuer"
    actions = sorted({action for action, _ in calls.evaluated})
    return Check.judged(
        name,
        problems,
        f"{kind} rotated {how} in {result.seconds:.1f}s as rotation role {role.id} (STS "
        f"AssumeRole): AWSCURRENT {result.version_id[:8]}, AWSPREVIOUS {str(before)[:8]}, no "
        f"AWSPENDING; {issuer} accepts the new credential. moto checks Secrets Manager/IAM "
        f"calls against resource *, so the role's policies were evaluated instead: "
        f"{len(calls.evaluated)} calls ({', '.join(actions)}) allowed on its own secret, key"
        f"{' and pusher user' if kind == 'iam_access_key' else ''}; GetSecretValue/"
        f"PutSecretValue denied on {len(others)} secrets of other integrations{handover}",
        about=f"{kind} {how}",
    )


def _tag(resource: Any, key: str) -> str | None:
    return (resource.outputs.get("tags") or {}).get(key)


def _after_rotation(
    deployment: Deployment,
    d: Deployed,
    arn: str,
    kind: str,
    before: Any,
    result: Any,
    fake: Any,
    lambdas: LambdaRunner,
) -> tuple[list[str], str]:
    """(problems, handover detail): the stages after the rotation, the new credential
    accepted by its issuer, and a pusher's handover."""
    sm = deployment.aws.admin("secretsmanager")
    problems = []
    after = stages(sm, arn)
    if after["AWSCURRENT"] != result.version_id:
        problems.append(f"AWSCURRENT is {after['AWSCURRENT']}, not the new {result.version_id}")
    if after["AWSPREVIOUS"] != before:
        problems.append(f"AWSPREVIOUS is {after['AWSPREVIOUS']}, not the old {before}")
    if after["AWSPENDING"]:
        problems.append(f"AWSPENDING still on {after['AWSPENDING']}")
    new = json.loads(sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])
    accepted = iam_key_accepted(deployment, new) if kind == "iam_access_key" else fake.accepts(new)
    if not accepted:
        problems.append("the issuing system does not accept the new credential")
    if kind != "iam_access_key" or problems:
        return problems, ""
    found, handover = pusher_handover(deployment, d, arn, lambdas)
    return problems + found, handover
