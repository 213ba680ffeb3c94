"""A webhook-fed flow provisioned: the signed ingress, its public URL, its secret, its queue.

Shopify pushes refunds, signed with the shop's webhook secret, to the ERP: the roadmap's
`webhook` option on a queued flow. The real program runs once for the module on the
example roadmap with such a flow at phase 3 in dev; the pack reads that plan.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml
from roadmap_examples import EXAMPLE, problems_after

from contract import environment as var
from provisioner.policy_harness import PolicyHarness, Violation, stack_config
from provisioner.program import run_program
from provisioner.records import ProgramRun, RecordedResource
from roadmap.integrations import WebhookScheme

NAME = "refund-capture"
REFUND_CAPTURE: dict[str, Any] = {
    "name": NAME,
    "description": "Shopify refunds pushed by signed webhook to the ERP as credit memos.",
    "source": "shopify",
    "target": "netsuite",
    "objects": ["refund"],
    "pattern": "event_driven",
    "webhook": {"scheme": "shopify", "object": "refund", "credential": "shopify-webhook"},
    "owner_team": "ecommerce",
    "runbook": "https://wiki.northwind.example/runbooks/refund-capture",
    "alert_path": "slack:ecom-alerts",
    "credentials": [
        {
            "name": "shopify-webhook",
            "kind": "webhook_signing_secret",
            "system": "shopify",
            "rotation_days": 90,
        },
        {
            "name": "netsuite-m2m",
            "kind": "oauth_client_credentials",
            "system": "netsuite",
            "rotation_days": 30,
            "scopes": ["rest_webservices"],
        },
    ],
    "service_levels": {"max_staleness_minutes": 15, "expected_records_per_day": 200},
    "field_mappings": [
        {
            "object": "refund",
            "target_api_name": "creditMemo",
            "external_id": "externalId",
            "fields": {"id": "externalId", "order_id": "createdFrom", "amount": "total"},
        }
    ],
    "phases": {"dev": 3, "staging": 1, "prod": 1},
}
REFUND = {"name": "refund", "owner": "shopify", "description": "Refunds issued in the shop."}


def with_refunds(data: dict[str, Any]) -> dict[str, Any]:
    """The example with the webhook-fed flow (unless it already has it)."""
    if NAME not in {i["name"] for i in data["integrations"]}:
        data["objects"].append(copy.deepcopy(REFUND))
        data["integrations"].append(copy.deepcopy(REFUND_CAPTURE))
    return data


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> ProgramRun:
    path = tmp_path_factory.mktemp("webhook") / "roadmap.yaml"
    path.write_text(yaml.safe_dump(with_refunds(copy.deepcopy(EXAMPLE)), sort_keys=False))
    return run_program("dev", roadmap=path)


def _named(run: ProgramRun, name: str) -> RecordedResource:
    """The AWS resource (not the component of the same name) called `name`."""
    return next(r for r in run.resources if r.name == name and r.type.startswith("aws:"))


def test_ingress_is_the_integrations_webhook_function_behind_a_public_url(run: ProgramRun) -> None:
    ingress = _named(run, f"{NAME}-webhook")
    consumer = _named(run, f"{NAME}-consumer")
    url = _named(run, f"{NAME}-webhook-url")
    permission = _named(run, f"{NAME}-webhook-url-invoke")

    assert ingress.inputs["name"] == f"dev-{NAME}-webhook"
    assert ingress.inputs["handler"] == "integration_sync.webhook.handler"
    assert ingress.inputs["role"] == consumer.inputs["role"]  # one integration, one role
    assert ingress.inputs["kmsKeyArn"] == consumer.inputs["kmsKeyArn"]
    # The vendor cannot sign AWS requests: the handler checks the signature instead.
    assert url.inputs["authorizationType"] == "NONE"
    assert url.inputs["functionName"] == ingress.outputs["name"]
    assert (permission.inputs["action"], permission.inputs["principal"]) == (
        "lambda:InvokeFunctionUrl",
        "*",
    )
    assert permission.inputs["functionUrlAuthType"] == "NONE"
    assert _named(run, f"{NAME}-webhook-logs").inputs["name"] == f"/aws/lambda/dev-{NAME}-webhook"


def test_ingress_verifies_with_the_signing_secret_and_enqueues_into_the_flows_queue(
    run: ProgramRun,
) -> None:
    env = _named(run, f"{NAME}-webhook").inputs["environment"]["variables"]

    assert env[var.WEBHOOK_SCHEME] == "shopify"
    assert env[var.WEBHOOK_OBJECT] == "refund"
    assert env[var.SIGNING_SECRET_ARN] == _named(run, f"{NAME}-cred-shopify-webhook").outputs["arn"]
    assert env[var.QUEUE_URL] == _named(run, f"{NAME}-queue").outputs["url"]
    assert env[var.STATE_TABLE] == _named(run, f"{NAME}-state").inputs["name"]


def test_only_the_ingress_reads_the_signing_secret(run: ProgramRun) -> None:
    secret = _named(run, f"{NAME}-cred-shopify-webhook").outputs["arn"]
    ingress = _named(run, f"{NAME}-webhook").outputs["arn"]
    policy = json.loads(_named(run, f"{NAME}-policy").inputs["policy"])

    granting = [s for s in policy["Statement"] if secret in s.get("Resource", [])]

    assert [s["Sid"] for s in granting] == ["IngressReadsSigningSecret"]
    assert granting[0]["Action"] == ["secretsmanager:GetSecretValue"]
    assert granting[0]["Condition"] == {"ArnEquals": {"lambda:SourceFunctionArn": ingress}}
    # The consumer calls NetSuite with the OAuth client, never with the signing secret.
    consumer = _named(run, f"{NAME}-consumer").inputs["environment"]["variables"]
    assert secret not in consumer.values()


def test_outputs_name_the_webhook_url(run: ProgramRun) -> None:
    outputs = run.stack_outputs[NAME]
    assert outputs["webhookUrl"].startswith("https://") and ".lambda-url." in outputs["webhookUrl"]
    assert outputs["functionNames"]["webhook"] == f"dev-{NAME}-webhook"


@pytest.fixture(scope="module")
def verdicts(run: ProgramRun) -> list[Violation]:
    plan = [{**r.to_json(), "options": dict(r.options)} for r in run.resources]
    with PolicyHarness(stack="dev", config=stack_config("dev")) as pack:
        return pack.check(plan).violations


def test_pack_accepts_the_ingress_as_the_integrations_own(verdicts: list[Violation]) -> None:
    assert verdicts == []


# ------------------------------------------------------------------ the roadmap's rules


def test_the_roadmap_knows_every_scheme_the_handler_verifies() -> None:
    from integration_sync.webhook import SCHEMES

    assert {s.value for s in WebhookScheme} == set(SCHEMES)


def _refunds_with(**changes: Any) -> Any:
    def mutate(data: dict[str, Any]) -> None:
        with_refunds(data)
        flow = next(i for i in data["integrations"] if i["name"] == NAME)
        for key, value in changes.items():
            if value is None:
                flow.pop(key, None)
            else:
                flow[key] = value

    return mutate


@pytest.mark.parametrize(
    ("changes", "where", "fragment"),
    [
        ({"pattern": "batch", "schedule": "rate(1 hour)"}, "webhook", "no queue for pushed"),
        ({"ordering": "per_record"}, "ordering", "out of order"),
        (
            {
                "webhook": {
                    "scheme": "shopify",
                    "object": "web-order",
                    "credential": "shopify-webhook",
                }
            },
            "webhook.object",
            "not among this integration's objects",
        ),
        (
            {"webhook": {"scheme": "shopify", "object": "refund", "credential": "netsuite-m2m"}},
            "webhook.credential",
            "use one of: shopify-webhook",
        ),
    ],
)
def test_a_webhook_is_refused_where_it_cannot_work(
    changes: dict[str, Any], where: str, fragment: str
) -> None:
    problems = problems_after(_refunds_with(**changes))

    index = [i["name"] for i in with_refunds(copy.deepcopy(EXAMPLE))["integrations"]].index(NAME)
    hits = [p for p in problems if p.loc == f"integrations[{index}].{where}"]
    assert hits and fragment in hits[0].msg, problems


def test_cost_prices_one_ingress_invocation_and_delivery_id_per_record(run: ProgramRun) -> None:
    from provisioner.prices import DAYS_PER_MONTH
    from provisioner.pricing import integration_cost
    from roadmap.io import parse_roadmap

    integ = parse_roadmap(with_refunds(copy.deepcopy(EXAMPLE))).integration(NAME)
    mine = [r for r in run.resources if run.integration_of(r) == NAME]
    without = [r for r in mine if not r.name.startswith(f"{NAME}-webhook")]

    def quantities(resources: list[RecordedResource]) -> dict[str, float]:
        cost = integration_cost(integ, resources, "eu-west-1")
        return {line.item: line.quantity for line in cost.lines}

    records = integ.service_levels.expected_records_per_day * DAYS_PER_MONTH
    with_ingress, plain = quantities(mine), quantities(without)
    assert with_ingress["lambda-requests"] - plain["lambda-requests"] == pytest.approx(records)
    assert with_ingress["dynamodb-writes"] - plain["dynamodb-writes"] == pytest.approx(records)


def test_the_ingress_has_its_own_errors_and_throttles_alarms(run: ProgramRun) -> None:
    from contract.phases import required_alarms

    ingress = _named(run, f"{NAME}-webhook").outputs["name"]
    topic = _named(run, f"{NAME}-alerts").outputs["arn"]
    roles = [a for a in required_alarms(3, ingress=True) if a.role.startswith("alarm-webhook-")]
    assert {a.kind for a in roles} == {"errors", "throttles"}
    for alarm in roles:
        resource = _named(run, f"{NAME}-{alarm.role}")
        assert resource.inputs["tags"]["alarm"] == alarm.kind
        assert resource.inputs["dimensions"] == {"FunctionName": ingress}
        assert resource.inputs["alarmActions"] == [topic]


def test_pack_requires_the_ingress_alarms(run: ProgramRun) -> None:
    plan = [
        {**r.to_json(), "options": dict(r.options)}
        for r in run.resources
        if r.name != f"{NAME}-alarm-webhook-errors"
    ]
    with PolicyHarness(stack="dev", config=stack_config("dev")) as pack:
        found = [v.message for v in pack.analyze_stack(plan) if v.policy == "phase-requirements"]
    assert [m for m in found if "(alarm-webhook-errors)" in m and f"[{NAME}]" in m], found
