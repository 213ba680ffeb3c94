"""Secrets Manager rotation function: the four-step contract for every credential kind.

Secrets Manager invokes ``lambda_handler`` with ``{"SecretId", "ClientRequestToken",
"Step"}`` once per step: createSecret, setSecret, testSecret, finishSecret
(Secrets Manager User Guide, "Rotation by Lambda function" and "Lambda rotation
functions"). Each step is idempotent, because the service retries a failed
rotation with the same token. AWSCURRENT only moves in finishSecret, after
testSecret proved the new credential, so a failure anywhere leaves the current
credential untouched. What each step does per kind is in ``strategies``.

createSecret records, in a version of the same secret labelled ``ROTATION_ISSUED``, the
label it is about to ask the issuer for (``issue_label``) *before* it asks, then the id of
what it got (never its value) *before* it stores the new version. A rotation killed
anywhere in between (an exception, or a Lambda timeout, which no ``except`` sees) leaves
that record, and the next createSecret revokes every credential it names, by id or by
label at the issuer, that no AWSCURRENT, AWSPENDING or AWSPREVIOUS version holds before it
issues anything, so nothing issued stays live untracked. IAM keys carry no label; the
pusher's user belongs to its secret alone, so createSecret deletes every key on it that no
version holds.

Usage (what the rehearsal and ``provisioner.rotate.run_rotation_locally`` do)::

    rotation = Rotation(default_dependencies())
    for step in STEPS:
        rotation.run({"SecretId": arn, "ClientRequestToken": token, "Step": step})
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError

from credential_rotation.clients import (
    ApiKeyHttpIssuer,
    ApiKeyIssuer,
    BasicTokenHttpIssuer,
    OAuthHttpIssuer,
    OAuthIssuer,
)
from credential_rotation.formats import MANUAL_SWAP, dump_secret, parse_secret
from credential_rotation.iam_keys import IamAccessKeyStrategy
from credential_rotation.redact import get_logger, remember_secret_fields
from credential_rotation.slot_clients import (
    SalesforceClient,
    SalesforceHttpClient,
    SnowflakeClient,
    SnowflakeHttpClient,
)
from credential_rotation.slots import SalesforceJwtStrategy, SnowflakeKeyPairStrategy
from credential_rotation.strategies import (
    ApiKeyStrategy,
    BasicTokenStrategy,
    ManualRotationRequired,
    ManualSwapStrategy,
    OAuthClientCredentialsStrategy,
    StepContext,
    Strategy,
)

LOG = get_logger()
LOG.setLevel("INFO")
# botocore logs request parameters (SecretString included) and urllib3 logs at
# DEBUG; keep them at WARNING even when the function's log level is DEBUG.
for _noisy in ("boto3", "botocore", "urllib3"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
# The scheduled event that retires pushers' superseded access keys (components/credential.py
# sends it from an EventBridge rule): {"retirePreviousKeys": {"SecretIds": [arn, ...],
# "GraceSeconds": n}}. Secrets Manager's own events never carry this key.
RETIRE = "retirePreviousKeys"
CURRENT, PENDING, PREVIOUS = "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"
# Staging label of the version that records issued credential ids (ids only, no values).
# Custom labels are allowed on any version (Secrets Manager API Reference, PutSecretValue
# "VersionStages"); readers of AWSCURRENT never see it.
ISSUED = "ROTATION_ISSUED"


def issue_label(token: str) -> str:
    """The label a rotation asks the issuer to put on what it issues: its version's token."""
    return f"rotation-{token}"


class RotationRefused(ValueError):
    """The event breaks the rotation contract (rotation disabled, unknown token or step)."""


@dataclass
class Dependencies:
    """The AWS clients and issuer clients a rotation talks to (tests substitute fakes)."""

    secretsmanager: Any
    iam: Any
    sts_for_key: Callable[[str, str], Any]
    salesforce: SalesforceClient
    oauth: OAuthIssuer
    api_keys: ApiKeyIssuer
    sleep: Callable[[float], None] = field(default=time.sleep)
    snowflake: SnowflakeClient = field(default_factory=SnowflakeHttpClient)
    basic_tokens: ApiKeyIssuer = field(default_factory=BasicTokenHttpIssuer)

    def strategy(self, kind: str) -> Strategy:
        """Return the strategy for a credential kind."""
        if kind == "salesforce_jwt_bearer":
            return SalesforceJwtStrategy(self.salesforce)
        if kind == "oauth_client_credentials":
            return OAuthClientCredentialsStrategy(self.oauth)
        if kind == "api_key":
            return ApiKeyStrategy(self.api_keys)
        if kind == "snowflake_key_pair":
            return SnowflakeKeyPairStrategy(self.snowflake)
        if kind == "basic_token":
            return BasicTokenStrategy(self.basic_tokens)
        if kind in MANUAL_SWAP:
            return ManualSwapStrategy(kind)
        return IamAccessKeyStrategy(self.iam, self.sts_for_key, self.sleep)


def default_dependencies(
    session: boto3.Session | None = None, endpoint_url: str | None = None
) -> Dependencies:
    """Build real clients; ``endpoint_url`` points every AWS client at an emulator.

    Without ``session`` the clients come from boto3's default session, as in the Lambda
    runtime: a session of its own would read botocore's endpoint data and service models
    again, tens of milliseconds of a cold start each time."""
    client = session.client if session is not None else boto3.client

    def sts_for_key(access_key_id: str, secret_access_key: str) -> Any:
        # Explicit keys, no session token: the call proves the new key on its own.
        return client(
            "sts",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            aws_session_token=None,
        )

    return Dependencies(
        secretsmanager=client("secretsmanager", endpoint_url=endpoint_url),
        iam=client("iam", endpoint_url=endpoint_url),
        sts_for_key=sts_for_key,
        salesforce=SalesforceHttpClient(),
        oauth=OAuthHttpIssuer(),
        api_keys=ApiKeyHttpIssuer(),
    )


def _is_not_found(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException")


def retire_request(event: dict[str, Any]) -> tuple[list[str], float]:
    """The secrets and grace period of a scheduled retirement event, checked."""
    body = event.get(RETIRE)
    ids = body.get("SecretIds") if isinstance(body, dict) else None
    grace = body.get("GraceSeconds") if isinstance(body, dict) else None
    if (
        not isinstance(ids, list)
        or not ids
        or not all(isinstance(i, str) and i for i in ids)
        or isinstance(grace, bool)
        or not isinstance(grace, int | float)
        or grace <= 0
    ):
        raise RotationRefused(
            f"{RETIRE} needs a non-empty SecretIds list of secret ARNs and a positive "
            f"GraceSeconds, got {json.dumps(body)[:200]}"
        )
    return ids, float(grace)


class Rotation:
    """Runs one rotation step per call, enforcing the Secrets Manager contract."""

    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps
        self.sm = deps.secretsmanager

    def run(self, event: dict[str, Any]) -> None:
        """Validate the event against the secret's versions and run its step."""
        arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
        if step not in STEPS:
            raise RotationRefused(f"unknown rotation step {step!r}; expected one of {STEPS}")
        meta = self.sm.describe_secret(SecretId=arn)
        if not meta.get("RotationEnabled"):
            raise RotationRefused(f"secret {arn} is not enabled for rotation")
        versions: dict[str, list[str]] = meta.get("VersionIdsToStages", {})
        if token not in versions:
            raise RotationRefused(f"secret {arn} has no version {token} to rotate")
        if CURRENT in versions[token]:
            if step == "finishSecret" and PENDING in versions[token]:
                self._complete_finish(arn, token, versions)
            LOG.info("%s: version %s is already AWSCURRENT; %s has nothing to do", arn, token, step)
            return
        if PENDING not in versions[token]:
            raise RotationRefused(f"secret {arn} version {token} is not AWSPENDING")
        tags = {t.get("Key"): t.get("Value") for t in meta.get("Tags", [])}
        if step == "createSecret" and tags.get("rotation") == "manual":
            # The roadmap says a person rotates it (its vendor issues the next one only in
            # its console): asking an issuer API would fail, or worse, reach the wrong one.
            raise ManualRotationRequired(
                f"{arn} cannot be rotated by API: it is rotated by hand (rotation: manual). "
                "Issue the next credential in the vendor's console, then pipe it into "
                f"`provisioner rotate {tags.get('integration', 'INTEGRATION')} --stack S "
                "--manual --credential NAME`, which tests it before it becomes AWSCURRENT. "
                "AWSCURRENT is unchanged."
            )
        LOG.info("%s: %s for version %s", arn, step, token)
        try:
            getattr(self, f"_{step}")(arn, token, versions)
        except Exception as exc:
            LOG.error("%s: %s failed: %s: %s", arn, step, type(exc).__name__, exc)
            raise
        LOG.info("%s: %s done", arn, step)

    def retire_previous_keys(self, event: dict[str, Any], *, now: float | None = None) -> list[str]:
        """Deactivate each pusher secret's AWSPREVIOUS access key once unused for the grace.

        The previous key stays active after a rotation so the external pusher keeps working
        until it reads its new key (iam_keys.IamAccessKeyStrategy); this scheduled run
        deactivates it once IAM reports it unused for ``GraceSeconds``, and the next
        rotation's createSecret deletes it. Every secret is tried; a failure on one is
        raised after the others ran, so the invocation fails and its record reaches the
        on-failure destination.
        """
        ids, grace = retire_request(event)
        moment = time.time() if now is None else now
        said: list[str] = []
        failed: list[str] = []
        for arn in ids:
            try:
                said.append(f"{arn}: {self._retire_one(arn, grace, moment)}")
            except Exception as exc:
                LOG.error("%s: retiring failed: %s: %s", arn, type(exc).__name__, exc)
                failed.append(f"{arn}: {type(exc).__name__}: {exc}")
        for line in said:
            LOG.info("%s", line)
        if failed:
            raise RotationRefused("; ".join(failed))
        return said

    def _retire_one(self, arn: str, grace: float, now: float) -> str:
        meta = self.sm.describe_secret(SecretId=arn)
        versions: dict[str, list[str]] = meta.get("VersionIdsToStages", {})
        ctx = StepContext(arn, "", current=self._get(arn, stage=CURRENT))
        if ctx.current.get("kind") != "iam_access_key":
            raise RotationRefused(
                f"{arn} holds a {ctx.current.get('kind')}, not an iam_access_key; only a "
                "pusher's access keys are retired on a schedule"
            )
        ctx.previous = self._previous(arn, versions)
        if ctx.previous and ctx.previous.get("access_key_id") == ctx.current.get("access_key_id"):
            return "the previous version holds the current key; nothing to retire"
        strategy = IamAccessKeyStrategy(self.deps.iam, self.deps.sts_for_key, self.deps.sleep)
        return strategy.retire_previous(ctx, grace_seconds=grace, now=now)

    def _get(self, arn: str, *, stage: str, version: str | None = None) -> dict[str, Any]:
        kwargs: dict[str, str] = {"SecretId": arn, "VersionStage": stage}
        if version:
            kwargs["VersionId"] = version
        doc = parse_secret(self.sm.get_secret_value(**kwargs)["SecretString"])
        remember_secret_fields(doc)
        return doc

    def _previous(self, arn: str, versions: dict[str, list[str]]) -> dict[str, Any] | None:
        for version, stages in versions.items():
            if PREVIOUS in stages and CURRENT not in stages:
                try:
                    return self._get(arn, stage=PREVIOUS, version=version)
                except (ClientError, ValueError) as exc:
                    LOG.warning("%s: ignoring unreadable AWSPREVIOUS: %s", arn, exc)
        return None

    def _context(self, arn: str, token: str, versions: dict[str, list[str]]) -> StepContext:
        ctx = StepContext(arn, token, current=self._get(arn, stage=CURRENT))
        ctx.pending = self._get(arn, stage=PENDING, version=token)
        if ctx.pending["kind"] != ctx.current["kind"]:
            raise RotationRefused(f"{arn}: AWSPENDING and AWSCURRENT are different kinds")
        return ctx

    def _createSecret(self, arn: str, token: str, versions: dict[str, list[str]]) -> None:
        ctx = StepContext(arn, token, current=self._get(arn, stage=CURRENT))
        try:
            self._get(arn, stage=PENDING, version=token)
            LOG.info("%s: AWSPENDING version %s already exists", arn, token)
            return
        except ClientError as exc:
            if not _is_not_found(exc):
                raise
        ctx.previous = self._previous(arn, versions)
        strategy = self.deps.strategy(ctx.current["kind"])
        self._revoke_untracked(ctx, versions, strategy)
        # The intent first: a rotation stopped after the issuer answered but before the id
        # below is recorded leaves this label, by which the next attempt finds what it got.
        ctx.label = issue_label(token)
        self._record_issued([{"label": ctx.label, "token": token}], arn)
        new = strategy.create(ctx)
        remember_secret_fields(new)
        try:
            issued = strategy.issued_id(new)
            if issued:
                self._record_issued([{"id": issued, "label": ctx.label, "token": token}], arn)
            self.sm.put_secret_value(
                SecretId=arn,
                ClientRequestToken=token,
                SecretString=dump_secret(new),
                VersionStages=[PENDING],
            )
        except Exception:
            # The issuer may now hold a credential nobody will ever use: take it back.
            try:
                strategy.discard(ctx, new)
            except Exception as exc:
                LOG.warning("%s: could not discard the unsaved credential: %s", arn, exc)
            raise

    def _issued(self, arn: str) -> list[dict[str, str]]:
        """The issued-credential record (empty when there is none)."""
        try:
            raw = self.sm.get_secret_value(SecretId=arn, VersionStage=ISSUED)["SecretString"]
        except ClientError as exc:
            if _is_not_found(exc):
                return []
            raise
        entries = json.loads(raw).get("issued", [])
        return [e for e in entries if isinstance(e, dict) and (e.get("id") or e.get("label"))]

    def _record_issued(self, entries: list[dict[str, str]], arn: str) -> None:
        """Replace the record; the label moves to the new version (PutSecretValue)."""
        self.sm.put_secret_value(
            SecretId=arn,
            ClientRequestToken=str(uuid.uuid4()),
            SecretString=json.dumps({"issued": entries}),
            VersionStages=[ISSUED],
        )

    def _revoke_untracked(
        self, ctx: StepContext, versions: dict[str, list[str]], strategy: Strategy
    ) -> None:
        """Revoke what an earlier createSecret issued but never stored, then clear the record."""
        recorded = self._issued(ctx.arn)
        if not recorded:
            return
        held = set()
        for version, stages in versions.items():
            for stage in {CURRENT, PENDING, PREVIOUS} & set(stages):
                try:
                    held.add(strategy.issued_id(self._get(ctx.arn, stage=stage, version=version)))
                except (ClientError, ValueError) as exc:
                    LOG.warning("%s: unreadable %s version %s: %s", ctx.arn, stage, version, exc)
        for entry in recorded:
            found = {entry["id"]} if entry.get("id") else set()
            if entry.get("label") and not entry.get("id"):
                # Asked for, its id never recorded: the issuer knows it by its label.
                found |= set(strategy.find_issued(ctx, str(entry["label"])))
            for issued_id in sorted(found - held):
                strategy.revoke(ctx, issued_id)
                LOG.warning(
                    "%s: revoked credential %s issued by an interrupted rotation (version %s) "
                    "and never stored",
                    ctx.arn,
                    issued_id,
                    entry.get("token"),
                )
        self._record_issued([], ctx.arn)

    def _setSecret(self, arn: str, token: str, versions: dict[str, list[str]]) -> None:
        ctx = self._context(arn, token, versions)
        self.deps.strategy(ctx.current["kind"]).set(ctx)

    def _testSecret(self, arn: str, token: str, versions: dict[str, list[str]]) -> None:
        ctx = self._context(arn, token, versions)
        self.deps.strategy(ctx.current["kind"]).test(ctx)

    def _finishSecret(self, arn: str, token: str, versions: dict[str, list[str]]) -> None:
        ctx = self._context(arn, token, versions)
        current_version = next(v for v, stages in versions.items() if CURRENT in stages)
        self.sm.update_secret_version_stage(
            SecretId=arn,
            VersionStage=CURRENT,
            MoveToVersionId=token,
            RemoveFromVersionId=current_version,
        )
        LOG.info("%s: version %s is now AWSCURRENT", arn, token)
        self.deps.strategy(ctx.current["kind"]).finished(ctx)
        # Last, so a failure above is retried through _complete_finish.
        self.sm.update_secret_version_stage(
            SecretId=arn, VersionStage=PENDING, RemoveFromVersionId=token
        )

    def _complete_finish(self, arn: str, token: str, versions: dict[str, list[str]]) -> None:
        """Finish a finishSecret that failed after AWSCURRENT moved (retired nothing yet)."""
        new = self._get(arn, stage=CURRENT)
        previous = self._previous(arn, versions)
        if previous is not None:
            ctx = StepContext(arn, token, current=previous, pending=new)
            self.deps.strategy(new["kind"]).finished(ctx)
        self.sm.update_secret_version_stage(
            SecretId=arn, VersionStage=PENDING, RemoveFromVersionId=token
        )


_DEPENDENCIES: Dependencies | None = None


def lambda_handler(event: dict[str, Any], context: Any) -> list[str] | None:
    """Lambda entry point: Secrets Manager's rotation steps, or the scheduled retirement."""
    global _DEPENDENCIES
    if _DEPENDENCIES is None:
        # Reused across warm invocations: clients are expensive to build.
        _DEPENDENCIES = default_dependencies()
    if RETIRE in event:
        return Rotation(_DEPENDENCIES).retire_previous_keys(event)
    Rotation(_DEPENDENCIES).run(event)
    return None
