"""Defence in depth: every integration's logs, environments, topics and secrets under its key
and fence; failed scheduled runs kept; protected tables undeletable.

Stack policies, because each judges a resource against another of the same integration
(the key it names, the role its fence admits, the queue its failures go to):

- `encrypted-with-own-key`: a log group, function environment or topic without the
  integration's own key;
- `key-grants-needed-services`: a key policy granting a service its resources do not need,
  unbound to them, or missing one they need;
- `secret-fenced`: a secret without a resource policy that shuts out every other
  principal, or one that locks out its rotator or its administrator;
- `async-failure-destination`: a function invoked asynchronously without an alarmed
  on-failure queue and deliberate retries;
- `dynamodb-table-resilience`: a state table without on-demand capacity, point-in-time
  recovery or (where the stack protects it) deletion protection;
- `resource-policies-not-public`: a key, queue, topic or secret policy allowing everyone;
- `lambda-supported-runtime`: a function on a runtime Lambda no longer supports;
- `public-url-reserved-concurrency`: a function behind a public function URL without its
  own reserved concurrency.

`controls.py` maps each AWS Foundational Security Best Practices and CIS control to these
and the pack's other policies.
"""

from __future__ import annotations

from .functions import (
    ASYNC_FAILURE_DESTINATION,
    LAMBDA_SUPPORTED_RUNTIME,
    PUBLIC_URL_RESERVED_CONCURRENCY,
)
from .keys import ENCRYPTED_WITH_OWN_KEY, KEY_GRANTS_NEEDED_SERVICES
from .resource_policies import RESOURCE_POLICIES_NOT_PUBLIC
from .secrets import SECRET_FENCED
from .tables import DYNAMODB_TABLE_RESILIENCE

__all__ = [
    "ASYNC_FAILURE_DESTINATION",
    "DYNAMODB_TABLE_RESILIENCE",
    "ENCRYPTED_WITH_OWN_KEY",
    "HARDENING_POLICIES",
    "KEY_GRANTS_NEEDED_SERVICES",
    "LAMBDA_SUPPORTED_RUNTIME",
    "PUBLIC_URL_RESERVED_CONCURRENCY",
    "RESOURCE_POLICIES_NOT_PUBLIC",
    "SECRET_FENCED",
]

HARDENING_POLICIES = [
    ENCRYPTED_WITH_OWN_KEY,
    KEY_GRANTS_NEEDED_SERVICES,
    SECRET_FENCED,
    ASYNC_FAILURE_DESTINATION,
    DYNAMODB_TABLE_RESILIENCE,
    RESOURCE_POLICIES_NOT_PUBLIC,
    LAMBDA_SUPPORTED_RUNTIME,
    PUBLIC_URL_RESERVED_CONCURRENCY,
]
