"""Rotation of every credential kind against moto and the fake issuers, including faults."""

from __future__ import annotations

import json
import logging
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec as ec_key
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "secrets"))

from test_rotation_fakes import (
    APP_B,
    IAM_USER,
    KINDS,
    SNOWFLAKE_ACCOUNT,
    SNOWFLAKE_USER,
    World,
    fail_aws_call,
    initial_doc,
    short_timeouts,
)

from credential_rotation.formats import SECRET_FIELDS
from credential_rotation.handler import RETIRE, Rotation, RotationRefused, default_dependencies
from credential_rotation.keys import (
    forget_private_keys,
    generate_key_and_certificate,
    private_key,
    public_key_pem,
)
from credential_rotation.slot_clients import build_jwt_assertion
from provisioner.rehearsal.fakes import Fault
from provisioner.rotate import RotationFailed, run_rotation_locally

# The shared fixtures (moto, the fake issuers, ``world``) live with the fakes.
pytest_plugins = ["test_rotation_fakes"]

HTTP_KINDS = (
    "salesforce_jwt_bearer",
    "oauth_client_credentials",
    "api_key",
    "snowflake_key_pair",
    "basic_token",
)


def setup_secret(world: World, kind: str) -> dict[str, Any]:
    doc = initial_doc(world, kind)
    world.create_secret(doc)
    return doc


def rotate(world: World) -> str:
    return run_rotation_locally(
        world.arn, session=world.session, dependencies=world.deps
    ).version_id


@pytest.mark.parametrize("kind", KINDS)
def test_full_rotation_makes_new_version_current_and_old_previous(world: World, kind: str) -> None:
    setup_secret(world, kind)
    old_version, old = world.version("AWSCURRENT"), world.doc()
    assert old_version is not None
    new_version = rotate(world)
    assert new_version is not None
    stages = world.stages()
    assert stages[new_version] == ["AWSCURRENT"]
    assert stages[old_version] == ["AWSPREVIOUS"]
    assert not [v for v, s in stages.items() if "AWSPENDING" in s]
    new = world.doc()
    assert world.accepted(new)
    assert all(new[f] != old[f] for f in SECRET_FIELDS if f in new)


@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_previous_credential_stays_valid_until_the_next_rotation(world: World, kind: str) -> None:
    first = setup_secret(world, kind)
    rotate(world)
    assert world.accepted(first)


@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_second_rotation_retires_the_credential_from_two_cycles_ago(
    world: World, kind: str
) -> None:
    first = setup_secret(world, kind)
    rotate(world)
    second = world.doc()
    rotate(world)
    assert not world.accepted(first)
    assert world.accepted(second)
    assert world.accepted(world.doc())


@pytest.mark.parametrize(
    ("kind", "slots", "both_held"),
    [
        # The Snowflake user's two public-key slots, each holding one of the last two keys.
        (
            "snowflake_key_pair",
            ["2", "1", "2"],
            lambda w: (
                set(w.fake.snowflake_keys[f"{SNOWFLAKE_ACCOUNT.upper()}.{SNOWFLAKE_USER}"])
                == {"1", "2"}
            ),
        ),
        # Two connected apps, the last rotation's credential on the second.
        ("salesforce_jwt_bearer", ["b", "a", "b"], lambda w: w.doc()["client_id"] == APP_B),
    ],
)
def test_rotation_alternates_the_credentials_two_slots(
    world: World, kind: str, slots: list[str], both_held: Callable[[World], bool]
) -> None:
    setup_secret(world, kind)
    seen = []
    for _ in range(3):
        rotate(world)
        seen.append(world.doc()["slot"])
    assert seen == slots
    assert both_held(world)


@pytest.mark.parametrize("kind", ["netsuite_tba", "webhook_signing_secret"])
def test_kind_without_a_rotation_api_is_refused_with_the_manual_swap(
    world: World, kind: str
) -> None:
    from credential_rotation.formats import KINDS as SHAPES

    doc = {"kind": kind, **{f: f"{f}-value-0123456789" for f in SHAPES[kind]}}
    setup = world.create_secret(doc)
    current = world.version("AWSCURRENT")

    with pytest.raises(RotationFailed, match=f"{kind} cannot be rotated by API") as failed:
        rotate(world)

    assert "put-secret-value" in str(failed.value)
    assert world.version("AWSCURRENT") == current and world.version("AWSPENDING") is None
    assert world.doc() == doc and setup == world.arn


def test_a_credential_the_roadmap_has_rotated_by_hand_is_refused_with_the_manual_steps(
    world: World,
) -> None:
    doc = setup_secret(world, "oauth_client_credentials")
    world.sm.tag_resource(
        SecretId=world.arn,
        Tags=[{"Key": "rotation", "Value": "manual"}, {"Key": "integration", "Value": "q2o"}],
    )
    current = world.version("AWSCURRENT")

    with pytest.raises(RotationFailed, match="cannot be rotated by API") as failed:
        rotate(world)

    assert "provisioner rotate q2o --stack S --manual" in str(failed.value)
    assert world.version("AWSCURRENT") == current and world.version("AWSPENDING") is None
    assert world.doc() == doc and world.accepted(doc)


def test_iam_rotation_keeps_the_pushers_previous_key_working(world: World) -> None:
    # An external pusher still holds the first key until it reads its secret again.
    first = setup_secret(world, "iam_access_key")
    rotate(world)
    assert world.accepted(first) and world.accepted(world.doc())
    second = world.doc()
    rotate(world)  # a whole rotation period later: the first key is retired
    keys = world.deps.iam.list_access_keys(UserName=IAM_USER)["AccessKeyMetadata"]
    assert {k["AccessKeyId"] for k in keys} == {
        second["access_key_id"],
        world.doc()["access_key_id"],
    }
    assert not world.accepted(first)


def _retire_previous(world: World, *, grace_seconds: float, now: float) -> str:
    """What the deployed schedule sends the rotation function (components/credential.py)."""
    event = {RETIRE: {"SecretIds": [world.arn], "GraceSeconds": grace_seconds}}
    (said,) = Rotation(world.deps).retire_previous_keys(event, now=now)
    return said.removeprefix(f"{world.arn}: ")


def test_iam_previous_key_is_deactivated_once_unused_for_the_grace_period(world: World) -> None:
    import time

    first = setup_secret(world, "iam_access_key")
    rotate(world)
    day = 24 * 3600.0

    kept = _retire_previous(world, grace_seconds=day, now=time.time())
    assert "kept active" in kept and world.accepted(first)
    done = _retire_previous(world, grace_seconds=day, now=time.time() + 2 * day)
    assert done == f"deactivated previous key {first['access_key_id']}"
    assert not world.accepted(first) and world.accepted(world.doc())


def test_scheduled_retirement_refuses_a_malformed_event_or_a_secret_that_is_not_a_pusher_key(
    world: World,
) -> None:
    setup_secret(world, "api_key")
    for body in (
        {"SecretIds": [], "GraceSeconds": 60},
        {"SecretIds": [world.arn], "GraceSeconds": -1},
        "x",
    ):
        with pytest.raises(RotationRefused, match="needs a non-empty SecretIds"):
            Rotation(world.deps).retire_previous_keys({RETIRE: body})
    event = {RETIRE: {"SecretIds": [world.arn], "GraceSeconds": 60}}
    with pytest.raises(RotationRefused, match="not an iam_access_key"):
        Rotation(world.deps).retire_previous_keys(event)


def test_iam_user_never_holds_more_than_two_keys_over_many_rotations(world: World) -> None:
    setup_secret(world, "iam_access_key")
    for _ in range(4):
        rotate(world)
        assert len(world.deps.iam.list_access_keys(UserName=IAM_USER)["AccessKeyMetadata"]) <= 2
    assert world.accepted(world.doc())


def test_iam_test_step_retries_until_the_new_key_is_visible(world: World) -> None:
    setup_secret(world, "iam_access_key")
    real_factory = world.deps.sts_for_key
    calls = {"n": 0}

    def flaky(access_key_id: str, secret_access_key: str) -> Any:
        client = real_factory(access_key_id, secret_access_key)
        calls["n"] += 1
        if calls["n"] <= 2:  # IAM has not propagated the key yet
            fail_aws_call(client, "GetCallerIdentity", code="InvalidClientTokenId")
        return client

    world.deps.sts_for_key = flaky
    rotate(world)
    assert world.sleeps[:2] == [1, 2]
    assert world.accepted(world.doc())


# Fault injection ---------------------------------------------------------------


def _jwt_issuer(info: dict[str, Any]) -> str:
    import jwt

    return str(jwt.decode(info["assertion"], options={"verify_signature": False})["iss"])


def _jwt_iss(info: dict[str, Any]) -> str:
    import jwt

    token = info["headers"].get("Authorization", "").removeprefix("Bearer ")
    return str(jwt.decode(token, options={"verify_signature": False})["iss"])


def _basic_password(info: dict[str, Any]) -> str:
    import base64

    encoded = info["headers"].get("Authorization", "").removeprefix("Basic ")
    return base64.b64decode(encoded).decode().split(":", 1)[1]


def inject(world: World, kind: str, step: str, initial: dict[str, Any]) -> None:
    """Make ``step`` fail for ``kind`` the way the real dependency would."""
    fake, deps = world.fake, world.deps
    if step == "createSecret":
        fail_aws_call(deps.secretsmanager, "PutSecretValue", times=1000)
    elif step == "finishSecret":
        fail_aws_call(deps.secretsmanager, "UpdateSecretVersionStage", times=1000)
    elif kind == "iam_access_key" and step == "setSecret":
        fail_aws_call(deps.iam, "ListAccessKeys", nth=2, times=1000)  # create lists once
    elif kind == "iam_access_key":  # testSecret: the key never becomes visible to STS
        factory = deps.sts_for_key

        def never(a: str, s: str) -> Any:
            client = factory(a, s)
            fail_aws_call(client, "GetCallerIdentity", times=1000, code="InvalidClientTokenId")
            return client

        deps.sts_for_key = never
    elif step == "setSecret":
        op = {
            "salesforce_jwt_bearer": "sf_upload",
            "oauth_client_credentials": "oauth_get",
            "snowflake_key_pair": "snowflake_sql",
        }
        # Snowflake: only the ALTER USER that sets the free slot fails.
        fake.faults.append(
            Fault(op.get(kind, "key_get"), when=lambda i: "ALTER" in i.get("statement", "ALTER"))
        )
    elif kind == "snowflake_key_pair":  # Snowflake refuses JWTs signed with the new key
        known = initial["public_key_fingerprint"]
        fake.faults.append(
            Fault("snowflake_sql", when=lambda i: not _jwt_iss(i).endswith(known), status=401)
        )
    elif kind == "basic_token":
        token = initial["api_token"]
        fake.faults.append(Fault("key_whoami", when=lambda i: _basic_password(i) != token))
    elif kind == "salesforce_jwt_bearer":
        app = initial["client_id"]
        fake.faults.append(Fault("sf_token", when=lambda i: _jwt_issuer(i) != app))
    elif kind == "oauth_client_credentials":
        secret = initial["client_secret"]
        fake.faults.append(Fault("oauth_token", when=lambda i: i["client_secret"] != secret))
    else:
        key = initial["api_key"]
        fake.faults.append(Fault("key_whoami", when=lambda i: i["headers"].get("X-Api-Key") != key))


def clear_faults(world: World, snapshot: dict[str, Any]) -> None:
    """Remove injected faults: fresh AWS clients (same moto state) and a healthy fake."""
    world.fake.faults.clear()
    world.deps.secretsmanager = world.session.client("secretsmanager")
    world.deps.iam = world.session.client("iam")
    world.deps.sts_for_key = snapshot["sts_for_key"]


@pytest.mark.parametrize("step", ["createSecret", "setSecret", "testSecret", "finishSecret"])
@pytest.mark.parametrize("kind", KINDS)
def test_failure_at_a_step_keeps_current_working_and_rerun_completes(
    world: World, kind: str, step: str
) -> None:
    initial = setup_secret(world, kind)
    current_version = world.version("AWSCURRENT")
    snapshot = dict(vars(world.deps))
    inject(world, kind, step, initial)

    with pytest.raises(RotationFailed, match=step):
        rotate(world)

    assert world.version("AWSCURRENT") == current_version
    assert world.doc() == initial
    assert world.accepted(initial)
    clear_faults(world, snapshot)
    new_version = rotate(world)
    assert world.version("AWSCURRENT") == new_version != current_version
    assert world.version("AWSPREVIOUS") == current_version
    assert world.version("AWSPENDING") is None
    assert world.accepted(world.doc())


@pytest.mark.parametrize(
    ("kind", "op"),
    [
        ("salesforce_jwt_bearer", "sf_upload"),
        ("oauth_client_credentials", "oauth_create"),
        ("api_key", "key_create"),
        ("basic_token", "key_create"),
        ("snowflake_key_pair", "snowflake_sql"),
    ],
)
def test_issuer_timeout_keeps_current_working_and_rerun_completes(
    world: World, kind: str, op: str
) -> None:
    initial = setup_secret(world, kind)
    current_version = world.version("AWSCURRENT")
    world.fake.faults.append(Fault(op, delay=1.5, times=1))
    with short_timeouts(world, 0.5), pytest.raises(RotationFailed, match="timed out"):
        rotate(world)
    assert world.version("AWSCURRENT") == current_version
    assert world.accepted(initial)
    rotate(world)
    assert world.version("AWSPREVIOUS") == current_version
    assert world.accepted(world.doc())


def test_unsaved_issued_secret_is_revoked_when_create_fails(world: World) -> None:
    setup_secret(world, "oauth_client_credentials")
    fail_aws_call(world.deps.secretsmanager, "PutSecretValue")
    with pytest.raises(RotationFailed):
        rotate(world)
    assert list(world.fake.oauth_secrets) == ["sec-initial"]


def test_unsaved_iam_key_is_deleted_when_create_fails(world: World) -> None:
    initial = setup_secret(world, "iam_access_key")
    fail_aws_call(world.deps.secretsmanager, "PutSecretValue")
    with pytest.raises(RotationFailed):
        rotate(world)
    keys = world.deps.iam.list_access_keys(UserName=IAM_USER)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [initial["access_key_id"]]


# Contract refusals -------------------------------------------------------------


def run_step(world: World, token: str, step: str = "createSecret") -> None:
    Rotation(world.deps).run({"SecretId": world.arn, "ClientRequestToken": token, "Step": step})


def test_token_that_is_not_a_version_of_the_secret_is_refused(world: World) -> None:
    setup_secret(world, "api_key")
    before = world.stages()
    with pytest.raises(RotationRefused, match="has no version"):
        run_step(world, str(uuid.uuid4()))
    assert world.stages() == before
    assert world.fake.calls == []


def test_token_of_a_version_that_is_not_pending_is_refused(world: World) -> None:
    setup_secret(world, "api_key")
    previous = world.version("AWSPREVIOUS")
    assert previous is not None
    with pytest.raises(RotationRefused, match="not AWSPENDING"):
        run_step(world, previous, "setSecret")


def test_secret_with_rotation_disabled_is_refused(world: World) -> None:
    world.create_secret(initial_doc(world, "oauth_client_credentials"), enable_rotation=False)
    with pytest.raises(RotationFailed, match="not enabled for rotation"):
        rotate(world)
    assert world.fake.calls == []
    assert len(world.stages()) == 1


def test_current_version_token_is_a_no_op(world: World) -> None:
    setup_secret(world, "api_key")
    current = world.version("AWSCURRENT")
    assert current is not None
    for step in ("createSecret", "finishSecret"):
        run_step(world, current, step)
    assert world.version("AWSCURRENT") == current
    assert world.fake.calls == []


# Bootstrap ---------------------------------------------------------------------


def test_iam_bootstrap_placeholder_is_replaced_by_the_first_rotation(world: World) -> None:
    world.deps.iam.create_user(UserName=IAM_USER)
    world.create_secret(
        {
            "kind": "iam_access_key",
            "user_name": IAM_USER,
            "access_key_id": "",
            "secret_access_key": "placeholder-not-known-to-iam",
            "bootstrap": True,
        }
    )
    rotate(world)
    assert "bootstrap" not in world.doc()
    assert world.accepted(world.doc())


def test_oauth_bootstrap_placeholder_is_refused_with_instructions(world: World) -> None:
    doc = {**initial_doc(world, "oauth_client_credentials"), "bootstrap": True}
    doc.update(client_secret="placeholder-unknown-to-issuer", client_secret_id="")
    world.create_secret(doc)
    with pytest.raises(RotationFailed, match="put-secret-value"):
        rotate(world)
    assert world.version("AWSPENDING") is None


def test_salesforce_bootstrap_completes_once_the_certificate_is_uploaded(world: World) -> None:
    doc = {**initial_doc(world, "salesforce_jwt_bearer"), "bootstrap": True}
    world.fake.apps[doc["client_id"]] = None  # Salesforce has never seen the placeholder
    world.create_secret(doc)
    with pytest.raises(RotationFailed, match="SHA-256") as err:
        rotate(world)
    assert APP_B in str(err.value)
    # The administrator uploads the (public) pending certificate to app B, then it retries.
    world.fake.apps[APP_B] = world.doc("AWSPENDING")["certificate_pem"]
    rotate(world)
    assert world.doc()["slot"] == "b"
    assert "bootstrap" not in world.doc()
    assert world.accepted(world.doc())


# Secret material never leaks ------------------------------------------------------


def _all_secret_values(world: World, extra: list[dict[str, Any]]) -> set[str]:
    values: set[str] = set()
    for version in world.stages():
        try:
            raw = world.sm.get_secret_value(SecretId=world.arn, VersionId=version)
        except Exception:
            continue
        doc = json.loads(raw["SecretString"])
        values |= {doc[f] for f in SECRET_FIELDS if doc.get(f)}
    for doc in extra:
        values |= {doc[f] for f in SECRET_FIELDS if doc.get(f)}
    # Also look for a fragment, in case a value is logged truncated or re-wrapped.
    return values | {v[40:80] for v in values if len(v) > 80}


@pytest.mark.parametrize("kind", KINDS)
def test_logs_and_errors_never_contain_secret_material(
    world: World, kind: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    initial = setup_secret(world, kind)
    rotate(world)
    snapshot = dict(vars(world.deps))
    inject(world, kind, "testSecret", world.doc())
    with pytest.raises(RotationFailed) as err:
        rotate(world)
    clear_faults(world, snapshot)
    rotate(world)

    captured = capsys.readouterr()
    texts = [caplog.text, captured.out, captured.err, str(err.value), repr(err.value.__cause__)]
    texts += [r.getMessage() for r in caplog.records]
    assert "testSecret failed" in caplog.text  # the failure was logged at all
    for value in _all_secret_values(world, [initial]):
        for text in texts:
            assert value not in text


def test_redaction_masks_remembered_values_pem_blocks_and_secret_fields() -> None:
    from credential_rotation.redact import redact_text, remember

    remember("s3cr3t-value-remembered")
    text = redact_text(
        'got s3cr3t-value-remembered and {"client_secret": "abc123"} and '
        "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY----- and eyJa.eyJb.sig"
    )
    for leaked in ("s3cr3t-value-remembered", "abc123", "MIIE", "eyJa.eyJb"):
        assert leaked not in text


def test_redacting_filter_masks_exception_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    from credential_rotation.redact import get_logger, remember

    remember("traceback-secret-123456")
    try:
        raise ValueError("boom traceback-secret-123456")
    except ValueError:
        get_logger().exception("failed")
    assert "traceback-secret-123456" not in caplog.text
    assert "boom ***" in caplog.text


def test_format_errors_name_the_field_not_the_value() -> None:
    from credential_rotation.formats import SecretFormatError, parse_secret

    with pytest.raises(SecretFormatError, match=r"api_key\.key_id: required") as err:
        parse_secret(json.dumps({"kind": "api_key", "base_url": "https://x", "api_key": "zz-9"}))
    assert "zz-9" not in str(err.value)


def test_malformed_json_error_does_not_quote_the_secret() -> None:
    from credential_rotation.formats import SecretFormatError, parse_secret

    with pytest.raises(SecretFormatError) as err:
        parse_secret('{"api_key": "leaky-value-42",,}')
    assert "leaky-value-42" not in str(err.value)


# What a cold rotation function costs ------------------------------------------------


def test_default_clients_come_from_one_session_and_a_new_key_is_proved_on_its_own(
    aws: boto3.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the Lambda runtime builds them: every client from boto3's default session (a
    session of its own reads botocore's data again), and the STS client that proves a new
    IAM key signs with that key alone, not the function's role."""
    sessions: list[boto3.session.Session] = []
    made = boto3.session.Session.__init__

    def counted(session: boto3.session.Session, *args: object, **kwargs: object) -> None:
        sessions.append(session)
        made(session, *args, **kwargs)

    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    monkeypatch.setattr(boto3.session.Session, "__init__", counted)
    deps = default_dependencies()
    deps.iam.create_user(UserName=IAM_USER)
    key = deps.iam.create_access_key(UserName=IAM_USER)["AccessKey"]
    proof = deps.sts_for_key(key["AccessKeyId"], key["SecretAccessKey"])

    assert proof.get_caller_identity()["Arn"].endswith(f":user/{IAM_USER}")
    assert sessions == [boto3.DEFAULT_SESSION]


def test_a_private_key_is_loaded_once_however_often_it_signs(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading a PEM checks the RSA key (tens of ms); a rotation signs with one key often,
    and a key the rotation made itself is never loaded at all."""
    doc = initial_doc(world, "salesforce_jwt_bearer")
    forget_private_keys()
    loaded: list[bytes] = []
    load = serialization.load_pem_private_key

    def counted(data: bytes, password: bytes | None) -> Any:
        loaded.append(data)
        return load(data, password)

    monkeypatch.setattr(serialization, "load_pem_private_key", counted)
    for _ in range(3):
        build_jwt_assertion(doc)
    public_key_pem(doc["private_key_pem"])
    assert loaded == [doc["private_key_pem"].encode()]

    made, _ = generate_key_and_certificate("made here")
    build_jwt_assertion({**doc, "private_key_pem": made})
    assert len(loaded) == 1

    ec = ec_key.generate_private_key(ec_key.SECP256R1())
    pem = ec.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    with pytest.raises(ValueError, match="not an RSA private key"):
        private_key(pem)
    with pytest.raises(ValueError, match="not an RSA private key"):
        private_key(pem)  # never remembered
    assert loaded[1:] == [pem.encode(), pem.encode()]
