"""The report's content against the roadmap: every system, object, flow and checklist verdict."""

from __future__ import annotations

import copy
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from report_examples import report_of

from contract.phases import ENVIRONMENTS
from provisioner.report import (
    CostResults,
    Finding,
    PolicyResults,
    PromotionResults,
    Verdict,
    render_html,
    render_markdown,
)
from provisioner.report.glance import at_a_glance
from provisioner.report.model import Report, source_of_truth_matrix
from provisioner.report.sources import integration_of, parse_check_json
from provisioner.violations import Violation
from roadmap.io import parse_roadmap
from roadmap.model import Roadmap
from roadmap.settings import StackSettings
from roadmap.stack_config import load_stack_settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE: dict[str, Any] = yaml.safe_load((ROOT / "roadmap.yaml").read_text())
ROADMAP = parse_roadmap(copy.deepcopy(EXAMPLE))
SETTINGS = {env: load_stack_settings(ROOT / "stacks", env) for env in ENVIRONMENTS}
CLEAN_POLICY = PolicyResults(available=True, policies=("dlq-present", "alarms-per-phase"))
COSTS = CostResults(
    available=True,
    per_integration={"quote-to-order": 12.5, "lead-to-account": 7.25},
    source="test price table",
)
NO_PROMOTION = PromotionResults.unavailable("not assessed in this test")

# prod with the policy pack passing: what the example roadmap deserves, and why.
EXPECTED_PROD = {
    "systems-listed": Verdict.PASS,
    "source-of-truth": Verdict.PASS,
    "cleanup-before-sync": Verdict.PASS,
    "pattern-per-workflow": Verdict.PASS,
    "api-limits-credentials": Verdict.PASS,
    "retry-replay-monitoring": Verdict.PASS,
    "uat-contract-tests": Verdict.PASS,
    # order-to-invoice is live at phase 3 in prod; its owner has not signed off yet.
    "ownership-agreed": Verdict.WAITING,
    "phased-rollout": Verdict.PASS,
    # prod's slack: alert paths post through AWS Chatbot, whose workspace a person
    # authorises once: waiting on that, not failing and not passing.
    "post-go-live": Verdict.WAITING,
}


def report_for(
    roadmap: Roadmap = ROADMAP,
    stack: str = "prod",
    *,
    policy: PolicyResults = CLEAN_POLICY,
    costs: CostResults = COSTS,
    promotion: PromotionResults = NO_PROMOTION,
    settings: StackSettings | None = None,
) -> Report:
    return report_of(
        roadmap,
        stack,
        settings=settings or SETTINGS[stack],
        policy=policy,
        costs=costs,
        promotion=promotion,
    )


def verdicts(report: Report) -> dict[str, Verdict]:
    return {item.key: item.verdict for item in report.checklist}


def html_verdict(html: str, key: str) -> str:
    row = re.search(rf"<tr data-item='{key}'>.*?</tr>", html, re.S)
    assert row, f"checklist item {key} is missing from the page"
    found = re.search(r'data-verdict="([^"]+)"', row.group(0))
    assert found
    return found.group(1)


def weakened(mutate: Any) -> Roadmap:
    data = copy.deepcopy(EXAMPLE)
    mutate({i["name"]: i for i in data["integrations"]}, data)
    return parse_roadmap(data)


# --------------------------------------------------------------------------- coverage


def test_every_system_object_and_integration_appears_in_both_formats() -> None:
    report = report_for()
    html, md = render_html(report), render_markdown(report)
    for system in ROADMAP.systems:
        assert f'id="system-{system.name}"' in html  # a node in the map
        assert f"<th>{system.name}</th>" in html  # a column of the matrix
        assert f"| {system.name} |" in md
    for obj in ROADMAP.objects:
        assert f"data-object='{obj.name}'" in html
        assert f"| {obj.name} |" in md
    for integ in ROADMAP.integrations:
        assert f'id="flow-{integ.name}"' in html  # an arrow in the map
        assert f'data-flow="{integ.name}"' in html  # its label
        assert html.count(f"data-integration='{integ.name}'") == 3  # flows, phases, policy
        assert md.count(f"| {integ.name} |") >= 3  # flows, phases, policy (and cost)


def test_every_checklist_item_appears_with_its_computed_verdict() -> None:
    report = report_for()
    html, md = render_html(report), render_markdown(report)
    assert verdicts(report) == EXPECTED_PROD
    for item in report.checklist:
        assert html_verdict(html, item.key) == item.verdict.value
        label = {
            "pass": "PASS",
            "fail": "FAIL",
            "not available": "NOT AVAILABLE",
            "waiting": "WAITING",
        }
        assert f"### {item.question} {label[item.verdict.value]}" in md
        assert item.rule and item.findings


def test_failed_api_limits_item_names_each_gap() -> None:
    def gaps(flows: dict[str, Any], data: dict[str, Any]) -> None:
        flows["order-to-invoice"]["credentials"][0].pop("scopes")
        data["systems"][7]["api"].pop("requests_per_second")  # snowflake
        flows["lead-to-account"]["credentials"][0]["rotation_days"] = 60

    item = next(
        i for i in report_for(weakened(gaps)).checklist if i.key == "api-limits-credentials"
    )
    assert item.verdict is Verdict.FAIL
    failed = " | ".join(f.text for f in item.findings if f.status is Verdict.FAIL)
    assert "order-to-invoice: credential netsuite-m2m names no scopes" in failed
    assert "warehouse-export: snowflake documents no API limit" in failed
    assert "marketo-pusher rotates every 60 days, more than prod's 30" in failed
    assert "quote-to-order" not in failed


def test_map_styles_flows_by_pattern_and_draws_bidirectional_both_ways() -> None:
    html = render_html(report_for())
    campaign = re.search(r'<path[^>]*id="flow-campaign-sync"[^>]*>', html)
    quote = re.search(r'<path[^>]*id="flow-quote-to-order"[^>]*>', html)
    batch = re.search(r'<path[^>]*id="flow-order-to-invoice"[^>]*>', html)
    assert campaign and quote and batch
    assert "marker-start=" in campaign.group(0) and "marker-end=" in campaign.group(0)
    assert "marker-start=" not in quote.group(0)
    assert 'data-pattern="batch"' in batch.group(0) and "stroke-dasharray" in batch.group(0)
    assert "stroke-dasharray" not in quote.group(0)  # event-driven is solid
    for label in ("real-time API", "event-driven", "batch", "middleware", "warehouse pipeline"):
        assert f">{label}</text>" in html  # the legend
    assert "event-driven, phase 3" in html  # quote-to-order's label in prod


def test_source_of_truth_matrix_marks_owner_field_owners_readers_and_writers() -> None:
    account = source_of_truth_matrix(ROADMAP)["account"]
    assert account["salesforce"].owner
    assert "credit-status-to-crm" in account["salesforce"].written_by
    assert "warehouse-export" in account["salesforce"].read_by
    assert account["netsuite"].owned_fields == ("Credit_Status__c", "NetSuite_Id__c")
    assert account["netsuite"].read_by == ("credit-status-to-crm",)
    assert account["zendesk"].owned_fields == ("Health_Score__c", "Zendesk_Org_Id__c")
    assert account["snowflake"].written_by == ("warehouse-export",)
    campaign = source_of_truth_matrix(ROADMAP)["campaign"]  # bidirectional: both read/write
    assert campaign["salesforce"].read_by == campaign["salesforce"].written_by == ("campaign-sync",)
    assert campaign["marketo"].owner and campaign["marketo"].written_by == ("campaign-sync",)


# --------------------------------------------------------------------------- verdicts are computed


def test_removing_mappings_fails_cleanup_and_contract_tests() -> None:
    def drop(by_name: dict[str, Any], _data: Any) -> None:
        # Batch flows may run unmapped as far as the roadmap rules go; the checklist still asks.
        del by_name["order-to-invoice"]["field_mappings"]

    got = verdicts(report_for(weakened(drop)))
    assert got["cleanup-before-sync"] is Verdict.FAIL
    assert got["uat-contract-tests"] is Verdict.FAIL
    assert got["source-of-truth"] is Verdict.PASS  # netsuite still writes only its own


def test_missing_owner_signoff_fails_ownership_once_past_phase_3() -> None:
    def drop(by_name: dict[str, Any], _data: Any) -> None:
        del by_name["lead-to-account"]["evidence"][3]["owner_signoff"]

    item = next(i for i in report_for(weakened(drop)).checklist if i.key == "ownership-agreed")
    assert item.verdict is Verdict.FAIL
    assert any("lead-to-account: at phase 4 in prod" in f.text for f in item.findings)


def test_a_question_waits_while_the_sign_off_it_relies_on_is_missing() -> None:
    def drop(by_name: dict[str, Any], _data: Any) -> None:
        del by_name["quote-to-order"]["evidence"][3]["uat_signoff"]  # phase 3 in prod

    item = next(i for i in report_for(weakened(drop)).checklist if i.key == "uat-contract-tests")
    assert item.verdict is Verdict.WAITING
    assert (
        Finding(
            Verdict.WAITING,
            "quote-to-order: user-acceptance-test sign-off not given yet; revenue-operations to "
            "record it under evidence.3.uat_signoff before phase 4",
        )
        in item.findings
    )
    recorded = next(i for i in report_for().checklist if i.key == "uat-contract-tests")
    assert recorded.verdict is Verdict.PASS


def test_no_flow_into_bi_fails_reporting_validation() -> None:
    def drop(_by_name: dict[str, Any], data: Any) -> None:
        data["integrations"] = [i for i in data["integrations"] if i["name"] != "warehouse-export"]

    assert verdicts(report_for(weakened(drop)))["post-go-live"] is Verdict.FAIL


def test_system_without_description_fails_systems_listed() -> None:
    def blank(_by_name: dict[str, Any], data: Any) -> None:
        data["systems"][1]["description"] = ""

    assert verdicts(report_for(weakened(blank)))["systems-listed"] is Verdict.FAIL


def test_rising_phases_and_unknown_kill_switch_fail_phased_rollout() -> None:
    # The model's own rule rejects rising phases, so build past it to prove ours sees it.
    data = copy.deepcopy(EXAMPLE)
    data["integrations"][0]["phases"] = {"dev": 3, "staging": 4, "prod": 3}
    got = verdicts(report_for(Roadmap.model_validate(data)))
    assert got["phased-rollout"] is Verdict.FAIL
    settings = SETTINGS["prod"].model_copy(update={"kill_switch": ("no-such-flow",)})
    assert verdicts(report_for(settings=settings))["phased-rollout"] is Verdict.FAIL


def test_unowned_write_fails_source_of_truth() -> None:
    data = copy.deepcopy(EXAMPLE)
    data["integrations"][0]["source"] = "shopify"  # shopify writes salesforce's quotes
    data["integrations"][0]["credentials"][0]["system"] = "shopify"
    got = verdicts(report_for(Roadmap.model_validate(data)))
    assert got["source-of-truth"] is Verdict.FAIL


def test_loose_stack_rotation_passes_what_prod_fails() -> None:
    dev = next(i for i in report_for(stack="dev").checklist if i.key == "api-limits-credentials")
    assert not any("rotates every" in f.text for f in dev.findings)  # dev allows 90 days


# --------------------------------------------------------------------------- missing parts


def test_missing_policy_harness_shows_not_available_never_pass() -> None:
    policy = PolicyResults.unavailable("the policy pack could not run: it exited early")
    report = report_for(policy=policy)
    got = verdicts(report)
    assert got["retry-replay-monitoring"] is Verdict.UNAVAILABLE
    # post-go-live never passes in prod while a Chatbot workspace waits on a person; the
    # policy findings in it say "not available", never pass.
    post = next(i for i in report.checklist if i.key == "post-go-live")
    assert got["post-go-live"] is not Verdict.PASS
    assert any(f.status is Verdict.UNAVAILABLE for f in post.findings)
    assert all(pv.verdict is Verdict.UNAVAILABLE for pv in report.policy_verdicts)
    html = render_html(report)
    assert "the policy pack could not run: it exited early" in html
    assert html.count('data-verdict="pass"') < render_html(report_for()).count(
        'data-verdict="pass"'
    )


def test_a_mandatory_violation_fails_the_integration_and_its_checklist_items() -> None:
    violation = Violation(
        "dlq-present", "mandatory", "urn:...::lead-to-account-queue", "no DLQ", "lead-to-account"
    )
    policy = PolicyResults(available=True, policies=("dlq-present",), violations=(violation,))
    report = report_for(policy=policy)
    by_name = {pv.integration: pv for pv in report.policy_verdicts}
    assert by_name["lead-to-account"].verdict is Verdict.FAIL
    assert by_name["quote-to-order"].verdict is Verdict.PASS
    assert by_name["web-order-capture"].verdict is Verdict.INFO  # phase 1: nothing provisioned
    assert verdicts(report)["retry-replay-monitoring"] is Verdict.FAIL
    assert "no DLQ" in render_html(report)


def test_costs_per_integration_and_total_or_not_available() -> None:
    html, md = render_html(report_for()), render_markdown(report_for())
    assert "$12.50" in html and "$7.25" in html and "$19.75" in html
    assert "| total | $19.75 |" in md
    missing = report_for(costs=CostResults.unavailable("the program failed to plan dev"))
    assert "Not available: the program failed to plan dev" in render_markdown(missing)


def test_phase_matrix_shows_the_roadmap_ceiling_without_the_promotion_module() -> None:
    phases = report_for().phases
    assert phases["quote-to-order"]["prod"].phase == 3
    assert phases["inventory-to-promise"]["prod"].blockers == (
        "staging is at phase 2; promote it in staging first",
    )
    assert "exit criteria not available" in phases["inventory-to-promise"]["prod"].criteria


def test_phase_matrix_lists_promotion_blockers_when_available() -> None:
    promotion = PromotionResults(
        available=True,
        blockers={
            ("order-to-invoice", "staging"): ("a link to the rollback plan is not recorded",)
        },
    )
    cell = report_for(promotion=promotion).phases["order-to-invoice"]["staging"]
    assert cell.blockers == ("a link to the rollback plan is not recorded",)
    assert cell.criteria == "checked"


def test_real_promotion_module_feeds_blockers_when_present() -> None:
    from provisioner.report.sources import collect_promotion

    promotion = collect_promotion(ROADMAP)
    if not promotion.available:
        pytest.skip(promotion.reason)
    blockers = promotion.blockers[("order-to-invoice", "staging")]
    assert any("rollback plan" in b for b in blockers)
    assert promotion.blockers[("warehouse-export", "prod")] == (
        "at the last phase (5, automation)",
    )


# --------------------------------------------------------------------------- adapters


def test_violations_are_attributed_to_the_longest_matching_integration() -> None:
    names = ["order", "order-to-invoice", "quote-to-order"]
    urn = (
        "urn:pulumi:dev::integration-provisioner::provisioner:index:Integration"
        "$aws:sqs/queue:Queue::order-to-invoice-dlq"
    )
    assert integration_of(urn, names) == "order-to-invoice"
    assert (
        integration_of("urn:pulumi:dev::integration-provisioner::pulumi:pulumi:Stack::x", names)
        is None
    )


def test_check_json_is_grouped_per_integration() -> None:
    document = {
        "policies": ["queue-has-dlq", "shared-role"],
        "resources_analyzed": 40,
        "violations": [
            {
                "policy": "queue-has-dlq",
                "level": "mandatory",
                "urn": "urn:pulumi:prod::p::aws:sqs/queue:Queue::quote-to-order-queue",
                "message": "add a DLQ",
            },
            {"policy": "shared-role", "level": "advisory", "urn": "", "message": "stack-level"},
        ],
    }
    results = parse_check_json(document, ROADMAP)
    assert [v.policy for v in results.for_integration("quote-to-order")] == ["queue-has-dlq"]
    assert [v.message for v in results.unattributed] == ["stack-level"]
    with pytest.raises(ValueError):
        parse_check_json({"unexpected": True}, ROADMAP)


def test_alert_paths_count_as_pass_only_when_delivery_is_confirmed() -> None:
    from roadmap.alarm_routing import AlarmRouting

    routing = AlarmRouting.model_validate(
        {
            "fallbackEmail": "integrations-oncall@example.com",
            "endpoints": {
                "pagerduty:revops-oncall": {
                    "protocol": "https",
                    "endpoint": "https://events.pagerduty.com/integration/revops-oncall/enqueue",
                }
            },
            "slack": {"slack:mops-alerts": {"workspaceId": "T07EA123LEP", "channelId": "C07X"}},
        }
    )
    paths = (
        "pagerduty:revops-oncall",
        "email:support-ops@northwind.example",
        "slack:mops-alerts",
        "slack:ecom-alerts",
    )
    states = {path: routing.delivery(path).state for path in paths}
    assert states == {
        "pagerduty:revops-oncall": "confirmed",
        "email:support-ops@northwind.example": "pending",
        "slack:mops-alerts": "waiting",  # its Chatbot channel exists; the workspace is a person's
        "slack:ecom-alerts": "misrouted",  # no channel: only the fallback e-mail
    }
    post = next(i for i in report_for().checklist if i.key == "post-go-live")
    by_text = {f.text.split(":", 1)[0]: f.status for f in post.findings if "->" in f.text}
    assert by_text["quote-to-order"] is Verdict.PASS  # pagerduty, confirms itself
    assert by_text["lead-to-account"] is Verdict.WAITING  # slack: through AWS Chatbot
    assert Verdict.FAIL not in by_text.values()


# --------------------------------------------------------------------------- escaping


def hostile(where: str) -> str:
    """Markup, quotes of both kinds and an ampersand, tagged with where it was written."""
    return f'<script>alert("planted-{where}&\'")</script>'


class PageText(HTMLParser):
    """What a browser makes of a page: its elements and attributes, and its text unescaped."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: set[tuple[str, tuple[str, ...]]] = set()
        self.texts: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.add((tag, tuple(sorted(name for name, _ in attrs))))
        self.texts.extend(value for _, value in attrs if value)

    def handle_data(self, data: str) -> None:
        self.texts.append(data)


def test_roadmap_and_pack_values_with_markup_show_as_text_wherever_the_page_shows_them() -> None:
    def inject(by_name: dict[str, Any], data: Any) -> None:
        data["organisation"] = hostile("organisation")
        for system in data["systems"]:
            system["vendor"] = hostile("vendor")
            system["description"] = hostile("description")
        for integ in by_name.values():
            integ["owner_team"] = hostile("owner-team")
            integ["runbook"] = "https://wiki.example.com/runbooks?team=ops&view='full'"

    message = Violation("dlq-present", "mandatory", "urn:q", hostile("message"), "quote-to-order")
    stack_wide = Violation("budget", "advisory", "urn:s", hostile("stack-message"), None)
    policy = PolicyResults(
        available=True, policies=("dlq-present",), violations=(message, stack_wide)
    )
    costs = CostResults(
        available=True, per_integration={"quote-to-order": 1.0}, source=hostile("source")
    )
    roadmap = weakened(inject)
    pages = {
        "available": render_html(report_for(roadmap, policy=policy, costs=costs)),
        "unavailable": render_html(
            report_for(
                roadmap,
                policy=PolicyResults.unavailable(hostile("policy-reason")),
                costs=CostResults.unavailable(hostile("cost-reason")),
            )
        ),
    }
    clean = PageText(render_html(report_for()))
    shown: set[str] = set()
    for kind, page in pages.items():
        text = PageText(page)
        # No element or attribute the page does not have anyway: nothing broke out.
        assert text.elements <= clean.elements, kind
        assert not any(tag == "script" for tag, _ in text.elements), kind
        for where in set(re.findall(r"planted-([\w-]+)&", page)):
            # Every place the value's tag appears in the source, the whole value reads as text.
            assert page.count(f"planted-{where}") == sum(
                t.count(hostile(where)) for t in text.texts
            ), where
            shown.add(where)
        runbooks = [t for t in text.texts if t.startswith("https://wiki.example.com/runbooks")]
        assert set(runbooks) == {str(roadmap.integrations[0].runbook)}, kind
    assert shown >= {
        "organisation",  # title, heading
        "vendor",  # the map's system boxes
        "owner-team",  # the flow table, the first screen's sign-offs
        "message",
        "stack-message",
        "source",
        "policy-reason",
        "cost-reason",
    }


# --------------------------------------------------------------------------- first screen


def test_first_screen_says_what_is_live_being_built_and_planned_per_environment() -> None:
    glance = at_a_glance(report_for())
    assert glance.stages["prod"] == {
        "live": ("quote-to-order", "lead-to-account", "order-to-invoice", "warehouse-export"),
        "being built": ("inventory-to-promise", "credit-status-to-crm"),
        "planned": (
            "support-health-to-crm",
            "campaign-sync",
            "web-order-capture",
            "refund-capture",
        ),
    }
    assert glance.stages["dev"]["planned"] == ("web-order-capture",)


def test_first_screen_names_each_missing_sign_off_with_who_and_since_when() -> None:
    sentences = [w.sentence() for w in at_a_glance(report_for()).waiting]
    assert (
        "order-to-invoice: the owning team's sign-off, from finance-systems, to move from "
        "phase 3 to 4 in staging, prod, waiting since 2026-04-16" in sentences
    )
    # Phase 1 has no step before it: no date to wait since.
    assert (
        "web-order-capture: approval of the source-of-truth matrix (who owns each object and "
        "field), from ecommerce, to move from phase 1 to 2 in dev, staging, prod" in sentences
    )


def test_first_screen_lists_what_fails_and_the_monthly_cost_in_words() -> None:
    def blank(_by_name: dict[str, Any], data: Any) -> None:
        data["systems"][1]["description"] = ""

    report = report_for(weakened(blank))
    glance = at_a_glance(report)
    # prod's slack: alert paths post through AWS Chatbot (waiting on the workspace's
    # authorisation, not failing), so only the blanked system fails.
    assert [line.split(" ", 4)[:4] for line in glance.failing] == [
        ["Is", "every", "system", "listed?"],
    ]
    assert glance.cost == "prod costs about $19.75 a month in AWS charges for 2 integration(s)."
    assert not at_a_glance(report_for()).failing
    html = render_html(report)
    assert html.index("<section id='glance'>") < html.index("<h2 id='map'>")
    md = render_markdown(report)
    assert "## What fails\n\n- Is every system listed? " in md
    assert "## Waiting on a person\n\n- order-to-invoice: a link to the rollback plan" in md
