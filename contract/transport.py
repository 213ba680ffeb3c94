"""The statement that refuses every request over plain HTTP.

The components put it in every bucket and queue policy, the policy pack requires it and
quotes it in the fix it names, so it is written once, here.
"""

from __future__ import annotations

from typing import Any

__all__ = ["deny_insecure_transport"]


def deny_insecure_transport(service: str, resource: Any) -> dict[str, Any]:
    """Deny every ``{service}:*`` action on ``resource`` (an ARN, a list of them, or a
    placeholder) to everyone when the request is not made over TLS: only such a Deny keeps
    every client, whatever it holds, off plain HTTP (Amazon S3 User Guide, "Enforce
    encryption in transit"; Amazon SQS Developer Guide, "Amazon SQS security best
    practices")."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": f"{service}:*",
        "Resource": resource,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
