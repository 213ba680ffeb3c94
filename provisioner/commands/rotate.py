"""`provisioner rotate`: rotate an integration's credentials now, in a deployed stack."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from provisioner.deployed import DeployedIntegration, add_target_arguments
from provisioner.errors import EXIT_FAILED, EXIT_OK, UsageError

NAME = "rotate"
ORDER = 70
HELP = "rotate an integration's credentials now in a deployed stack"
DESCRIPTION = """\
Ask Secrets Manager to rotate each credential of INTEGRATION (or only --credential NAME)
in the deployed STACK with its own rotation function, wait until the function has run its
four steps (the new version AWSCURRENT, no longer AWSPENDING), then read the new version
and test it the way the function's testSecret does (JWT exchange, token request, key
check, STS GetCallerIdentity). A version that became current without a readable, new
credential is a failure; a credential that cannot be tested from here (issuer not
reachable) is reported as not verified. The previous version stays AWSPREVIOUS, so the
running integration keeps its working credential and the next attempt resumes.

With --manual, for a credential whose rotation mode is manual (`plan` shows it: its
vendor issues the next one only in its console, or the roadmap says `rotation: manual`):
pipe the newly issued value in on standard input (never as an argument; typed at a
terminal it is not echoed; a bare value replaces the kind's secret field, a JSON object
replaces the fields it names). It is stored as AWSPENDING, that stored version is tested
against the vendor's API with the integration's connector (at --base-url, default the
system's api.base_url in the roadmap), then made AWSCURRENT; the old value stays
AWSPREVIOUS: revoke it in the vendor's console afterwards. If the vendor refuses it, or any
step fails, AWSCURRENT is unchanged and nothing stays AWSPENDING.

Needs AWS credentials for the stack's account, or --endpoint-url (default:
$AWS_ENDPOINT_URL) for an emulator; the caller's account (STS GetCallerIdentity) must be
the stack's before anything else is called.
Exit 0 when every rotation completed, 1 when one failed, 2 for usage errors.
"""


def register(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import positive_seconds

    add_target_arguments(parser)
    parser.add_argument("--credential", default=None, help="rotate only this credential")
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=600.0,
        metavar="SECONDS",
        help="seconds to wait per rotation (600)",
    )
    parser.add_argument(
        "--manual",
        action="store_true",
        help="store a vendor-issued credential read from standard input, test it, promote it",
    )
    parser.add_argument(
        "--base-url",
        default=None,
        metavar="URL",
        help="with --manual: the vendor API to test against (default: the roadmap's base_url)",
    )


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from provisioner.rotate import RotationFailed, rotate_now, verify_credential

    target = DeployedIntegration.from_args(args, min_phase=2)
    credentials = [c for c in target.integration.credentials if args.credential in (None, c.name)]
    if not credentials:
        known = ", ".join(c.name for c in target.integration.credentials)
        raise UsageError(f"{args.integration} has no credential {args.credential!r} ({known})")
    if args.manual:
        return _manual(args, target, credentials)

    results = []
    failed = False
    verify = verify_credential(target.session.session, target.session.endpoint_url)
    for cred in credentials:
        secret = target.physical(f"cred-{cred.name}")
        try:
            done = rotate_now(
                secret,
                session=target.session,
                timeout_seconds=args.timeout,
                verify=verify,
                progress=_progress,
            )
            results.append(
                {
                    "credential": cred.name,
                    "secret": secret,
                    "ok": True,
                    "version": done.version_id,
                    "seconds": round(done.seconds, 1),
                    "verified": done.verified,
                    "verification": done.verification,
                }
            )
        except (RotationFailed, ClientError, BotoCoreError) as err:
            failed = True
            results.append(
                {"credential": cred.name, "secret": secret, "ok": False, "error": str(err)}
            )
    if args.json:
        print(
            json.dumps(
                {"stack": args.stack, "integration": args.integration, "rotations": results},
                indent=2,
            )
        )
    else:
        for r in results:
            if r["ok"]:
                verdict = "verified" if r["verified"] else "NOT VERIFIED"
                print(
                    f"rotated {r['secret']}: version {r['version']} is AWSCURRENT "
                    f"({r['seconds']}s); {verdict}: {r['verification']}"
                )
            else:
                print(f"FAILED  {r['secret']}: {r['error']}")
    return EXIT_FAILED if failed else EXIT_OK


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _manual(args: argparse.Namespace, target: DeployedIntegration, credentials: list[Any]) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from provisioner.manual_rotation import read_new_credential, rotate_manually, vendor_test
    from provisioner.rotate import RotationFailed

    roadmap = target.context.roadmap
    manual = [c for c in credentials if roadmap.rotation_mode(c) == "manual"]
    if len(manual) != 1 or (len(credentials) != 1 and args.credential is None):
        modes = ", ".join(f"{c.name}: {roadmap.rotation_mode(c)}" for c in credentials)
        raise UsageError(
            "--manual rotates one credential whose rotation mode is manual; name it with "
            f"--credential ({modes})"
        )
    (cred,) = manual
    system = roadmap.system(cred.system)
    base_url = args.base_url or (str(system.api.base_url) if system.api.base_url else "")
    if not base_url and cred.kind.calls_out:
        raise UsageError(f"{system.name} has no api.base_url in the roadmap; pass --base-url")
    secret = target.physical(f"cred-{cred.name}")
    sm = target.client("secretsmanager")
    try:
        current = json.loads(sm.get_secret_value(SecretId=secret)["SecretString"])
        new = read_new_credential(sys.stdin, current)
        # A credential the functions call out with is tested with its connector; one that
        # authenticates calls *to* the integration (a signing secret) has nothing to call.
        test = (
            vendor_test(
                system.connector.name, base_url.rstrip("/"), target.integration.field_mapping()
            )
            if cred.kind.calls_out
            else _unchecked
        )
        done = rotate_manually(secret, new, session=target.session, test=test)
    except (RotationFailed, ClientError, BotoCoreError) as err:
        if args.json:
            print(
                json.dumps(
                    {"credential": cred.name, "secret": secret, "ok": False, "error": str(err)}
                )
            )
        else:
            print(f"FAILED  {secret}: {err}")
        return EXIT_FAILED
    vendor = system.connector.vendor if system.connector.name != "middleware" else system.vendor
    tested = f"after {vendor} accepted it" if cred.kind.calls_out else "(nothing to call)"
    reminder = (
        f"Now revoke the previous {cred.kind.value} in {vendor}'s console "
        f"(runbook: {target.integration.runbook})."
    )
    if args.json:
        print(
            json.dumps(
                {
                    "credential": cred.name,
                    "secret": secret,
                    "ok": True,
                    "version": done.version_id,
                    "previous_version": done.previous_version_id,
                    "revoke": reminder,
                },
                indent=2,
            )
        )
    else:
        print(
            f"rotated {secret} by hand: version {done.version_id} is AWSCURRENT {tested}; "
            f"the previous one is AWSPREVIOUS.\n{reminder}"
        )
    return EXIT_OK


def _unchecked(_doc: dict[str, Any]) -> None:
    """A signing secret is checked by the sender's next signed call, not by one of ours."""
