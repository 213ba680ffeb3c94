"""`provisioner build`: build the Lambda bundles the program deploys, once per content, and
the policy pack as a folder that runs or publishes on its own."""

from __future__ import annotations

import argparse
import json

from provisioner.errors import EXIT_OK, UsageError
from provisioner.pack_build import PACK_VIRTUALENV
from provisioner.paths import BUILT_POLICY_PACK_DIR, POLICY_PACK_DIR, PROJECT_ROOT

NAME = "build"
ORDER = 5
_PACK = BUILT_POLICY_PACK_DIR.relative_to(PROJECT_ROOT)
HELP = "build the Lambda bundles (functions/, secrets/) and the policy pack into .build/"
DESCRIPTION = f"""\
Install each bundle's pinned requirements for the Lambda runtime with pip and zip them
with the bundle's sources and a copy of contract/ (the names the functions share with the
components) into .build/<folder>-<hash>.zip, reproducibly. A zip whose sources, contract/
and pins are unchanged is reused without pip. The Pulumi program only reads these zips (a
preview needs no package registry); run this after changing functions/, secrets/ or
contract/, before `pulumi preview` or `pulumi up`. `make setup` runs it; plan, check,
rehearse, report, preview and up run it themselves.

The policy pack is copied from {POLICY_PACK_DIR.name}/ into {_PACK}/ with its own copy of
contract/ and a PulumiPolicy.yaml whose virtualenv is {_PACK}/{PACK_VIRTUALENV} (make it
from {_PACK}/requirements.txt), so the folder runs and publishes alone:
`pulumi policy publish` from it, or `pulumi preview --policy-pack {_PACK}`. Files are
rewritten only when their sources changed; check, rehearse, promote and report bring it up
to date before they start the pack.

Exit 0 when every bundle is built, 2 when pip or the registry fails.
"""


def register(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import add_json_argument

    add_json_argument(parser)


def run(args: argparse.Namespace) -> int:
    from provisioner.bundles import BUNDLES, BundleBuildError, build_all
    from provisioner.pack_build import build_pack

    try:
        paths = build_all()
    except BundleBuildError as err:
        raise UsageError(str(err)) from None
    built = dict(zip(BUNDLES, (str(p) for p in paths), strict=True))
    pack = str(build_pack())
    if args.json:
        print(json.dumps({"bundles": built, "policy_pack": pack}, indent=2))
    else:
        for folder, path in built.items():
            print(f"{folder}/ ({BUNDLES[folder]}): {path}")
        print(f"{POLICY_PACK_DIR.name}/ (policy pack): {pack}")
    return EXIT_OK
