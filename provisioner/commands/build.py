"""`provisioner build`: build the Lambda bundles the program deploys, once per content."""

from __future__ import annotations

import argparse
import json

from provisioner.errors import EXIT_OK, UsageError

NAME = "build"
ORDER = 5
HELP = "build the Lambda bundles (functions/, secrets/) into .build/, cached by content hash"
DESCRIPTION = """\
Install each bundle's pinned requirements for the Lambda runtime with pip and zip them
with the bundle's sources into .build/<folder>-<hash>.zip, reproducibly. A zip whose
sources and pins are unchanged is reused without pip. The Pulumi program only reads these
zips (a preview needs no package registry); run this after changing functions/ or
secrets/, before `pulumi preview` or `pulumi up`. `make setup` runs it; plan, check,
rehearse, report, preview and up run it themselves.

Exit 0 when every bundle is built, 2 when pip or the registry fails.
"""


def register(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import add_json_argument

    add_json_argument(parser)


def run(args: argparse.Namespace) -> int:
    from provisioner.bundles import BUNDLES, BundleBuildError, build_all

    try:
        paths = build_all()
    except BundleBuildError as err:
        raise UsageError(str(err)) from None
    built = dict(zip(BUNDLES, (str(p) for p in paths), strict=True))
    if args.json:
        print(json.dumps({"bundles": built}, indent=2))
    else:
        for folder, path in built.items():
            print(f"{folder}/ ({BUNDLES[folder]}): {path}")
    return EXIT_OK
