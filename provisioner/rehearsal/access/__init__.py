"""The access matrix and the evaluation behind it: each integration's principals reach their
own resources and nobody else's.

- ``identity``: a principal's credentials (``assume``) and identity policies, read back from
  the emulator (one principal's, or all at once: ``IdentityPolicies``), and a client that
  signs as each principal in turn (``SigningClient``);
- ``evaluation``: whether policies allow an action on a resource (``evaluate``) or could
  under any context (``could_allow``), statement by statement with moto's evaluator;
- ``matrix``: the checks, SQS live and evaluated, Secrets Manager, KMS and DynamoDB
  evaluated;
- ``calls``: each call a principal makes, evaluated on the resource it names
  (``EvaluatedCalls``; the emulator's recorder refuses what it denies).

Usage::

    from provisioner.rehearsal.access import assume, evaluated_matrix, sqs_matrix

    checks = sqs_matrix(aws, inventory) + evaluated_matrix(aws, inventory)
"""

from provisioner.rehearsal.access.calls import EvaluatedCalls
from provisioner.rehearsal.access.evaluation import could_allow, evaluate
from provisioner.rehearsal.access.identity import (
    Credentials,
    IdentityPolicies,
    SigningClient,
    assume,
    identity_policies,
    role_policies,
)
from provisioner.rehearsal.access.matrix import evaluated_matrix, sqs_matrix

__all__ = [
    "Credentials",
    "EvaluatedCalls",
    "IdentityPolicies",
    "SigningClient",
    "assume",
    "could_allow",
    "evaluate",
    "evaluated_matrix",
    "identity_policies",
    "role_policies",
    "sqs_matrix",
]
