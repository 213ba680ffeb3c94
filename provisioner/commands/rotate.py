"""`provisioner rotate`: rotate an integration's credentials now, in a deployed stack."""

from __future__ import annotations

import argparse
import json
import sys

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


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from provisioner.rotate import RotationFailed, rotate_now, verify_credential

    target = DeployedIntegration.from_args(args, min_phase=2)
    credentials = [c for c in target.integration.credentials if args.credential in (None, c.name)]
    if not credentials:
        known = ", ".join(c.name for c in target.integration.credentials)
        raise UsageError(f"{args.integration} has no credential {args.credential!r} ({known})")

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
