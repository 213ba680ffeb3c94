"""The principal deploying the stack, as IAM names it in `aws:PrincipalArn`.

Resource policies that fence an integration's secrets keep one administrator: whoever
runs `pulumi up`. A role session's caller ARN (`arn:aws:sts::…:assumed-role/deploy/ci`)
is not what IAM compares in `aws:PrincipalArn`; that is the role's own ARN, path included
(IAM user guide, "AWS global condition context keys", aws:PrincipalArn), which
`aws.iam.get_session_context` returns as the issuer.

Usage::

    deploying_principal()  # 'arn:aws:iam::123456789012:role/deploy'
"""

from __future__ import annotations

import pulumi_aws as aws

__all__ = ["deploying_principal"]


def deploying_principal() -> str:
    """The ARN of the IAM role or user the engine deploys as."""
    caller = aws.get_caller_identity().arn
    return aws.iam.get_session_context(arn=caller).issuer_arn
