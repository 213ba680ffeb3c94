"""Assisted manual rotation: a person brings the credential the vendor issued; it is tested, then
promoted.

For credentials whose vendor issues the next one only in its console (rotation mode
``manual``: ``contract/connectors.py``, or ``rotation: manual`` in the roadmap): the new value
comes from standard input (never argv, which other users of the machine and the shell
history can read; typed at a terminal it is not echoed), is stored as the secret's
``AWSPENDING`` version, that stored version is read back and tested against the vendor's
API with the integration's own connector (``authenticate()``), and only then becomes
``AWSCURRENT``, the previous value staying ``AWSPREVIOUS`` until the person revokes it in
the vendor's console. Whatever step fails, AWSCURRENT is the old value and no AWSPENDING is
left behind.

Usage::

    doc = read_new_credential(sys.stdin, current)
    done = rotate_manually(secret_id, doc, session=session, test=vendor_test(connector, url))
"""

from __future__ import annotations

import getpass
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Any

from provisioner.errors import UsageError
from provisioner.rotate import RotationFailed

__all__ = ["ManualRotation", "read_new_credential", "rotate_manually", "vendor_test"]

# The field a bare pasted value replaces, per credential kind (secrets/credential_rotation/
# formats.py); kinds with several secret fields take them as one JSON object.
PRIMARY_FIELD = {
    "api_key": "api_key",
    "oauth_client_credentials": "client_secret",
    "basic_token": "api_token",
    "webhook_signing_secret": "signing_secret",
}


@dataclass(frozen=True)
class ManualRotation:
    secret_id: str
    version_id: str
    previous_version_id: str | None


def read_new_credential(stream: IO[str], current: dict[str, Any]) -> dict[str, Any]:
    """The new secret document: the current one with the pasted value(s) in place.

    At a terminal the value is read without echo; from a pipe, all of standard input. An
    empty value, a change of kind or the current value again is refused (UsageError).
    """
    if stream.isatty():
        text = getpass.getpass("new credential (not echoed): ", stream=None)
    else:
        text = stream.read()
    if not text.strip():
        raise UsageError(
            "no new credential on standard input; pipe it in (never as an argument), e.g. "
            "`pbpaste | provisioner rotate NAME --stack S --manual --credential C`"
        )
    kind = str(current.get("kind", ""))
    try:
        pasted = json.loads(text)
    except json.JSONDecodeError:
        pasted = None
    if isinstance(pasted, dict):
        new = {**current, **pasted}
    elif kind in PRIMARY_FIELD:
        new = {**current, PRIMARY_FIELD[kind]: text.strip()}
        if kind == "webhook_signing_secret" and current.get("signing_secret"):
            # Senders with an overlap sign with both for a while (formats.py).
            new["previous_signing_secret"] = current["signing_secret"]
    else:
        raise UsageError(
            f"a {kind} credential has several secret fields; pipe them in as one JSON object "
            '(e.g. {"token_id": "...", "token_secret": "..."})'
        )
    if new.get("kind") != kind:
        raise UsageError(f"the new credential changes kind from {kind!r}; keep {kind!r}")
    if new == current:
        raise UsageError("that is the current credential; pipe in the newly issued one")
    return new


def rotate_manually(
    secret_id: str,
    new: dict[str, Any],
    *,
    session: Any,
    test: Callable[[dict[str, Any]], None],
) -> ManualRotation:
    """Stage ``new`` as AWSPENDING, test the staged version, promote it.

    A refused or failed test unstages it; a failed promotion leaves AWSCURRENT where it was
    (Secrets Manager moves a stage in one call), so the running integration keeps working.
    """
    sm = session.client("secretsmanager")
    stages = sm.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})
    current = next((v for v, s in stages.items() if "AWSCURRENT" in s), None)
    stale = [v for v, s in stages.items() if "AWSPENDING" in s]
    for version_id in stale:  # an earlier attempt's leftover is never promoted by accident
        sm.update_secret_version_stage(
            SecretId=secret_id, VersionStage="AWSPENDING", RemoveFromVersionId=version_id
        )
    version = str(uuid.uuid4())
    sm.put_secret_value(
        SecretId=secret_id,
        ClientRequestToken=version,
        SecretString=json.dumps(new),
        VersionStages=["AWSPENDING"],
    )
    try:
        staged = json.loads(
            sm.get_secret_value(SecretId=secret_id, VersionStage="AWSPENDING")["SecretString"]
        )
        test(staged)
    except Exception as err:
        sm.update_secret_version_stage(
            SecretId=secret_id, VersionStage="AWSPENDING", RemoveFromVersionId=version
        )
        # The connector's errors name the call and the vendor's answer, never the secret.
        raise RotationFailed(
            f"the vendor refused the new credential ({type(err).__name__}: {err}); "
            f"{secret_id} keeps its current credential, nothing was changed"
        ) from None
    try:
        sm.update_secret_version_stage(
            SecretId=secret_id,
            VersionStage="AWSCURRENT",
            MoveToVersionId=version,
            RemoveFromVersionId=current,
        )
    finally:
        sm.update_secret_version_stage(
            SecretId=secret_id, VersionStage="AWSPENDING", RemoveFromVersionId=version
        )
    return ManualRotation(secret_id, version, current)


def vendor_test(
    connector: str, base_url: str, mapping: Mapping[str, Any] | None = None
) -> Callable[[dict[str, Any]], None]:
    """A check that a credential document authenticates through the named connector."""

    def test(doc: dict[str, Any]) -> None:
        import sys

        from provisioner.paths import FUNCTIONS_BUNDLE

        if str(FUNCTIONS_BUNDLE) not in sys.path:
            sys.path.insert(0, str(FUNCTIONS_BUNDLE))
        from integration_sync.clients import ApiClient
        from integration_sync.config import parse_field_mapping
        from integration_sync.connectors import connector_class
        from integration_sync.credentials import SecretAuth

        class _Staged(SecretAuth):
            """The staged version read back, never the version the integration runs on."""

            def secret(self) -> dict[str, Any]:
                return doc

            def _secret(self) -> dict[str, Any]:
                return doc

        objects = parse_field_mapping(json.dumps(dict(mapping or {})))
        api = ApiClient(base_url, auth=_Staged("AWSPENDING"), max_attempts=2)
        connector_class(connector)(api, objects).authenticate()

    return test
