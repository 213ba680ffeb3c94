"""Lambda access and what functions and topics point at: invoke permissions, function URLs,
the topic's key, asynchronous destinations, environment variables and redrive."""

from __future__ import annotations

import re
from typing import Any

from contract.aws_types import KMS_KEY, LAMBDA_FUNCTION
from contract.naming import SECRET as REDACTED
from contract.naming import WEBHOOK_INGRESS_ROLE

from .._common import as_list, is_unknown
from .._stack import Res
from .base import Analysis
from .statements import Doc

# What credential material looks like: PEM blocks, AWS access keys (IAM user guide,
# "Access key IDs", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html),
# JWTs; and variable names that announce one. A value the SDK marked secret shows as
# `REDACTED` in the plans `provisioner check` sends; the engine hands the pack secrets in
# clear, so there only the shape and the name can tell.
_CREDENTIAL_SHAPES = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----|\b(AKIA|ASIA)[0-9A-Z]{16}\b"
    r"|\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\."
)
_CREDENTIAL_NAMES = re.compile(r"SECRET|TOKEN|PASSWORD|PRIVATE_KEY|API_KEY|CLIENT_SECRET", re.I)


class AccessChecks(Analysis):
    """Resources that open a function, or send data, to someone: each judged alone."""

    def check_permission(self, res: Res) -> None:
        props = res.props
        if any(is_unknown(props.get(k)) for k in ("principal", "sourceAccount", "sourceArn")):
            self.unknown.append(f"{res.name}.principal")
            return
        function = self.find(res, "function", LAMBDA_FUNCTION)
        own = function.integration if function else res.integration
        what = function.name if function else str(props.get("function"))
        at = f"{res.name}"
        principal = str(props.get("principal") or "")
        if props.get("functionUrlAuthType") == "NONE":
            if (
                self.signed_ingress(function, res.integration)
                and principal == "*"
                and props.get("action") == "lambda:InvokeFunctionUrl"
            ):
                return  # what a public URL needs (Lambda guide, "Control access to function URLs")
            self.report(
                own,
                f"{at} makes {what}'s URL callable without authentication. Fix: "
                "use function_url_auth_type AWS_IAM.",
                res,
            )
        statement: dict[str, Any] = {"Condition": {"StringEquals": {}}}
        if props.get("sourceAccount"):
            statement["Condition"]["StringEquals"]["aws:SourceAccount"] = props["sourceAccount"]
        if props.get("sourceArn"):
            statement["Condition"]["StringEquals"]["aws:SourceArn"] = props["sourceArn"]
        doc = Doc(at, res, {})
        if principal.endswith(".amazonaws.com"):
            self._check_service(own, what, at, principal, statement, doc)
        else:
            self._check_own_principal(own, what, at, self.world.ownership.principal(principal), doc)

    def signed_ingress(self, function: Res | None, integration: str | None) -> bool:
        """`function` is `integration`'s own signed-webhook ingress (contract.naming)."""
        return (
            function is not None
            and integration is not None
            and function.integration == integration
            and function.is_role(WEBHOOK_INGRESS_ROLE)
        )

    def check_function_url(self, res: Res) -> None:
        auth = res.props.get("authorizationType")
        if is_unknown(auth):
            self.unknown.append(f"{res.name}.authorizationType")
        elif auth == "NONE" and self.signed_ingress(
            self.find(res, "functionName", LAMBDA_FUNCTION), res.integration
        ):
            return
        elif auth != "AWS_IAM":
            self.report(
                res.integration,
                f"{res.name} serves a function URL with authorization "
                f"{auth!r}: anyone on the internet can invoke it. Fix: set "
                "authorization_type='AWS_IAM' (only the integration's own signed-webhook "
                f"ingress, role word {WEBHOOK_INGRESS_ROLE!r}, may serve one without).",
                res,
            )

    def check_topic_key(self, res: Res) -> None:
        """Alerts carry names and error details: encrypted with the integration's own key."""
        if self.unknown_until_apply(res, "kmsMasterKeyId"):
            return
        ref = res.props.get("kmsMasterKeyId")
        key = self.view.find(ref, KMS_KEY)
        if key is not None and key.integration == res.integration:
            return
        whose = f"{key.integration}'s key" if key is not None else repr(ref or "no key")
        self.report(
            res.integration,
            f"{res.name} is encrypted with {whose}. Fix: set kms_master_key_id to "
            f"{res.integration}'s own key ARN (and let the publishing services use it in its "
            "key policy, bound by aws:SourceAccount).",
            res,
        )

    def check_destinations(self, res: Res) -> None:
        """Failed asynchronous invocations go only to the integration's own resources."""
        if self.unknown_until_apply(res, "destinationConfig"):
            return
        config = res.props.get("destinationConfig")
        for outcome in ("onFailure", "onSuccess"):
            target = config.get(outcome) if isinstance(config, dict) else None
            arn = target.get("destination") if isinstance(target, dict) else None
            if not isinstance(arn, str):
                continue
            reach = self.world.reach(arn)
            if res.integration is None or not reach.only(res.integration):
                self.report(
                    res.integration,
                    (
                        f"{res.name}.destinationConfig.{outcome} sends invocation records to "
                        f"{arn}, which reaches {'; '.join(reach.others(res.integration or ''))}. "
                        f"Fix: send them to {res.integration}'s own DLQ."
                    ),
                    res,
                )

    def check_environment(self, res: Res) -> None:
        """Function environment variables carry names, ARNs and URLs, never a credential.

        docs/contracts.md, "Sync function environment variables": a value in the environment
        is readable by anyone who may read the function's configuration
        (lambda:GetFunctionConfiguration), bypassing the secret's own policy and key.
        """
        environment = res.props.get("environment")
        variables = environment.get("variables") if isinstance(environment, dict) else None
        for name, value in variables.items() if isinstance(variables, dict) else ():
            if not isinstance(value, str) or is_unknown(value) or value.startswith("arn:"):
                continue
            why = (
                "a Pulumi secret"
                if value == REDACTED
                else "credential material"
                if _CREDENTIAL_SHAPES.search(value)
                else "a value named as a credential"
                if value and _CREDENTIAL_NAMES.search(name)
                else ""
            )
            if why:
                self.report(
                    res.integration,
                    (
                        f"{res.name}.environment.variables.{name} carries {why}. Fix: pass the "
                        "secret's ARN (…_SECRET_ARN) and read the value from Secrets Manager at "
                        "run time."
                    ),
                    res,
                )

    def check_redrive(self, res: Res) -> None:
        doc = self.document(res, "redriveAllowPolicy", res.props.get("redriveAllowPolicy"))
        dlq = self.find(res, "queueUrl")
        own = dlq.integration if dlq else res.integration
        if doc is None:
            return
        permission = doc.document.get("redrivePermission")
        sources = [str(s) for s in as_list(doc.document.get("sourceQueueArns"))]
        if permission != "byQueue":
            self.report(
                own,
                f"{doc.where} lets {permission or 'any'} queue redrive into "
                f"{own}'s DLQ. Fix: redrivePermission 'byQueue' with its own queue.",
                res,
            )
        for arn in sources:
            reach = self.world.reach(arn)
            if own is None or not reach.only(own):
                self.report(
                    own,
                    f"{doc.where} lets {arn} redrive into {own}'s DLQ, which "
                    f"reaches {'; '.join(reach.others(own or ''))}. Fix: name only "
                    f"{own}'s own queue.",
                    res,
                )
