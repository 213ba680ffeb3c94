"""What each rotation step does for each credential kind, and what every strategy shares.

The strategies whose key is made here and written into one of two slots (Salesforce JWT
bearer, Snowflake key pairs) are in ``slots.py``; IAM access keys in ``iam_keys.py``.

OAuth client credentials and API keys: two live secrets, retire on the next cycle
    createSecret first revokes the AWSPREVIOUS secret (it has been superseded for
    a whole rotation period, and issuers commonly allow only two), then asks the
    issuer for a new one while the current stays valid; setSecret checks the
    issuer holds it; testSecret uses it; finishSecret moves AWSCURRENT and leaves
    the old one valid for callers that cached it.

Basic tokens: as API keys, presented as the password of HTTP Basic auth.

NetSuite TBA and webhook signing secrets: refused (``ManualSwapStrategy``)
    Only the vendor's UI issues the next one; the refusal names the steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from credential_rotation.clients import ApiKeyIssuer, OAuthIssuer
from credential_rotation.formats import MANUAL_SWAP
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


def fresh(doc: dict[str, Any]) -> dict[str, Any]:
    """Copy a document for the next version: a rotated secret is never a bootstrap placeholder."""
    new = dict(doc)
    new.pop("bootstrap", None)
    return new


def require_enrolled(ctx: StepContext, what: str) -> None:
    if ctx.current.get("bootstrap"):
        raise BootstrapRequired(
            f"{ctx.arn}: AWSCURRENT is the bootstrap placeholder, which the issuing system "
            f"does not know, so it cannot ask for a new {what}. Put the first issued "
            "credential with `aws secretsmanager put-secret-value` (shape in "
            'credential_rotation/formats.py, without "bootstrap"), then rotate once so '
            "the hand-carried value is replaced."
        )


def require_pending_held(
    ctx: StepContext, held: Callable[[dict[str, Any], str], bool], what: str, id_field: str
) -> None:
    """setSecret: the issuer must still hold the pending credential it issued in createSecret."""
    assert ctx.pending is not None
    if not held(ctx.current, ctx.pending[id_field]):
        raise RotationError(
            f"{ctx.arn}: the issuer no longer holds pending {what} {ctx.pending[id_field]}; "
            "cancel this rotation (remove AWSPENDING from the version) and rotate again"
        )


class NothingIssued:
    """The no-ops of a strategy that asks no issuer for anything: its key pair is made in
    ``create`` (or ``create`` refuses), so there is nothing to record, revoke or find, and
    the superseded credential stays valid until the next rotation overwrites it."""

    def issued_id(self, doc: dict[str, Any]) -> str | None:
        return None

    def revoke(self, ctx: StepContext, issued_id: str) -> None:
        return None

    def discard(self, ctx: StepContext, new: dict[str, Any]) -> None:
        return None

    def find_issued(self, ctx: StepContext, label: str) -> list[str]:
        return []

    def finished(self, ctx: StepContext) -> None:
        return None


class OAuthClientCredentialsStrategy:
    """Issue a second client secret, test it, retire the superseded one on the next cycle."""

    def __init__(self, issuer: OAuthIssuer) -> None:
        self.issuer = issuer

    def create(self, ctx: StepContext) -> dict[str, Any]:
        require_enrolled(ctx, "client secret")
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
        new = fresh(ctx.current)
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
        require_pending_held(ctx, self.issuer.secret_exists, "client secret", "client_secret_id")

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
        require_enrolled(ctx, self.WHAT)
        prev = ctx.previous
        if prev and not prev.get("bootstrap") and prev[self.ID] not in ("", ctx.current[self.ID]):
            self.issuer.revoke_key(ctx.current, prev[self.ID])
            LOG.info("%s: revoked superseded %s %s", ctx.arn, self.WHAT, prev[self.ID])
        issued = self.issuer.create_key(ctx.current, label=ctx.label)
        new = fresh(ctx.current)
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
        require_pending_held(ctx, self.issuer.key_exists, self.WHAT, self.ID)

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


class BasicTokenStrategy(ApiKeyStrategy):
    """User + API token (Zendesk, Jira): a second token while the first stays valid.

    Only where the system issues tokens through its API (Zendesk: ``/api/v2/api_tokens``);
    Atlassian API tokens are made by the user in the account settings, so such a credential
    is rotated by hand (formats.py, "Manual swap").
    """

    SECRET = "api_token"
    ID = "token_id"
    WHAT = "API token"


class ManualSwapStrategy(NothingIssued):
    """Refuse, with the steps a person takes, for kinds no API can rotate."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def create(self, ctx: StepContext) -> dict[str, Any]:
        raise ManualRotationRequired(
            f"{ctx.arn}: {self.kind} cannot be rotated by API: {MANUAL_SWAP[self.kind]} "
            "AWSCURRENT is unchanged."
        )

    def set(self, ctx: StepContext) -> None:
        self.create(ctx)

    def test(self, ctx: StepContext) -> None:
        self.create(ctx)
