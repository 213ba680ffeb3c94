"""Rotation by two slots: a new key pair made here goes into the slot not in use.

Nothing is asked of an issuer before setSecret, so nothing is issued to record, revoke or
find (``NothingIssued``); the key in use is never touched.

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

Snowflake key pairs: two public-key slots per user
    As Salesforce's two apps: the new key goes into the slot not in use, is tested,
    then becomes current; the old slot is overwritten by the next rotation.
"""

from __future__ import annotations

from typing import Any

from credential_rotation.clients import CredentialRejected
from credential_rotation.keys import (
    certificate_fingerprint,
    generate_key_and_certificate,
    generate_key_pair,
    public_key_fingerprint,
)
from credential_rotation.redact import get_logger
from credential_rotation.slot_clients import (
    SalesforceClient,
    SnowflakeClient,
    set_public_key_statement,
)
from credential_rotation.strategies import (
    BootstrapRequired,
    NothingIssued,
    RotationError,
    StepContext,
    fresh,
)

__all__ = ["SalesforceJwtStrategy", "SnowflakeKeyPairStrategy"]

LOG = get_logger()


class SalesforceJwtStrategy(NothingIssued):
    """Alternate between two connected apps so one always holds a working certificate."""

    def __init__(self, salesforce: SalesforceClient) -> None:
        self.salesforce = salesforce

    def create(self, ctx: StepContext) -> dict[str, Any]:
        slot = "b" if ctx.current["slot"] == "a" else "a"
        private_pem, certificate_pem = generate_key_and_certificate(
            f"{ctx.current['username']} rotation {slot}"
        )
        new = fresh(ctx.current)
        new.update(
            slot=slot,
            client_id=ctx.current["client_ids"][slot],
            private_key_pem=private_pem,
            certificate_pem=certificate_pem,
        )
        return new

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


class SnowflakeKeyPairStrategy(NothingIssued):
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
        new = fresh(ctx.current)
        new.update(
            slot=slot,
            private_key_pem=private_pem,
            public_key_fingerprint=public_key_fingerprint(private_pem),
        )
        return new

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
