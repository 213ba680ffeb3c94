"""What each rotation step does for each credential kind.

Salesforce JWT bearer: alternating connected apps
    A connected app holds one certificate at a time, so replacing it in place
    would break every caller between the upload and their next secret read. The
    secret therefore names two connected apps (``client_ids["a"]`` and ``["b"]``),
    both pre-authorised for the integration user, and each version uses one of
    them (``slot``). createSecret generates a new RSA key and self-signed
    certificate for the *other* slot; setSecret uploads that certificate to the
    other app (authenticated with the current credential); testSecret performs
    the JWT bearer exchange with the new key; finishSecret moves AWSCURRENT. The
    app in use is never touched, so the current credential works throughout; the
    old key stays valid as AWSPREVIOUS and is retired only when the next rotation
    (after the new key tested good) overwrites that app's certificate. This is
    Secrets Manager's "alternating users" strategy applied to connected apps.

OAuth client credentials and API keys: two live secrets, retire on the next cycle
    createSecret first revokes the AWSPREVIOUS secret (it has been superseded for
    a whole rotation period, and issuers commonly allow only two), then asks the
    issuer for a new one while the current stays valid; setSecret checks the
    issuer holds it; testSecret uses it; finishSecret moves AWSCURRENT and leaves
    the old one valid for callers that cached it.

Snowflake key pairs: two public-key slots per user
    As Salesforce's two apps: the new key goes into the slot not in use, is tested,
    then becomes current; the old slot is overwritten by the next rotation.

Basic tokens: as API keys, presented as the password of HTTP Basic auth.

NetSuite TBA and webhook signing secrets: refused (``ManualSwapStrategy``)
    Only the vendor's UI issues the next one; the refusal names the steps.

IAM access keys: at most two per user (IAM quotas)
    createSecret deletes an inactive key, retires the AWSPREVIOUS key (it has been
    superseded for a whole rotation period) and deletes any key no version holds (issued
    by a rotation stopped before it stored it), then creates one; setSecret
    checks it is active; testSecret calls sts:GetCallerIdentity with it, retrying
    while IAM's eventual consistency catches up; finishSecret moves AWSCURRENT and
    leaves the previous key active, so an external pusher keeps working until it
    reads its new key. ``retire_previous`` deactivates the previous key once IAM
    reports it unused for a grace period; the next createSecret deletes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from credential_rotation.clients import (
    ApiKeyIssuer,
    CredentialRejected,
    OAuthIssuer,
    SalesforceClient,
    SnowflakeClient,
    set_public_key_statement,
)
from credential_rotation.formats import MANUAL_SWAP
from credential_rotation.keys import (
    certificate_fingerprint,
    generate_key_and_certificate,
    generate_key_pair,
    public_key_fingerprint,
)
from credential_rotation.redact import get_logger

LOG = get_logger()


class RotationError(RuntimeError):
    """A rotation step cannot proceed; the message says why and what to do, never a secret."""


class BootstrapRequired(RotationError):
    """AWSCURRENT is still the program's placeholder and needs a one-time human step."""


class ManualRotationRequired(RotationError):
    """The kind has no rotation API; a person swaps the credential (formats.py)."""


@dataclass
class StepContext:
    """The versions a step works with, parsed. ``previous`` is AWSPREVIOUS, if any."""

    arn: str
    token: str
    current: dict[str, Any]
    pending: dict[str, Any] | None = None
    previous: dict[str, Any] | None = None
    # What createSecret asks the issuer to label a new credential with (the handler records
    # it before asking, so a credential whose id was never recorded is still found by it).
    label: str = ""


class Strategy(Protocol):
    """The kind-specific half of a rotation; the handler does the Secrets Manager half."""

    def create(self, ctx: StepContext) -> dict[str, Any]:
        """Return the new secret document (may ask the issuer for a credential)."""
        ...

    def issued_id(self, doc: dict[str, Any]) -> str | None:
        """The issuer's id of the credential in ``doc`` (None: nothing issued elsewhere)."""
        ...

    def revoke(self, ctx: StepContext, issued_id: str) -> None:
        """Take back a credential this strategy issued (absent already is fine)."""
        ...

    def find_issued(self, ctx: StepContext, label: str) -> list[str]:
        """Ids of the credentials the issuer holds labelled ``label`` (none: nothing issued
        elsewhere, or the kind finds its orphans in ``create``)."""
        ...

    def discard(self, ctx: StepContext, new: dict[str, Any]) -> None:
        """Undo ``create`` at the issuer when the new version could not be stored."""
        ...

    def set(self, ctx: StepContext) -> None:
        """Make the issuing system accept ``ctx.pending``."""
        ...

    def test(self, ctx: StepContext) -> None:
        """Prove ``ctx.pending`` works; raise if it does not."""
        ...

    def finished(self, ctx: StepContext) -> None:
        """Run after ``ctx.pending`` became AWSCURRENT; ``ctx.current`` is the demoted one."""
        ...


def _fresh(doc: dict[str, Any]) -> dict[str, Any]:
    """Copy a document for the next version: a rotated secret is never a bootstrap placeholder."""
    new = dict(doc)
    new.pop("bootstrap", None)
    return new


def _require_enrolled(ctx: StepContext, what: str) -> None:
    if ctx.current.get("bootstrap"):
        raise BootstrapRequired(
            f"{ctx.arn}: AWSCURRENT is the bootstrap placeholder, which the issuing system "
            f"does not know, so it cannot ask for a new {what}. Put the first issued "
            "credential with `aws secretsmanager put-secret-value` (shape in "
            'credential_rotation/formats.py, without "bootstrap"), then rotate once so '
            "the hand-carried value is replaced."
        )


class SalesforceJwtStrategy:
    """Alternate between two connected apps so one always holds a working certificate."""

    def __init__(self, salesforce: SalesforceClient) -> None:
        self.salesforce = salesforce

    def create(self, ctx: StepContext) -> dict[str, Any]:
        slot = "b" if ctx.current["slot"] == "a" else "a"
        private_pem, certificate_pem = generate_key_and_certificate(
            f"{ctx.current['username']} rotation {slot}"
        )
        new = _fresh(ctx.current)
        new.update(
            slot=slot,
            client_id=ctx.current["client_ids"][slot],
            private_key_pem=private_pem,
            certificate_pem=certificate_pem,
        )
        return new

    def issued_id(self, doc: dict[str, Any]) -> str | None:
        return None  # the key pair is made here; Salesforce only sees it in setSecret

    def revoke(self, ctx: StepContext, issued_id: str) -> None:
        return None

    def discard(self, ctx: StepContext, new: dict[str, Any]) -> None:
        return None  # nothing reached Salesforce yet

    def find_issued(self, ctx: StepContext, label: str) -> list[str]:
        return []

    def set(self, ctx: StepContext) -> None:
        assert ctx.pending is not None
        fingerprint = certificate_fingerprint(ctx.pending["certificate_pem"])
        if ctx.current.get("bootstrap"):
            LOG.warning(
                "%s: AWSCURRENT is the bootstrap placeholder; upload certificate %s to "
                "connected app %s by hand (see formats.py)",
                ctx.arn,
                fingerprint,
                ctx.pending["client_id"],
            )
            return
        self.salesforce.upload_certificate(
            current=ctx.current,
            client_id=ctx.pending["client_id"],
            certificate_pem=ctx.pending["certificate_pem"],
        )
        LOG.info(
            "%s: uploaded certificate %s to app %s", ctx.arn, fingerprint, ctx.pending["client_id"]
        )

    def test(self, ctx: StepContext) -> None:
        assert ctx.pending is not None
        try:
            self.salesforce.exchange_jwt(ctx.pending)
        except CredentialRejected:
            if not ctx.current.get("bootstrap"):
                raise
            fingerprint = certificate_fingerprint(ctx.pending["certificate_pem"])
            raise BootstrapRequired(
                f"{ctx.arn}: Salesforce does not accept the new key yet. Upload the AWSPENDING "
                f"version's certificate_pem (SHA-256 {fingerprint}) "
                f"to connected app {ctx.pending['client_id']}; the retried rotation then completes."
            ) from None

    def finished(self, ctx: StepContext) -> None:
        return None  # the demoted app keeps its certificate until the next rotation's setSecret


class OAuthClientCredentialsStrategy:
    """Issue a second client secret, test it, retire the superseded one on the next cycle."""

    def __init__(self, issuer: OAuthIssuer) -> None:
        self.issuer = issuer

    def create(self, ctx: StepContext) -> dict[str, Any]:
        _require_enrolled(ctx, "client secret")
        prev = ctx.previous
        if (
            prev
            and not prev.get("bootstrap")
            and prev["client_secret_id"]
            not in (
                "",
                ctx.current["client_secret_id"],
            )
        ):
            self.issuer.revoke_secret(ctx.current, prev["client_secret_id"])
            LOG.info("%s: revoked superseded client secret %s", ctx.arn, prev["client_secret_id"])
        issued = self.issuer.create_secret(ctx.current, label=ctx.label)
        new = _fresh(ctx.current)
        new.update(client_secret=issued.value, client_secret_id=issued.id)
        return new

    def issued_id(self, doc: dict[str, Any]) -> str | None:
        return str(doc.get("client_secret_id") or "") or None

    def revoke(self, ctx: StepContext, issued_id: str) -> None:
        self.issuer.revoke_secret(ctx.current, issued_id)

    def discard(self, ctx: StepContext, new: dict[str, Any]) -> None:
        self.issuer.revoke_secret(ctx.current, new["client_secret_id"])

    def find_issued(self, ctx: StepContext, label: str) -> list[str]:
        return [i for i, at in self.issuer.list_secrets(ctx.current) if label and at == label]

    def set(self, ctx: StepContext) -> None:
        assert ctx.pending is not None
        if not self.issuer.secret_exists(ctx.current, ctx.pending["client_secret_id"]):
            raise RotationError(
                f"{ctx.arn}: the issuer no longer holds pending client secret "
                f"{ctx.pending['client_secret_id']}; cancel this rotation "
                "(remove AWSPENDING from the version) and rotate again"
            )

    def test(self, ctx: StepContext) -> None:
        assert ctx.pending is not None
        self.issuer.token(ctx.pending)

    def finished(self, ctx: StepContext) -> None:
        return None  # the old secret stays valid until the next cycle's createSecret


class ApiKeyStrategy:
    """Issue a second API key, test it, retire the superseded one on the next cycle."""

    SECRET = "api_key"
    ID = "key_id"
    WHAT = "API key"

    def __init__(self, issuer: ApiKeyIssuer) -> None:
        self.issuer = issuer

    def create(self, ctx: StepContext) -> dict[str, Any]:
        _require_enrolled(ctx, self.WHAT)
        prev = ctx.previous
        if prev and not prev.get("bootstrap") and prev[self.ID] not in ("", ctx.current[self.ID]):
            self.issuer.revoke_key(ctx.current, prev[self.ID])
            LOG.info("%s: revoked superseded %s %s", ctx.arn, self.WHAT, prev[self.ID])
        issued = self.issuer.create_key(ctx.current, label=ctx.label)
        new = _fresh(ctx.current)
        new.update({self.SECRET: issued.value, self.ID: issued.id})
        return new

    def issued_id(self, doc: dict[str, Any]) -> str | None:
        return str(doc.get(self.ID) or "") or None

    def revoke(self, ctx: StepContext, issued_id: str) -> None:
        self.issuer.revoke_key(ctx.current, issued_id)

    def discard(self, ctx: StepContext, new: dict[str, Any]) -> None:
        self.issuer.revoke_key(ctx.current, new[self.ID])

    def find_issued(self, ctx: StepContext, label: str) -> list[str]:
        return [i for i, at in self.issuer.list_keys(ctx.current) if label and at == label]

    def set(self, ctx: StepContext) -> None:
        assert ctx.pending is not None
        if not self.issuer.key_exists(ctx.current, ctx.pending[self.ID]):
            raise RotationError(
                f"{ctx.arn}: the issuer no longer holds pending {self.WHAT} "
                f"{ctx.pending[self.ID]}; cancel this rotation (remove AWSPENDING from the "
                "version) and rotate again"
            )

    def test(self, ctx: StepContext) -> None:
        assert ctx.pending is not None
        key_id = self.issuer.whoami(ctx.pending)
        if key_id != ctx.pending[self.ID]:
            raise RotationError(
                f"{ctx.arn}: the issuer identified the new {self.WHAT} as {key_id}, "
                f"expected {ctx.pending[self.ID]}"
            )

    def finished(self, ctx: StepContext) -> None:
        return None  # the old key stays valid until the next cycle's createSecret


# IAM allows two access keys per user (IAM User Guide, "IAM and AWS STS quotas"): createSecret
# therefore deletes every key but the current one before it creates the next.
# IAM is eventually consistent: a new key may be refused for a few seconds
# (IAM User Guide, "Changes that I make are not always immediately visible").
# 1+2+4+8+10+10 = 35 s of waiting at most; the rotation function's timeout covers it.
STS_RETRY_DELAYS: tuple[float, ...] = (1, 2, 4, 8, 10, 10)
_NOT_YET_VISIBLE = {"InvalidClientTokenId", "SignatureDoesNotMatch", "AccessDenied"}


@dataclass
class IamAccessKeyStrategy:
    """At most two keys: delete an inactive one, create, test via STS, deactivate the old one."""

    iam: Any
    sts_for_key: Callable[[str, str], Any]
    sleep: Callable[[float], None] = time.sleep
    retry_delays: tuple[float, ...] = field(default=STS_RETRY_DELAYS)

    def _keys(self, user: str) -> list[dict[str, Any]]:
        return list(self.iam.list_access_keys(UserName=user)["AccessKeyMetadata"])

    def create(self, ctx: StepContext) -> dict[str, Any]:
        user = ctx.current["user_name"]
        current_id = ctx.current["access_key_id"]
        previous_id = (ctx.previous or {}).get("access_key_id")
        for key in self._keys(user):
            key_id = key["AccessKeyId"]
            if key_id == current_id:
                continue
            if key["Status"] == "Inactive":
                self.iam.delete_access_key(UserName=user, AccessKeyId=key_id)
                LOG.info("%s: deleted inactive access key %s", ctx.arn, key_id)
            elif key_id == previous_id:
                # Superseded for a whole rotation period and still active (no grace-period
                # retirement ran): the pusher has had all that time to switch; retire it.
                self.iam.update_access_key(UserName=user, AccessKeyId=key_id, Status="Inactive")
                self.iam.delete_access_key(UserName=user, AccessKeyId=key_id)
                LOG.info("%s: retired previous access key %s", ctx.arn, key_id)
            else:
                # The pusher's user belongs to this secret alone and only rotation creates its
                # keys: a key no version holds was issued by a rotation stopped before it
                # stored (or even recorded) it. Nobody can have it; take it back.
                self.iam.update_access_key(UserName=user, AccessKeyId=key_id, Status="Inactive")
                self.iam.delete_access_key(UserName=user, AccessKeyId=key_id)
                LOG.warning(
                    "%s: deleted access key %s, which no version holds (issued by an "
                    "interrupted rotation and never stored)",
                    ctx.arn,
                    key_id,
                )
        created = self.iam.create_access_key(UserName=user)["AccessKey"]
        new = _fresh(ctx.current)
        new.update(
            access_key_id=created["AccessKeyId"], secret_access_key=created["SecretAccessKey"]
        )
        return new

    def issued_id(self, doc: dict[str, Any]) -> str | None:
        return str(doc.get("access_key_id") or "") or None

    def revoke(self, ctx: StepContext, issued_id: str) -> None:
        try:
            self.iam.delete_access_key(UserName=ctx.current["user_name"], AccessKeyId=issued_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchEntity":
                raise

    def discard(self, ctx: StepContext, new: dict[str, Any]) -> None:
        self.iam.delete_access_key(UserName=new["user_name"], AccessKeyId=new["access_key_id"])

    def find_issued(self, ctx: StepContext, label: str) -> list[str]:
        return []  # IAM keys carry no label: ``create`` deletes every key no version holds

    def set(self, ctx: StepContext) -> None:
        assert ctx.pending is not None
        statuses = {k["AccessKeyId"]: k["Status"] for k in self._keys(ctx.pending["user_name"])}
        if statuses.get(ctx.pending["access_key_id"]) != "Active":
            raise RotationError(
                f"{ctx.arn}: pending access key {ctx.pending['access_key_id']} is not active on "
                f"{ctx.pending['user_name']}; cancel this rotation and rotate again"
            )

    def test(self, ctx: StepContext) -> None:
        assert ctx.pending is not None
        pending = ctx.pending
        suffix = f"/{pending['user_name']}"
        last = "no attempt"
        for delay in (*self.retry_delays, None):
            try:
                sts = self.sts_for_key(pending["access_key_id"], pending["secret_access_key"])
                arn = sts.get_caller_identity()["Arn"]
                if arn.endswith(suffix) and ":user/" in arn:
                    return
                last = f"the key identifies as {arn}"
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code not in _NOT_YET_VISIBLE:
                    raise
                last = f"STS answered {code}"
            except BotoCoreError as exc:
                last = type(exc).__name__
            if delay is not None:
                self.sleep(delay)
        raise RotationError(
            f"{ctx.arn}: new access key {pending['access_key_id']} was not accepted by "
            f"sts:GetCallerIdentity as user {pending['user_name']} ({last})"
        )

    def finished(self, ctx: StepContext) -> None:
        # The previous key stays active: an external pusher switches to the new key only
        # when it next reads its secret, and deactivating now would take it down. The next
        # rotation's createSecret retires it (or ``retire_previous`` once it went unused).
        return None

    def retire_previous(self, ctx: StepContext, *, grace_seconds: float, now: float) -> str:
        """Deactivate AWSPREVIOUS's key once unused for ``grace_seconds``; say what happened.

        IAM records when a key was last used (GetAccessKeyLastUsed, IAM API Reference);
        a key used within the grace period, or never since its successor became current
        and the grace has not passed, stays active.
        """
        old = ctx.previous
        if not old or old.get("bootstrap") or not old.get("access_key_id"):
            return "no previous key"
        user, old_id = old["user_name"], old["access_key_id"]
        status = {k["AccessKeyId"]: k for k in self._keys(user)}.get(old_id)
        if status is None or status["Status"] != "Active":
            return f"previous key {old_id} is already inactive or gone"
        used = self.iam.get_access_key_last_used(AccessKeyId=old_id)["AccessKeyLastUsed"]
        last = used.get("LastUsedDate") or status.get("CreateDate")
        last_seconds = last.timestamp() if last is not None else now
        if now - last_seconds < grace_seconds:
            return f"previous key {old_id} was used {now - last_seconds:.0f}s ago; kept active"
        self.iam.update_access_key(UserName=user, AccessKeyId=old_id, Status="Inactive")
        LOG.info(
            "%s: deactivated previous access key %s (unused for the grace period)", ctx.arn, old_id
        )
        return f"deactivated previous key {old_id}"


class SnowflakeKeyPairStrategy:
    """Alternate between a Snowflake user's two public-key slots, like the Salesforce apps.

    A Snowflake user holds two public keys (``RSA_PUBLIC_KEY`` and ``RSA_PUBLIC_KEY_2``) and
    accepts a JWT signed by either (Snowflake docs, "Key-pair authentication and key-pair
    rotation"). createSecret makes a new key for the slot not in use; setSecret writes its
    public key there with the current key (``ALTER USER ... SET RSA_PUBLIC_KEY_2``);
    testSecret signs in with the new key; finishSecret moves AWSCURRENT. The old key keeps
    working until the next rotation overwrites its slot.
    """

    def __init__(self, snowflake: SnowflakeClient) -> None:
        self.snowflake = snowflake

    def create(self, ctx: StepContext) -> dict[str, Any]:
        slot = "2" if ctx.current["slot"] == "1" else "1"
        private_pem, _ = generate_key_pair()
        new = _fresh(ctx.current)
        new.update(
            slot=slot,
            private_key_pem=private_pem,
            public_key_fingerprint=public_key_fingerprint(private_pem),
        )
        return new

    def issued_id(self, doc: dict[str, Any]) -> str | None:
        return None  # the key pair is made here; nothing is issued elsewhere

    def revoke(self, ctx: StepContext, issued_id: str) -> None:
        return None

    def discard(self, ctx: StepContext, new: dict[str, Any]) -> None:
        return None  # nothing reached Snowflake yet

    def find_issued(self, ctx: StepContext, label: str) -> list[str]:
        return []

    def set(self, ctx: StepContext) -> None:
        assert ctx.pending is not None
        statement = set_public_key_statement(ctx.pending)
        if ctx.current.get("bootstrap"):
            LOG.warning(
                "%s: AWSCURRENT is the bootstrap placeholder; an administrator runs %s "
                "(public key %s) once (see formats.py)",
                ctx.arn,
                statement.split(" = ")[0],
                ctx.pending["public_key_fingerprint"],
            )
            return
        self.snowflake.execute(ctx.current, statement)
        LOG.info(
            "%s: set public key %s in slot %s of %s",
            ctx.arn,
            ctx.pending["public_key_fingerprint"],
            ctx.pending["slot"],
            ctx.pending["user"],
        )

    def test(self, ctx: StepContext) -> None:
        assert ctx.pending is not None
        try:
            user = self.snowflake.current_user(ctx.pending)
        except CredentialRejected:
            if not ctx.current.get("bootstrap"):
                raise
            raise BootstrapRequired(
                f"{ctx.arn}: Snowflake does not accept the new key yet. An administrator runs "
                f"the AWSPENDING version's `{set_public_key_statement(ctx.pending).split(' = ')[0]}"
                f" = '<its public key>'` (fingerprint {ctx.pending['public_key_fingerprint']}; "
                "derive the public key from private_key_pem, which never leaves AWS, with "
                "`openssl rsa -pubout`); the retried rotation then completes."
            ) from None
        if user.upper() != str(ctx.pending["user"]).upper():
            raise RotationError(
                f"{ctx.arn}: the new key signed in as {user}, expected {ctx.pending['user']}"
            )

    def finished(self, ctx: StepContext) -> None:
        return None  # the demoted slot keeps its key until the next rotation's setSecret


class BasicTokenStrategy(ApiKeyStrategy):
    """User + API token (Zendesk, Jira): a second token while the first stays valid.

    Only where the system issues tokens through its API (Zendesk: ``/api/v2/api_tokens``);
    Atlassian API tokens are made by the user in the account settings, so such a credential
    is rotated by hand (formats.py, "Manual swap").
    """

    SECRET = "api_token"
    ID = "token_id"
    WHAT = "API token"


class ManualSwapStrategy:
    """Refuse, with the steps a person takes, for kinds no API can rotate."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def create(self, ctx: StepContext) -> dict[str, Any]:
        raise ManualRotationRequired(
            f"{ctx.arn}: {self.kind} cannot be rotated by API: {MANUAL_SWAP[self.kind]} "
            "AWSCURRENT is unchanged."
        )

    def issued_id(self, doc: dict[str, Any]) -> str | None:
        return None  # create refuses before anything is issued

    def revoke(self, ctx: StepContext, issued_id: str) -> None:
        return None

    def discard(self, ctx: StepContext, new: dict[str, Any]) -> None:
        return None

    def set(self, ctx: StepContext) -> None:
        self.create(ctx)

    def find_issued(self, ctx: StepContext, label: str) -> list[str]:
        return []

    def test(self, ctx: StepContext) -> None:
        self.create(ctx)

    def finished(self, ctx: StepContext) -> None:
        return None
