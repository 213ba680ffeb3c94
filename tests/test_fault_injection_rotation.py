"""Fault injection: each rotation kind killed at every step, by a timeout that no ``except``
sees, then run again. Asserts no credential is left untracked and the old credential keeps
working until the new one is proven."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "secrets"))

from test_rotation_fakes import (
    IAM_USER,
    KINDS,
    SNOWFLAKE_ACCOUNT,
    SNOWFLAKE_USER,
    World,
    initial_doc,
)

from credential_rotation import handler
from provisioner.rotate import run_rotation_locally

pytest_plugins = ["test_rotation_fakes"]

ID_FIELD = {
    "oauth_client_credentials": "client_secret_id",
    "api_key": "key_id",
    "iam_access_key": "access_key_id",
    "basic_token": "token_id",
    # Snowflake issues nothing: the rotator makes the key and sets its public half in the
    # user's free slot; what is live is the fingerprints of the keys in the two slots.
    "snowflake_key_pair": "public_key_fingerprint",
}
HELD = ("AWSCURRENT", "AWSPENDING", "AWSPREVIOUS")


class LambdaTimeout(BaseException):
    """Lambda ends the invocation: no ``except Exception`` and no ``finally`` of ours runs."""


def _kill_on(client: Any, event: str, when: Callable[[dict[str, Any]], bool]) -> None:
    """Raise LambdaTimeout at botocore ``event`` once ``when(API parameters)`` holds."""
    fired = {"done": False}

    def kill(**kwargs: Any) -> None:
        params = kwargs.get("params") or {}
        if not fired["done"] and when(params):
            fired["done"] = True
            raise LambdaTimeout(event)

    client.meta.events.register(event, kill)


def _kill_at_step_entry(monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    """The function times out as ``step`` begins: every earlier step completed."""
    original = getattr(handler.Rotation, f"_{step}")
    fired = {"done": False}

    def killed(self: Any, *args: Any) -> None:
        if not fired["done"]:
            fired["done"] = True
            raise LambdaTimeout(step)
        original(self, *args)

    monkeypatch.setattr(handler.Rotation, f"_{step}", killed)


KILL_POINTS = (
    "createSecret:issued-not-recorded",
    "createSecret:issued-not-stored",
    "setSecret",
    "testSecret",
    "finishSecret",
    "finishSecret:current-moved",
)


def _kill_when_the_issuer_answered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The function times out the moment the issuer returned a new credential, before its id
    could be recorded anywhere."""
    strategy_for = handler.Dependencies.strategy

    class Dying:
        def __init__(self, strategy: Any) -> None:
            self.strategy = strategy

        def __getattr__(self, name: str) -> Any:
            return getattr(self.strategy, name)

        def create(self, ctx: Any) -> Any:
            self.strategy.create(ctx)
            raise LambdaTimeout("createSecret: issuer answered")

    monkeypatch.setattr(
        handler.Dependencies, "strategy", lambda deps, kind: Dying(strategy_for(deps, kind))
    )


def _arm(world: World, monkeypatch: pytest.MonkeyPatch, point: str) -> None:
    sm = world.deps.secretsmanager
    if point == "createSecret:issued-not-recorded":
        _kill_when_the_issuer_answered(monkeypatch)
    elif point == "createSecret:issued-not-stored":
        _kill_on(
            sm,
            "before-parameter-build.secrets-manager.PutSecretValue",
            lambda p: p.get("VersionStages") == ["AWSPENDING"],
        )
    elif point == "finishSecret:current-moved":
        _kill_on(
            sm,
            "after-call.secrets-manager.UpdateSecretVersionStage",
            lambda _: True,
        )
    else:
        _kill_at_step_entry(monkeypatch, point)


def _live(world: World, kind: str) -> set[str]:
    """Credentials the issuing system would accept right now."""
    if kind == "oauth_client_credentials":
        return set(world.fake.oauth_secrets)
    if kind in ("api_key", "basic_token"):  # one key service issues both
        return set(world.fake.api_keys)
    if kind == "snowflake_key_pair":
        slots = world.fake.snowflake_keys[f"{SNOWFLAKE_ACCOUNT}.{SNOWFLAKE_USER}".upper()]
        return {_fingerprint(pem) for pem in slots.values() if pem}
    keys = world.session.client("iam").list_access_keys(UserName=IAM_USER)["AccessKeyMetadata"]
    return {k["AccessKeyId"] for k in keys if k["Status"] == "Active"}


def _fingerprint(public_pem: str) -> str:
    """Snowflake's RSA_PUBLIC_KEY_FP of a public key (Snowflake docs, "Key-pair
    authentication"): SHA256: and the base64 SHA-256 of its DER."""
    import base64
    import hashlib

    from cryptography.hazmat.primitives import serialization

    der = serialization.load_pem_public_key(public_pem.encode()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def _tracked(world: World, kind: str) -> set[str]:
    """Ids the next rotation can still find: held by a version, recorded as issued, or known
    to the issuer by a recorded label (an IAM key on the pusher's user: no version holds it,
    so the next createSecret deletes it)."""
    import json

    sm = world.session.client("secretsmanager")
    ids = set()
    for version, stages in world.stages().items():
        for stage in set(stages) & {*HELD, handler.ISSUED}:
            raw = sm.get_secret_value(SecretId=world.arn, VersionId=version)["SecretString"]
            doc = json.loads(raw)
            if stage == handler.ISSUED:
                ids |= {entry["id"] for entry in doc["issued"] if entry.get("id")}
                labels = {entry["label"] for entry in doc["issued"] if entry.get("label")}
                ids |= {i for i, label in world.fake.labels.items() if label in labels}
            else:
                ids.add(doc[ID_FIELD[kind]])
    if kind == "iam_access_key":
        ids |= _live(world, kind)
    return ids


def _held(world: World, kind: str) -> set[str]:
    sm = world.session.client("secretsmanager")
    import json

    return {
        json.loads(sm.get_secret_value(SecretId=world.arn, VersionStage=stage)["SecretString"])[
            ID_FIELD[kind]
        ]
        for stage in HELD
        if world.version(stage)
    }


@pytest.mark.parametrize("point", KILL_POINTS)
@pytest.mark.parametrize("kind", KINDS)
def test_rotation_killed_at_any_point_leaves_nothing_untracked_and_old_working(
    world: World, monkeypatch: pytest.MonkeyPatch, kind: str, point: str
) -> None:
    first = initial_doc(world, kind)
    world.create_secret(first)
    _arm(world, monkeypatch, point)

    with pytest.raises(LambdaTimeout):
        run_rotation_locally(world.arn, session=world.session, dependencies=world.deps)

    # The credential in use still works: AWSCURRENT is the old one, or a new one that
    # passed testSecret (killed after finishSecret moved it).
    assert world.accepted(world.doc())
    assert world.accepted(first)
    if kind in ID_FIELD:
        assert _live(world, kind) <= _tracked(world, kind), "a live credential nobody tracks"
    monkeypatch.undo()

    run_rotation_locally(world.arn, session=world.session, dependencies=world.deps)

    new = world.doc()
    assert world.accepted(new) and world.version("AWSPENDING") is None
    if kind in ID_FIELD:
        assert new[ID_FIELD[kind]] != first[ID_FIELD[kind]]
        # Everything issued and never stored has been revoked by the rerun.
        assert _live(world, kind) <= _held(world, kind)
