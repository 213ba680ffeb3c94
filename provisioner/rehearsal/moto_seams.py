"""Where the rehearsal leans on moto's internals (checked against moto 5.2.5, the pinned one).

Bucket policies. moto judges a bucket policy with its IAM evaluator but passes it no request
context, and that evaluator does not know the `Bool` operator: a statement under `Bool`
matches every request. So the TLS-only Deny every stage bucket carries
(`aws:SecureTransport` "false": S3 user guide, "Enforce encryption in transit") would refuse
every call, where S3 refuses only plain-HTTP ones. The emulator's HTTP is its own transport:
the deployed functions reach S3 over TLS (the AWS SDK's default), so their requests are
judged as `aws:SecureTransport` "true" and such a Deny does not apply to them. Every other
statement is judged by moto as before. docs/moto-differences.md lists this difference.

Function code. moto keeps each function's zip twice, decoded (``code_bytes``) and as the
request's base64 text (``code["ZipFile"]``), and every function of an integration ships
one of the same two bundles (~7 MB each): memory grew by ~16 MB a function, 3.4 GB for a
40-integration roadmap. Equal zips now share one decoded copy (with its size and SHA-256,
which moto reports as before) and the base64 text, which nothing reads after creation
(``LambdaFunction.get_code`` answers from ``S3Key``), is dropped.

Usage::

    install()  # once, before the emulator serves S3
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["install", "judged_bucket_policy"]

# Decoded zips by their base64 text (moto.awslambda.models._zipfile_content's result).
_ZIPS: dict[str, tuple[bytes, int, str, str]] = {}

_INSTALLED = False


def _denies_plain_http_only(statement: dict[str, Any]) -> bool:
    condition = statement.get("Condition")
    if statement.get("Effect") != "Deny" or not isinstance(condition, dict):
        return False
    if set(condition) != {"Bool"} or not isinstance(condition["Bool"], dict):
        return False
    values = {k.lower(): v for k, v in condition["Bool"].items()}
    value = values.get("aws:securetransport")
    return set(values) == {"aws:securetransport"} and str(value).lower() == "false"


def judged_bucket_policy(policy: str) -> str:
    """The bucket policy as it applies to a request over TLS: TLS-only Denies dropped."""
    document = json.loads(policy)
    found = document.get("Statement", [])
    statements = found if isinstance(found, list) else [found]
    kept = [s for s in statements if not _denies_plain_http_only(s)]
    return json.dumps({**document, "Statement": kept})


def install() -> None:
    """Judge bucket policies as for TLS requests, keep one copy of equal function code
    (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    _judge_bucket_policies_as_tls()
    _share_function_code()
    _INSTALLED = True


def _judge_bucket_policies_as_tls() -> None:
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        judged = judged_bucket_policy(self.policy.decode())
        return IAMPolicy(judged).is_action_permitted(action, resource)

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


def _share_function_code() -> None:
    from moto.awslambda import models

    decode = models._zipfile_content
    set_code = models.LambdaFunction._set_function_code

    def shared(content: str | bytes) -> tuple[bytes, int, str, str]:
        key = content if isinstance(content, str) else content.decode("ascii", "replace")
        if key not in _ZIPS:
            _ZIPS[key] = decode(content)
        return _ZIPS[key]

    def set_function_code(self: Any, updated_spec: dict[str, Any]) -> None:
        set_code(self, updated_spec)
        self.code.pop("ZipFile", None)

    models._zipfile_content = shared  # type: ignore[assignment]
    models.LambdaFunction._set_function_code = set_function_code  # type: ignore[method-assign]
