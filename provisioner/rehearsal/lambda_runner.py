"""Runs a deployed function's handler as Lambda would: its code, its environment, its role.

Usage::

    response, printed = run_handler(event, deployed_environment(deployment, consumer),
                                    creds, deployment, target_url, module="consumer")
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from provisioner.sdk_seams import clear_powertools_providers

if TYPE_CHECKING:
    from provisioner.rehearsal.runner import Deployment

__all__ = ["deployed_environment", "run_handler"]

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"


def deployed_environment(deployment: Deployment, function: Any) -> dict[str, str]:
    """The environment variables a deployed function got from the program."""
    configuration = deployment.aws.client("lambda").get_function_configuration(
        FunctionName=function.outputs["name"]
    )
    return dict(configuration.get("Environment", {}).get("Variables", {}))


class _Context:
    """The parts of the Lambda context the consumer reads (deadline, names)."""

    function_name = "rehearsal-consumer"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:111111111111:function:rehearsal-consumer"
    aws_request_id = "rehearsal"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def run_handler(
    event: dict[str, Any],
    function_env: dict[str, str],
    creds: dict[str, str],
    deployment: Deployment,
    target_url: str,
    *,
    module: str = "consumer",
    urls: dict[str, str] | None = None,
) -> tuple[dict[str, Any], str]:
    """Run ``integration_sync.<module>.handler`` in-process as the Lambda would; restore after.

    ``urls`` overrides more of the environment (a scheduled job's ``SOURCE_BASE_URL``).
    Returns the handler's response and what it printed (logs and metrics), which would
    otherwise land on the rehearsal's stdout.
    """
    import contextlib
    import io
    import os
    import sys

    saved_env = dict(os.environ)
    added_path = str(FUNCTIONS_DIR) not in sys.path
    if added_path:
        sys.path.insert(0, str(FUNCTIONS_DIR))
    buffer = io.StringIO()
    try:
        os.environ.update(
            {
                **function_env,
                "TARGET_BASE_URL": target_url,
                **(urls or {}),
                "AWS_ACCESS_KEY_ID": creds["aws_access_key_id"],
                "AWS_SECRET_ACCESS_KEY": creds["aws_secret_access_key"],
                "AWS_SESSION_TOKEN": creds["aws_session_token"],
                "AWS_ENDPOINT_URL": deployment.aws.endpoint,
                "AWS_DEFAULT_REGION": deployment.aws.region,
                "AWS_REGION": deployment.aws.region,
                "AWS_LAMBDA_FUNCTION_NAME": _Context.function_name,
            }
        )
        with contextlib.redirect_stdout(buffer):
            import importlib

            handler_module = importlib.import_module(f"integration_sync.{module}")

            # Powertools caches its Secrets Manager client and values per process: a fresh
            # one, so the secret is read with this role's credentials.
            clear_powertools_providers()
            logger = getattr(handler_module, "logger", None)  # the webhook ingress has none
            handlers = logger.handlers if logger is not None else []
            streams = [h for h in handlers if hasattr(h, "setStream")]
            previous = [h.setStream(buffer) for h in streams]
            try:
                # Not under IAM enforcement: moto checks DynamoDB and Secrets Manager actions
                # against resource "*", so it would deny the role's table-scoped grants. The
                # access matrix evaluates those permissions; SQS (enforced) is checked here.
                response = handler_module.handler(event, _Context())
            finally:
                for h, stream in zip(streams, previous, strict=True):
                    h.setStream(stream)
                clear_powertools_providers()
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        if added_path:
            sys.path.remove(str(FUNCTIONS_DIR))
    return dict(response), buffer.getvalue()
