"""What in the user's AWS environment variables would stop an AWS client from being made."""

from __future__ import annotations

import os

__all__ = ["endpoint_problem"]


def endpoint_problem(environ: dict[str, str] | None = None) -> str | None:
    """The first AWS_ENDPOINT_URL[_<SERVICE>] that botocore would refuse, as a fix, or None."""
    from botocore.utils import is_valid_endpoint_url, is_valid_ipv6_endpoint_url

    env = os.environ if environ is None else environ
    for name in sorted(
        k for k in env if k == "AWS_ENDPOINT_URL" or k.startswith("AWS_ENDPOINT_URL_")
    ):
        value = env[name]
        if value and not (is_valid_endpoint_url(value) or is_valid_ipv6_endpoint_url(value)):
            return (
                f"{name}={value!r} is not a URL an AWS client accepts; set it to the "
                f"endpoint's full URL (e.g. http://127.0.0.1:4566) or unset it to use AWS"
            )
    return None
