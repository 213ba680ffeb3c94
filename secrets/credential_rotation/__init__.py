"""Secrets Manager rotation for integration credentials (Lambda bundle ``secrets/``).

Lambda imports ``credential_rotation.handler.lambda_handler``. The package holds:

- ``formats``: the JSON shape of each credential kind's ``SecretString``;
- ``clients``: small interfaces to the issuing systems, with HTTP implementations;
- ``strategies``: what each of the four rotation steps does per kind;
- ``handler``: the Secrets Manager rotation contract and the Lambda entry point;
- ``redact``: keeps secret material out of logs and exception messages.
"""
