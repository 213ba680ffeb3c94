"""Crafted violations of least privilege, each caught by reach or by the closed world.

The base is the realistic prod plan of test_policies_plan.py plus an external pusher on
quote-to-order. Each case changes it the way a careless or hostile change would (a
pattern that reaches another integration, an escalation, a public resource policy, an
unknown resource type...) and is sent through the engine's gRPC `AnalyzeStack` in one
running pack; it must come back as a mandatory violation of `least-privilege-reach` or
`closed-world` that names the integration concerned. The legitimate variants beside them
must pass, and without the two policies most cases would go through.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from policy_cases import pack_without
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE
from test_policies_plan import REGION, example_stack, resource, via

from provisioner.paths import POLICY_PACK_DIR
from provisioner.policy_harness import PolicyHarness, Violation, stack_config

pytestmark = pytest.mark.slow

Plan = list[dict[str, Any]]
Mutation = Callable[[Plan], None]
ENV = "prod"
ACCT = "333333333333"
FOREIGN = "444455556666"
Q, OTHER, S = "quote-to-order", "order-to-invoice", "support-health-to-crm"
PUSHER = f"{ENV}-{Q}-cred-shop-pusher"
NEW_POLICIES = {"least-privilege-reach", "closed-world"}


def arn(service: str, res: str, region: str = REGION, account: str = ACCT) -> str:
    return f"arn:aws:{service}:{region}:{account}:{res}"


def iam(res: str, account: str = ACCT) -> str:
    return f"arn:aws:iam::{account}:{res}"


def queue(integ: str, role: str = "queue") -> str:
    return arn("sqs", f"{ENV}-{integ}-{role}")


def secret(integ: str, cred: str = "netsuite-m2m") -> str:
    return arn("secretsmanager", f"secret:{ENV}-{integ}-cred-{cred}-AbCdEf")


def named(plan: Plan, name: str) -> dict[str, Any]:
    return next(r for r in plan if r["name"] == name)


def output(plan: Plan, name: str, key: str = "arn") -> str:
    return str(named(plan, name)["outputs"][key])


def edit(
    name: str, change: Callable[[list[dict[str, Any]]], None], field: str = "policy"
) -> Mutation:
    def mutate(plan: Plan) -> None:
        inputs = named(plan, name)["inputs"]
        document = json.loads(inputs.get(field) or '{"Version": "2012-10-17", "Statement": []}')
        change(document["Statement"])
        inputs[field] = json.dumps(document)

    return mutate


def allow(name: str, actions: Any, resources: Any = None, **extra: Any) -> Mutation:
    """Append an Allow statement to the document of resource `name`."""
    statement = {"Effect": "Allow", "Action": actions, **extra}
    if resources is not None:
        statement["Resource"] = resources
    return edit(name, lambda statements: statements.append(statement))


def admit(name: str, principal: Any, actions: Any, **extra: Any) -> Mutation:
    """Append an Allow statement with a Principal to the resource policy of `name`."""
    return allow(name, actions, "*", Principal=principal, **extra)


def trust(name: str, principal: Any, **extra: Any) -> Mutation:
    statement = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal, **extra}
    return edit(name, lambda statements: statements.append(statement), "assumeRolePolicy")


def add(
    rtype: str, name: str, inputs: Callable[[Plan], dict[str, Any]], **outputs: Any
) -> Mutation:
    def mutate(plan: Plan) -> None:
        plan.append(resource(ENV, rtype, name, inputs(plan), **outputs))

    return mutate


def change(name: str, **inputs: Any) -> Mutation:
    return lambda plan: named(plan, name)["inputs"].update(inputs)


def both(*mutations: Mutation) -> Mutation:
    def mutate(plan: Plan) -> None:
        for m in mutations:
            m(plan)

    return mutate


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


TAGS = {"integration": Q, "environment": ENV}
SYNC, ROTATION = f"{Q}-policy", f"{Q}-rotation-policy"
PUSHER_POLICY = f"{Q}-cred-shop-pusher-policy"
GET = ["secretsmanager:GetSecretValue"]
SEND = ["sqs:SendMessage"]


def with_pusher(plan: Plan) -> Plan:
    """quote-to-order gets an external pusher: its user, policy and access-key secret."""
    key = output(plan, f"{Q}-key")
    user_arn = iam(f"user/{PUSHER}")
    pusher_secret = arn("secretsmanager", f"secret:{PUSHER}-XyZ123")
    ranges = {"IpAddress": {"aws:SourceIp": ["23.227.32.0/19"]}}
    plan += [
        resource(ENV, "aws:iam/user:User", f"{Q}-cred-shop-pusher",
                 {"name": PUSHER, "tags": TAGS}, arn=user_arn),
        resource(ENV, "aws:iam/userPolicy:UserPolicy", PUSHER_POLICY, {
            "name": f"{PUSHER}-policy", "user": PUSHER,
            "policy": doc(
                {"Effect": "Allow", "Action": SEND, "Resource": [queue(Q)], "Condition": ranges},
                {"Effect": "Allow", "Action": ["kms:GenerateDataKey"], "Resource": [key],
                 "Condition": {**ranges, **via("sqs")}},
            )}),
        resource(ENV, "aws:secretsmanager/secret:Secret", f"{Q}-cred-shop-pusher-secret",
                 {"name": PUSHER, "kmsKeyId": key, "tags": TAGS},
                 arn=pusher_secret, id=pusher_secret),
        resource(ENV, "aws:secretsmanager/secretRotation:SecretRotation",
                 f"{Q}-cred-shop-pusher-rotation",
                 {"secretId": pusher_secret,
                  "rotationLambdaArn": output(plan, f"{Q}-rotation"),
                  "rotationRules": {"automaticallyAfterDays": 30}}),
    ]  # fmt: skip
    rotation = json.loads(named(plan, ROTATION)["inputs"]["policy"])
    rotation["Statement"][0]["Resource"].append(pusher_secret)
    rotation["Statement"].append(
        {"Effect": "Allow", "Action": ["iam:CreateAccessKey", "iam:UpdateAccessKey"],
         "Resource": [user_arn]}
    )  # fmt: skip
    named(plan, ROTATION)["inputs"]["policy"] = json.dumps(rotation)
    return plan


def base() -> Plan:
    return with_pusher(example_stack(ENV))


def queue_policy(plan: Plan, integ: str = Q) -> str:
    return (
        output(plan, f"{integ}-queue", "url") if integ == Q else output(plan, f"{integ}-dlq", "url")
    )


def topic_policy(*statements: dict[str, Any]) -> Mutation:
    return add("aws:sns/topicPolicy:TopicPolicy", f"{Q}-alerts-policy",
               lambda p: {"arn": output(p, f"{Q}-alerts"), "policy": doc(*statements)})  # fmt: skip


def publish(principal: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": "sns:Publish",
            "Resource": arn("sns", f"{ENV}-{Q}-alerts"), **extra}  # fmt: skip


def table_policy(*statements: dict[str, Any]) -> Mutation:
    return add(
        "aws:dynamodb/resourcePolicy:ResourcePolicy",
        f"{Q}-state-policy",
        lambda p: {"resourceArn": output(p, f"{Q}-state"), "policy": doc(*statements)},
    )


def owner_only_deny(actions: list[str]) -> dict[str, Any]:
    return {
        "Effect": "Deny",
        "Principal": "*",
        "Action": actions,
        "Resource": arn("dynamodb", f"table/{ENV}-{Q}-state"),
        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": iam(f"role/{ENV}-{Q}-role")}},
    }


def env_var(name: str, value: str) -> Mutation:
    def mutate(plan: Plan) -> None:
        inputs = named(plan, f"{Q}-consumer")["inputs"]
        inputs.setdefault("environment", {}).setdefault("variables", {})[name] = value

    return mutate


def webhook(integ: str) -> Mutation:
    """integ's signed-webhook ingress function (role word `webhook`), tagged as its own."""
    return add("aws:lambda/function:Function", f"{integ}-webhook",
               lambda p: {"name": f"{ENV}-{integ}-webhook", "role": iam(f"role/{ENV}-{integ}-role"),
                          "handler": "integration_sync.webhook.handler",
                          "tags": {"integration": integ, "environment": ENV}},
               arn=arn("lambda", f"function:{ENV}-{integ}-webhook"))  # fmt: skip


def public_url(integ: str, function: str) -> Mutation:
    """integ's public URL on `function` and the `*` permission such a URL needs."""
    return both(
        add("aws:lambda/functionUrl:FunctionUrl", f"{integ}-webhook-url",
            lambda p: {"functionName": function, "authorizationType": "NONE"}),
        add("aws:lambda/permission:Permission", f"{integ}-webhook-url-invoke",
            lambda p: {"action": "lambda:InvokeFunctionUrl", "principal": "*",
                       "function": function, "functionUrlAuthType": "NONE"}),
    )  # fmt: skip


def permission(**inputs: Any) -> Mutation:
    return add("aws:lambda/permission:Permission", f"{Q}-consumer-extra-invoke",
               lambda p: {"action": "lambda:InvokeFunction",
                          "function": f"{ENV}-{Q}-consumer", **inputs})  # fmt: skip


def attach(policy_arn: str, rtype: str = "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
           **inputs: Any) -> Mutation:  # fmt: skip
    target = inputs or {"role": f"{ENV}-{Q}-role"}
    return add(rtype, f"{Q}-extra-attachment", lambda p: {"policyArn": policy_arn, **target})


def unruled(rtype: str, **inputs: Any) -> Mutation:
    return add(rtype, f"{Q}-extra", lambda p: {**inputs, "tags": TAGS})


KEY_USE = ["kms:Decrypt"]
SECRETS_SERVICE = f"secretsmanager.{REGION}.amazonaws.com"
ALL_Q = f"{ENV}-{Q}"

# (what it tries, mutation, integration the message must name)
CASES: list[tuple[str, Mutation, str]] = [
    # ---- identity policies: patterns that reach other integrations' present or future names
    ("Resource '*'", allow(SYNC, SEND, "*"), Q),
    ("every secret of the stack", allow(SYNC, GET, arn("secretsmanager", f"secret:{ENV}-*")), Q),
    ("another integration's secrets by prefix",
     allow(SYNC, GET, arn("secretsmanager", f"secret:{ENV}-{OTHER}-*")), Q),
    ("a future integration's by a short prefix",
     allow(SYNC, GET, arn("secretsmanager", f"secret:{ENV}-quote-*")), Q),
    ("own name without the dash", allow(SYNC, GET, arn("secretsmanager", f"secret:{ALL_Q}*")), Q),
    ("own name and a half word",
     allow(SYNC, GET, arn("secretsmanager", f"secret:{ALL_Q}-c*")), Q),
    ("own name and an empty role", allow(SYNC, SEND, arn("sqs", f"{ALL_Q}-*")), Q),
    ("question-mark wildcard",
     allow(SYNC, GET, arn("secretsmanager", f"secret:{ENV}-order-to-invoic?-cred-*")), Q),
    ("question marks over the whole name", allow(SYNC, SEND, arn("sqs", "????-*")), Q),
    ("secret:*", allow(SYNC, GET, arn("secretsmanager", "secret:*")), Q),
    ("key/*", allow(SYNC, KEY_USE, arn("kms", "key/*"), Condition=via("sqs")), Q),
    ("key ids by prefix (inventory)",
     allow(SYNC, KEY_USE, arn("kms", "key/0000*"), Condition=via("sqs")), Q),
    ("another integration's key by id",
     lambda p: allow(SYNC, KEY_USE, output(p, f"{OTHER}-key"), Condition=via("sqs"))(p), Q),
    ("any region", allow(SYNC, SEND, f"arn:aws:sqs:*:{ACCT}:{ALL_Q}-queue"), Q),
    ("another region", allow(SYNC, SEND, arn("sqs", f"{ALL_Q}-queue", region="us-east-1")), Q),
    ("any account", allow(SYNC, SEND, f"arn:aws:sqs:{REGION}:*:{ALL_Q}-queue"), Q),
    ("a foreign account", allow(SYNC, SEND, arn("sqs", f"{ALL_Q}-queue", account=FOREIGN)), Q),
    ("every queue anywhere", allow(SYNC, SEND, "arn:aws:sqs:*:*:*"), Q),
    ("any service", allow(SYNC, SEND, f"arn:aws:*:{REGION}:{ACCT}:{ALL_Q}-queue"), Q),
    ("NotResource", lambda p: edit(SYNC, lambda s: s.append(
        {"Effect": "Allow", "Action": SEND, "NotResource": [queue(Q)]}))(p), Q),
    ("another integration's DLQ exactly", allow(SYNC, SEND, queue(OTHER, "dlq")), Q),
    ("another integration's table",
     allow(SYNC, ["dynamodb:GetItem"], arn("dynamodb", f"table/{ENV}-{OTHER}-state")), Q),
    ("a table index by pattern",
     allow(SYNC, ["dynamodb:Query"], arn("dynamodb", f"table/{ENV}-*/index/*")), Q),
    ("log groups of the stack",
     allow(SYNC, ["logs:PutLogEvents"], arn("logs", f"log-group:/aws/lambda/{ENV}-*")), Q),
    ("mixed-case action on another's secret",
     allow(SYNC, ["SecretsManager:getSECRETvalue"], secret(OTHER)), Q),
    ("wildcard in the service", allow(SYNC, ["s?s:SendMessage"], queue(OTHER)), Q),
    ("another stack's names", allow(SYNC, SEND, arn("sqs", "staging-quote-to-order-queue")), Q),
    ("a name outside the scheme", allow(SYNC, SEND, arn("sqs", "legacy-orders")), Q),
    ("the rotation role reaches another's secret", allow(ROTATION, GET, secret(OTHER)), Q),
    ("the other integration reaches back", allow(f"{OTHER}-policy", GET, secret(Q)), OTHER),
    ("phase 2 integration reaches a queue", allow(f"{S}-policy", SEND, queue(Q)), S),
    ("a customer policy in the stack attached to the role", both(
        add("aws:iam/policy:Policy", f"{Q}-extra-policy",
            lambda p: {"name": f"{ALL_Q}-extra", "tags": TAGS,
                       "policy": doc({"Effect": "Allow", "Action": GET,
                                      "Resource": secret(OTHER)})},
            arn=iam(f"policy/{ALL_Q}-extra")),
        attach(iam(f"policy/{ALL_Q}-extra"))), Q),
    # ---- escalation: actions that mint access
    ("PassRole on role/*", allow(SYNC, ["iam:PassRole"], iam("role/*")), Q),
    ("PassRole on its own role", allow(SYNC, ["iam:PassRole"], iam(f"role/{ALL_Q}-role")), Q),
    ("CreateAccessKey on user/*", allow(SYNC, ["iam:CreateAccessKey"], iam("user/*")), Q),
    ("CreateAccessKey on its own pusher by the sync role",
     allow(SYNC, ["iam:CreateAccessKey"], iam(f"user/{PUSHER}")), Q),
    ("AssumeRole on role/*", allow(SYNC, ["sts:AssumeRole"], iam("role/*")), Q),
    ("AssumeRole on its own rotation role",
     allow(SYNC, ["sts:AssumeRole"], iam(f"role/{ALL_Q}-rotation")), Q),
    ("CreateGrant on key/*", allow(SYNC, ["kms:CreateGrant"], arn("kms", "key/*")), Q),
    ("CreateGrant on its own key",
     lambda p: allow(SYNC, ["kms:CreateGrant"], output(p, f"{Q}-key"))(p), Q),
    ("PutKeyPolicy on its own key",
     lambda p: allow(SYNC, ["kms:PutKeyPolicy"], output(p, f"{Q}-key"))(p), Q),
    ("PutResourcePolicy on its own secret",
     allow(SYNC, ["secretsmanager:PutResourcePolicy"], secret(Q)), Q),
    ("AddPermission on its own function",
     allow(SYNC, ["lambda:AddPermission"], arn("lambda", f"function:{ALL_Q}-consumer")), Q),
    ("PutRolePolicy on its own role",
     allow(SYNC, ["iam:PutRolePolicy"], iam(f"role/{ALL_Q}-role")), Q),
    ("SetQueueAttributes (queue policy) on its own queue",
     allow(SYNC, ["sqs:SetQueueAttributes"], queue(Q)), Q),
    ("grant chain: CreateGrant on key/* and secrets by prefix", both(
        allow(SYNC, ["kms:CreateGrant"], arn("kms", "key/*")),
        allow(SYNC, GET, arn("secretsmanager", f"secret:{ENV}-*"))), Q),
    ("rotation rekeys users by pattern",
     allow(ROTATION, ["iam:CreateAccessKey"], iam(f"user/{ALL_Q}-*")), Q),
    ("rotation rekeys another integration's user",
     allow(ROTATION, ["iam:CreateAccessKey"], iam(f"user/{ENV}-{OTHER}-cred-x")), Q),
    ("rotation passes roles", allow(ROTATION, ["iam:PassRole"], iam(f"role/{ALL_Q}-role")), Q),
    ("Action '*' on its own queue", allow(SYNC, "*", queue(Q)), Q),
    ("NotAction on its own queue", lambda p: edit(SYNC, lambda s: s.append(
        {"Effect": "Allow", "NotAction": ["sqs:*"], "Resource": queue(Q)}))(p), Q),
    # ---- destruction and credential writes by the sync role
    ("ScheduleKeyDeletion on its own key",
     lambda p: allow(SYNC, ["kms:ScheduleKeyDeletion"], output(p, f"{Q}-key"))(p), Q),
    ("PurgeQueue on its own queue", allow(SYNC, ["sqs:PurgeQueue"], queue(Q)), Q),
    ("DeleteSecret on its own secret", allow(SYNC, ["secretsmanager:DeleteSecret"], secret(Q)), Q),
    ("DeleteTable on its own table",
     allow(SYNC, ["dynamodb:DeleteTable"], arn("dynamodb", f"table/{ALL_Q}-state")), Q),
    ("DeleteQueue on every queue of the stack",
     allow(SYNC, ["sqs:DeleteQueue"], arn("sqs", f"{ENV}-*")), Q),
    ("PutSecretValue by the sync role",
     allow(SYNC, ["secretsmanager:PutSecretValue"], secret(Q)), Q),
    ("UpdateSecretVersionStage by the sync role",
     allow(SYNC, ["secretsmanager:UpdateSecretVersionStage"], secret(Q)), Q),
    # ---- KMS use must go through the services
    ("Decrypt with the own key directly",
     lambda p: allow(SYNC, KEY_USE, output(p, f"{Q}-key"))(p), Q),
    ("ViaService only IfExists", lambda p: allow(ROTATION, KEY_USE, output(p, f"{Q}-key"),
        Condition={"StringEqualsIfExists": {"kms:ViaService": SECRETS_SERVICE}})(p), Q),
    # ---- pushers
    ("pusher sends to another integration's queue", allow(PUSHER_POLICY, SEND, queue(OTHER, "dlq"),
        Condition={"IpAddress": {"aws:SourceIp": ["23.227.32.0/19"]}}), Q),
    ("pusher without its source ranges", edit(PUSHER_POLICY, lambda s: s[0].pop("Condition")), Q),
    ("rotation reads the key use of another integration's pusher",
     allow(ROTATION, ["iam:GetAccessKeyLastUsed", "iam:UpdateAccessKey"],
           iam(f"user/{ENV}-{OTHER}-cred-x")), Q),
    ("sync role reads the pusher's access key",
     allow(SYNC, GET, arn("secretsmanager", f"secret:{PUSHER}-XyZ123")), Q),
    ("sync role reads every credential of its own, the pusher's too",
     allow(SYNC, GET, arn("secretsmanager", f"secret:{ALL_Q}-cred-*")), Q),
    # ---- resource policies
    ("queue policy admits everyone", lambda p: edit(f"{Q}-queue-policy", lambda s: s.append(
        {"Effect": "Allow", "Principal": "*", "Action": SEND, "Resource": queue(Q)}))(p), Q),
    ("queue policy admits a foreign account",
     admit(f"{Q}-queue-policy", {"AWS": iam("root", FOREIGN)}, SEND), Q),
    ("queue policy admits a bare foreign account id",
     admit(f"{Q}-queue-policy", {"AWS": FOREIGN}, SEND), Q),
    ("queue policy with NotPrincipal", lambda p: edit(f"{Q}-queue-policy", lambda s: s.append(
        {"Effect": "Allow", "NotPrincipal": {"AWS": iam(f"role/{ALL_Q}-role")},
         "Action": SEND, "Resource": queue(Q)}))(p), Q),
    ("queue policy admits another integration's role",
     admit(f"{Q}-queue-policy", {"AWS": iam(f"role/{ENV}-{OTHER}-role")}, SEND), Q),
    ("queue policy admits the account root",
     admit(f"{Q}-queue-policy", {"AWS": iam("root")}, SEND), Q),
    ("queue policy admits everyone bound to another's role",
     admit(f"{Q}-queue-policy", "*", SEND,
           Condition={"ArnEquals": {"aws:PrincipalArn": iam(f"role/{ENV}-{OTHER}-role")}}), Q),
    ("queue policy admits a Federated principal",
     admit(f"{Q}-queue-policy", {"Federated": "cognito-identity.amazonaws.com"}, SEND), Q),
    ("HTTPS deny names a different queue", edit(f"{Q}-queue-policy",
        lambda s: s[0].update(Resource=queue(OTHER, "dlq"))), Q),
    ("topic policy admits everyone", topic_policy(publish("*")), Q),
    ("topic policy admits a service for any account",
     topic_policy(publish({"Service": "cloudwatch.amazonaws.com"})), Q),
    ("topic policy admits a service for a foreign account",
     topic_policy(publish({"Service": "events.amazonaws.com"},
                          Condition={"StringEquals": {"aws:SourceAccount": FOREIGN}})), Q),
    ("topic policy admits a service for another's alarm",
     topic_policy(publish({"Service": "cloudwatch.amazonaws.com"}, Condition={"ArnLike": {
         "aws:SourceArn": arn("cloudwatch", f"alarm:{ENV}-{OTHER}-*")}})), Q),
    ("key policy gives the account root every use",
     admit(f"{Q}-key", {"AWS": iam("root")}, ["kms:*"]), Q),
    ("key policy names another integration's role",
     admit(f"{Q}-key", {"AWS": iam("root")}, KEY_USE,
           Condition={"ArnEquals": {"aws:PrincipalArn": [iam(f"role/{ENV}-{OTHER}-role")]}}), Q),
    ("key policy names roles by pattern",
     admit(f"{Q}-key", {"AWS": iam("root")}, KEY_USE,
           Condition={"ArnLike": {"aws:PrincipalArn": [iam(f"role/{ENV}-*")]}}), Q),
    ("key policy admits a foreign root",
     admit(f"{Q}-key", {"AWS": iam("root", FOREIGN)}, KEY_USE), Q),
    ("key policy admits everyone", admit(f"{Q}-key", "*", KEY_USE), Q),
    ("separate key policy resource admits everyone", add(
        "aws:kms/keyPolicy:KeyPolicy", f"{Q}-key-policy",
        lambda p: {"keyId": output(p, f"{Q}-key", "keyId"), "policy": doc(
            {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"})}), Q),
    ("secret policy admits another integration's rotation role", add(
        "aws:secretsmanager/secretPolicy:SecretPolicy", f"{Q}-cred-netsuite-m2m-policy",
        lambda p: {"secretArn": secret(Q), "policy": doc(
            {"Effect": "Allow", "Principal": {"AWS": iam(f"role/{ENV}-{OTHER}-rotation")},
             "Action": GET, "Resource": "*"})}), Q),
    ("secret policy admits everyone", add(
        "aws:secretsmanager/secretPolicy:SecretPolicy", f"{Q}-cred-netsuite-m2m-policy",
        lambda p: {"secretArn": secret(Q), "policy": doc(
            {"Effect": "Allow", "Principal": "*", "Action": GET, "Resource": "*"})}), Q),
    ("table policy admits another integration's role", table_policy(
        owner_only_deny(["dynamodb:*"]),
        {"Effect": "Allow", "Principal": {"AWS": iam(f"role/{ENV}-{OTHER}-role")},
         "Action": ["dynamodb:GetItem"], "Resource": "*"}), Q),
    ("table deny list without PartiQL", table_policy(
        owner_only_deny(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan",
                         "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchGetItem",
                         "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem"])), Q),
    ("redrive allowed from another integration's queue", add(
        "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy", f"{Q}-dlq-redrive-allow",
        lambda p: {"queueUrl": output(p, f"{Q}-dlq", "url"), "redriveAllowPolicy": json.dumps(
            {"redrivePermission": "byQueue", "sourceQueueArns": [queue(OTHER, "dlq")]})}), Q),
    ("alert topic without encryption", change(f"{Q}-alerts", kmsMasterKeyId=None), Q),
    ("alert topic with another integration's key",
     lambda p: change(f"{Q}-alerts", kmsMasterKeyId=output(p, f"{OTHER}-key"))(p), Q),
    ("alert topic with the AWS-managed key",
     change(f"{Q}-alerts", kmsMasterKeyId="alias/aws/sns"), Q),
    ("failed invocations sent to another integration's DLQ", add(
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", f"{Q}-reconcile-async",
        lambda p: {"functionName": f"{ALL_Q}-reconcile", "destinationConfig": {
            "onFailure": {"destination": queue(OTHER, "dlq")}}}), Q),
    ("the logs service bound to every log group", admit(
        f"{Q}-key", {"Service": f"logs.{REGION}.amazonaws.com"}, ["kms:Encrypt"],
        Condition={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": arn("logs", "log-group:*")}}),
     Q),
    # ---- contract: no credential in a function's environment
    ("a Pulumi secret in the environment", env_var("SOURCE_TOKEN_VALUE", "[secret]"), Q),
    ("a private key in the environment",
     env_var("SIGNING", "-----BEGIN RSA PRIVATE KEY-----\nMIIE..."), Q),
    ("an access key in the environment", env_var("PUSH_KEY", "AKIAIOSFODNN7EXAMPLE"), Q),
    ("a client secret by name", env_var("NETSUITE_CLIENT_SECRET", "s3cr3t-v4lue"), Q),
    # ---- Lambda invoke permissions and function URLs
    ("invoke permission for everyone", permission(principal="*"), Q),
    ("invoke permission for a foreign account", permission(principal=FOREIGN), Q),
    ("invoke permission for the whole own account", permission(principal=ACCT), Q),
    ("invoke permission for another integration's role",
     permission(principal=iam(f"role/{ENV}-{OTHER}-role")), Q),
    ("invoke permission for a service with another's source",
     permission(principal="events.amazonaws.com",
                sourceArn=arn("events", f"rule/{ENV}-{OTHER}-reconcile-schedule")), Q),
    ("invoke permission for a service of any account",
     permission(principal="sns.amazonaws.com"), Q),
    ("invoke permission for a service of a foreign account",
     permission(principal="s3.amazonaws.com", sourceAccount=FOREIGN), Q),
    ("function URL permission without auth",
     permission(principal="*", action="lambda:InvokeFunctionUrl", functionUrlAuthType="NONE"), Q),
    ("a public URL on another integration's webhook ingress",
     both(webhook(OTHER), public_url(Q, f"{ENV}-{OTHER}-webhook")), Q),
    ("a public URL on a function that is no webhook ingress",
     public_url(Q, f"{ENV}-{Q}-consumer"), Q),
    ("function URL without auth", add("aws:lambda/functionUrl:FunctionUrl", f"{Q}-consumer-url",
        lambda p: {"functionName": f"{ALL_Q}-consumer", "authorizationType": "NONE"}), Q),
    # ---- trust policies
    ("trust everyone", trust(f"{Q}-role", {"AWS": "*"}), Q),
    ("trust a foreign root with an external id",
     trust(f"{Q}-role", {"AWS": iam("root", FOREIGN)},
           Condition={"StringEquals": {"sts:ExternalId": "shared-secret"}}), Q),
    ("trust another integration's role",
     trust(f"{Q}-rotation-role", {"AWS": iam(f"role/{ENV}-{OTHER}-role")}), Q),
    ("trust another service", trust(f"{Q}-role", {"Service": "ec2.amazonaws.com"}), Q),
    ("trust a web identity", trust(f"{Q}-role", {"Federated": "accounts.google.com"}), Q),
    ("trust everyone but a principal", edit(f"{Q}-role", lambda s: s.append(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "NotPrincipal": {"AWS": iam("root")}}),
        "assumeRolePolicy"), Q),
    # ---- closed world: types without rules, managed policies from outside
    ("a public S3 bucket", both(
        unruled("aws:s3/bucket:Bucket", bucket=f"{ALL_Q}-exports"),
        add("aws:s3/bucketPolicy:BucketPolicy", f"{Q}-exports-policy",
            lambda p: {"bucket": f"{ALL_Q}-exports", "policy": doc(
                {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                 "Resource": f"arn:aws:s3:::{ALL_Q}-exports/*"})})), Q),
    ("an access key for the pusher", unruled("aws:iam/accessKey:AccessKey", user=PUSHER), Q),
    ("a KMS grant", unruled("aws:kms/grant:Grant", granteePrincipal=iam(f"role/{ENV}-{OTHER}-role"),
                             operations=["Decrypt"]), Q),
    ("group membership", unruled("aws:iam/userGroupMembership:UserGroupMembership", user=PUSHER,
                                 groups=["admins"]), Q),
    ("an IAM group", unruled("aws:iam/group:Group", name=f"{ALL_Q}-admins"), Q),
    ("AdministratorAccess", attach("arn:aws:iam::aws:policy/AdministratorAccess"), Q),
    ("SecretsManagerReadWrite", attach("arn:aws:iam::aws:policy/SecretsManagerReadWrite"), Q),
    ("job-function SystemAdministrator",
     attach("arn:aws:iam::aws:policy/job-function/SystemAdministrator"), Q),
    ("another team's customer-managed policy", attach(iam("policy/platform-team-ops")), Q),
    ("managed policy on the user", attach("arn:aws:iam::aws:policy/ReadOnlyAccess",
        "aws:iam/userPolicyAttachment:UserPolicyAttachment", user=PUSHER), Q),
    ("managed policy listed on the role",
     change(f"{Q}-role", managedPolicyArns=["arn:aws:iam::aws:policy/ReadOnlyAccess"]), Q),
    ("a customer policy in the stack listed on the role", both(
        add("aws:iam/policy:Policy", f"{Q}-extra-policy",
            lambda p: {"name": f"{ALL_Q}-extra", "tags": TAGS,
                       "policy": doc({"Effect": "Allow", "Action": SEND,
                                      "Resource": queue(OTHER, "dlq")})},
            arn=iam(f"policy/{ALL_Q}-extra")),
        change(f"{Q}-role", managedPolicyArns=[iam(f"policy/{ALL_Q}-extra")])), Q),
    ("a policy attachment to the role",
     attach("arn:aws:iam::aws:policy/PowerUserAccess",
            "aws:iam/policyAttachment:PolicyAttachment", roles=[f"{ALL_Q}-role"]), Q),
]  # fmt: skip

BASE = "the base plan unchanged"
# Variants of the same documents that stay within the integration: they must pass.
LEGITIMATE: list[tuple[str, Mutation]] = [
    ("own credentials by their role word (no pusher among them)",
     allow(f"{OTHER}-policy", GET, arn("secretsmanager", f"secret:{ENV}-{OTHER}-cred-*"))),
    ("own log streams by function", allow(SYNC, ["logs:PutLogEvents"],
        arn("logs", f"log-group:/aws/lambda/{ALL_Q}-consumer:*"))),
    ("own queue exactly", allow(SYNC, SEND, queue(Q))),
    ("own key through SQS", lambda p: allow(SYNC, KEY_USE, output(p, f"{Q}-key"),
                                           Condition=via("sqs"))(p)),
    ("rotation rekeys its own pusher",
     allow(ROTATION, ["iam:DeleteAccessKey"], iam(f"user/{PUSHER}"))),
    ("rotation retires its own pusher's unused key", allow(ROTATION,
        ["iam:GetAccessKeyLastUsed", "iam:ListAccessKeys", "iam:UpdateAccessKey"],
        iam(f"user/{PUSHER}"))),
    ("pusher reads its own access key", allow(PUSHER_POLICY, GET,
        arn("secretsmanager", f"secret:{PUSHER}-XyZ123"),
        Condition={"IpAddress": {"aws:SourceIp": ["23.227.32.0/19"]}})),
    ("topic policy for alarms of this account", topic_policy(publish(
        {"Service": "cloudwatch.amazonaws.com"},
        Condition={"StringEquals": {"aws:SourceAccount": ACCT}}))),
    ("table deny list of every item action", table_policy(owner_only_deny(["dynamodb:*"]))),
    ("key policy names its own principals", admit(f"{Q}-key", {"AWS": iam("root")}, KEY_USE,
        Condition={"ArnEquals": {"aws:PrincipalArn": [iam(f"role/{ALL_Q}-role")]}})),
    ("invoke permission for its own schedule", permission(principal="events.amazonaws.com",
        sourceArn=arn("events", f"rule/{ALL_Q}-reconcile-schedule"))),
    ("a secret's ARN in the environment", env_var("TARGET_CREDENTIAL_SECRET_ARN", secret(Q))),
    ("its own signed-webhook ingress serves a public URL",
     both(webhook(Q), public_url(Q, f"{ENV}-{Q}-webhook"))),
    (BASE, lambda p: None),
]  # fmt: skip


def at_preview(plan: Plan) -> None:
    """The sync role's document and the alert topic's key are unknown (preview); the
    rotation role's reaches too far."""
    named(plan, SYNC)["inputs"]["policy"] = UNKNOWN_STRING_VALUE
    named(plan, f"{Q}-alerts")["inputs"]["kmsMasterKeyId"] = UNKNOWN_STRING_VALUE
    allow(ROTATION, GET, secret(OTHER))(plan)


def mutated(mutation: Mutation) -> Plan:
    plan = base()
    mutation(plan)
    return plan


Results = tuple[list[list[Violation]], list[list[Violation]], list[Violation]]


def analyze(pack_dir: Path = POLICY_PACK_DIR) -> Results:
    """Every case, every legitimate variant and the preview case through one running pack."""
    with PolicyHarness(pack_dir, stack=ENV, config=stack_config(ENV)) as pack:
        caught = [pack.analyze_stack(mutated(m)) for _, m, _ in CASES]
        passed = [pack.analyze_stack(mutated(m)) for _, m in LEGITIMATE]
        preview = pack.analyze_stack(mutated(at_preview))
    return caught, passed, preview


@pytest.fixture(scope="module")
def results() -> Results:
    return analyze()


def _reported(violations: list[Violation], integration: str) -> list[Violation]:
    return [
        v for v in violations
        if v.level == "mandatory" and v.policy in NEW_POLICIES and f"[{integration}]" in v.message
    ]  # fmt: skip


def test_corpus_covers_more_than_eighty_crafted_changes() -> None:
    assert len(CASES) >= 80
    assert len({what for what, _, _ in CASES}) == len(CASES)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c[0] for c in CASES])
def test_crafted_change_is_mandatory_violation_naming_the_integration(
    results: Results, index: int
) -> None:
    what, _, integration = CASES[index]
    violations = results[0][index]
    found = _reported(violations, integration)
    assert found, f"{what}: not caught; got {[v.message for v in violations]}"
    assert all("Fix:" in v.message for v in found)


@pytest.mark.parametrize("index", range(len(LEGITIMATE)), ids=[c[0] for c in LEGITIMATE])
def test_legitimate_variant_passes(results: Results, index: int) -> None:
    violations = [v.message for v in results[1][index] if v.policy in NEW_POLICIES]
    assert violations == [], LEGITIMATE[index][0]


def test_without_reach_and_closed_world_most_cases_go_through(tmp_path: Path) -> None:
    """The corpus measures the new analysis, not the older shape rules beside it."""
    pack = pack_without(tmp_path / "pack", NEW_POLICIES)
    caught, passed, _ = analyze(pack)
    # What the older policies report on the unchanged base is not the case's doing.
    baseline = {v.message for v in passed[[w for w, _ in LEGITIMATE].index(BASE)]}
    still = sum(
        1 for (_, _, integ), vs in zip(CASES, caught, strict=True)
        if any(v.level == "mandatory" and f"[{integ}]" in v.message
               and v.message not in baseline for v in vs)
    )  # fmt: skip
    assert still < len(CASES) / 2, f"{still} of {len(CASES)} caught without the new policies"


def test_an_unknown_document_is_reported_at_preview_not_passed(results: Results) -> None:
    """What is known is judged; what is not is named through the SDK's unknown handling."""
    reach = [v for v in results[2] if v.policy == "least-privilege-reach"]
    assert any(v.level == "mandatory" and f"[{Q}] {ROTATION}" in v.message for v in reach)
    assert any(
        v.level == "advisory" and "during preview" in v.message and SYNC in v.message for v in reach
    ), [v.message for v in reach]


def test_a_reference_known_only_after_apply_is_named_at_preview(results: Results) -> None:
    """A topic whose key is not yet known is neither passed nor refused: it is named."""
    reach = [v for v in results[2] if v.policy == "least-privilege-reach"]
    assert any(
        v.level == "advisory" and f"{Q}-alerts.kmsMasterKeyId" in v.message for v in reach
    ), [v.message for v in reach]
