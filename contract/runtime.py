"""The Lambda runtime every function of the project runs on, defined once.

The components set it on each function, the bundle builder installs wheels for it, and
the tests that import a built bundle read it. Change it here and rebuild
(`provisioner build`).

Usage::

    aws.lambda_.Function(..., runtime=RUNTIME, architectures=[ARCHITECTURE])
"""

from __future__ import annotations

__all__ = ["ARCHITECTURE", "PIP_PLATFORMS", "PYTHON_VERSION", "RUNTIME"]

# python3.12 runs on Amazon Linux 2023; python3.11 and older run on Amazon Linux 2, whose
# Lambda base is deprecated on 2027-06-30 (Lambda developer guide, "Lambda runtimes":
# https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html).
RUNTIME = "python3.12"
PYTHON_VERSION = "3.12"

# Graviton (arm64) costs less per GB-second than x86_64 (AWS Lambda pricing); every
# dependency of the bundles ships aarch64 wheels or is pure Python.
ARCHITECTURE = "arm64"

# Wheels Amazon Linux 2023 (glibc 2.34) on aarch64 can load, newest first (PEP 600).
PIP_PLATFORMS: tuple[str, ...] = (
    "manylinux_2_34_aarch64",
    "manylinux_2_28_aarch64",
    "manylinux2014_aarch64",
)
