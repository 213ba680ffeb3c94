"""`provisioner rotate`: rotate an integration's credentials now, in a deployed stack."""

from __future__ import annotations

import argparse
import json

from provisioner.deployed import DeployedIntegration, add_target_arguments
from provisioner.errors import EXIT_FAILED, EXIT_OK, UsageError

NAME = "rotate"
ORDER = 70
HELP = "rotate an integration's credentials now in a deployed stack"
DESCRIPTION = """\
Ask Secrets Manager to rotate each credential of INTEGRATION (or only --credential NAME)
in the deployed STACK with its own rotation function, and wait until the new version is
AWSCURRENT. The previous version stays AWSPREVIOUS, so nothing is lost if a rotation fails:
the running integration keeps its working credential and the next attempt resumes.

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

    from provisioner.rotate import RotationFailed, rotate_now

    target = DeployedIntegration.from_args(args, min_phase=2)
    credentials = [c for c in target.integration.credentials if args.credential in (None, c.name)]
    if not credentials:
        known = ", ".join(c.name for c in target.integration.credentials)
        raise UsageError(f"{args.integration} has no credential {args.credential!r} ({known})")

    results = []
    failed = False
    for cred in credentials:
        secret = target.physical(f"cred-{cred.name}")
        try:
            done = rotate_now(secret, session=target.session, timeout_seconds=args.timeout)
            results.append(
                {
                    "credential": cred.name,
                    "secret": secret,
                    "ok": True,
                    "version": done.version_id,
                    "seconds": round(done.seconds, 1),
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
                print(
                    f"rotated {r['secret']}: version {r['version']} is AWSCURRENT ({r['seconds']}s)"
                )
            else:
                print(f"FAILED  {r['secret']}: {r['error']}")
    return EXIT_FAILED if failed else EXIT_OK
