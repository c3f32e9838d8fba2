"""Vertex AI and Azure OpenAI in the AI asset graph: raw GCP audit entries and Azure Activity records go
through the real audit normalizer, then the extractors; the graph and the inventory they make, which rows
the stream decodes for them, and the facts landed by the detection stage and read back by the saved
queries."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import polars as pl
import pytest
from pydantic import ValidationError

from streams.detect.examples import (
    AZURE_SUBSCRIPTION,
    GCP_PROJECT,
    GCP_PROJECT_NUMBER,
    azure_activity,
    cloudtrail,
    gcp_audit,
    normalize_audit_record,
)
from streams.detect.graph.base import ExtractorMeta
from streams.detect.graph.extract import candidates, extract_facts
from streams.detect.graph.facts import AssetFact, EdgeFact, graph_at
from streams.detect.graph.inventory import cyclonedx, inventory, load_graph
from streams.detect.graph.path_examples import moment
from streams.normalize.batch import check_events
from tests.conftest import fresh_database_settings

V1 = "google.cloud.aiplatform.v1"
PARENT = f"projects/{GCP_PROJECT}/locations/europe-west4"
ENDPOINT = f"{PARENT}/endpoints/1122334455"
MODEL = f"{PARENT}/models/9988776655"
OTHER_MODEL = f"{PARENT}/models/5566778899"
ACCOUNT = (f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/ai/providers/Microsoft.CognitiveServices/"
           "accounts/support-bot")
DEPLOYMENT = f"{ACCOUNT}/deployments/chat"
ACCOUNT_BODY = {"kind": "OpenAI", "location": "swedencentral",
                "properties": {"publicNetworkAccess": "Enabled", "networkAcls": {"defaultAction": "Allow"}}}
DEPLOYMENT_BODY = {"properties": {"model": {"format": "OpenAI", "name": "gpt-4o-mini", "version": "2024-07-18"}}}


def split(facts):
    return [f for f in facts if isinstance(f, AssetFact)], [f for f in facts if isinstance(f, EdgeFact)]


def operation(collection_and_id: str) -> dict:
    """A long-running operation as a create's audit entry holds it: the project by number."""
    return {"@type": "type.googleapis.com/google.longrunning.Operation",
            "name": f"projects/{GCP_PROJECT_NUMBER}/locations/europe-west4/{collection_and_id}/operations/42"}


def vertex_lifecycle() -> list[dict]:
    return [
        gcp_audit(f"{V1}.EndpointService.CreateEndpoint", resource_name=PARENT, at=0,
                  request={"parent": PARENT, "endpoint": {"displayName": "fraud", "network": "projects/1/global/networks/ml"}},
                  response=operation("endpoints/1122334455")),
        gcp_audit(f"{V1}.ModelService.UploadModel", resource_name=PARENT, at=10,
                  request={"parent": PARENT, "model": {"displayName": "fraud-gbt"}}, response=operation("models/9988776655")),
        gcp_audit(f"{V1}.ModelService.UploadModel", resource_name=PARENT, at=11,
                  request={"parent": PARENT, "modelId": "5566778899", "model": {"displayName": "fraud-nn"}}),
        gcp_audit(f"{V1}.EndpointService.DeployModel", resource_name=ENDPOINT, at=20,
                  request={"endpoint": ENDPOINT, "deployedModel": {"model": MODEL, "id": "blue"}}),
        # Deployed without an id of the caller's: nothing later can name it but the endpoint's delete.
        gcp_audit("google.cloud.aiplatform.v1beta1.EndpointService.DeployModel", resource_name=ENDPOINT, at=25,
                  request={"endpoint": ENDPOINT, "deployedModel": {"model": f"{OTHER_MODEL}@3"}}),
        gcp_audit(f"{V1}.EndpointService.UndeployModel", resource_name=ENDPOINT, at=30,
                  request={"endpoint": ENDPOINT, "deployedModelId": "blue"}),
        # The caller spells the project by number here; the node is the same.
        gcp_audit(f"{V1}.EndpointService.DeleteEndpoint", at=40,
                  resource_name=f"projects/{GCP_PROJECT_NUMBER}/locations/europe-west4/endpoints/1122334455",
                  request={"name": f"projects/{GCP_PROJECT_NUMBER}/locations/europe-west4/endpoints/1122334455"}),
    ]


def test_vertex_endpoint_serves_its_models_until_undeployed_and_deleted() -> None:
    assets, edges = split(extract_facts(vertex_lifecycle()).facts)

    served = graph_at(assets, edges, moment(27))
    endpoint = served.assets[ENDPOINT]
    assert (endpoint.kind, endpoint.name, endpoint.region, endpoint.account) == (
        "vertex_endpoint", "fraud", "europe-west4", GCP_PROJECT)
    assert endpoint.created_by == "ml-eng@acme.example" and endpoint.attributes["network"].endswith("/networks/ml")
    assert {a.asset_id for a in served.of_kind("vertex_model")} == {MODEL, OTHER_MODEL}
    deployed = {e.src: e.detail["deployed_model_id"] for e in served.in_edges(ENDPOINT, "deployed_as")}
    assert deployed == {MODEL: "blue", OTHER_MODEL: ""}

    after_undeploy = graph_at(assets, edges, moment(35))
    assert [e.src for e in after_undeploy.in_edges(ENDPOINT, "deployed_as")] == [OTHER_MODEL]

    gone = graph_at(assets, edges, moment(45))
    assert ENDPOINT not in gone.assets and gone.edges == []
    assert {a.asset_id for a in gone.of_kind("vertex_model")} == {MODEL, OTHER_MODEL}


def test_a_model_redeployed_under_the_undeployed_id_serves_again() -> None:
    deploy = {"endpoint": ENDPOINT, "deployedModel": {"model": MODEL, "id": "blue"}}
    events = [gcp_audit(f"{V1}.EndpointService.DeployModel", resource_name=ENDPOINT, request=deploy, at=0),
              gcp_audit(f"{V1}.EndpointService.UndeployModel", resource_name=ENDPOINT, at=10,
                        request={"endpoint": ENDPOINT, "deployedModelId": "blue"}),
              gcp_audit(f"{V1}.EndpointService.DeployModel", resource_name=ENDPOINT, request=deploy, at=20)]
    assets, edges = split(extract_facts(events).facts)
    assert [len(graph_at(assets, edges, moment(s)).edges) for s in (5, 15, 25)] == [1, 0, 1]


def azure_operation(operation: str, resource_id: str, body: dict | None, *results: tuple[str, str, float],
                    keep_bodies: bool = True) -> list[dict]:
    """One ARM operation's records, as the Activity log writes them: (result, status, at) each; the body as
    the request before the operation ends (Start, Accept), as ARM's answer at its end."""
    return [azure_activity(operation, resource_id=resource_id, result=result, status=status, at=at,
                           request_body=body if result in ("Start", "Accept") else None,
                           response_body=body if result == "Success" else None, keep_bodies=keep_bodies)
            for result, status, at in results]


def test_an_azure_account_is_made_once_by_the_record_that_says_it_succeeded() -> None:
    records = azure_operation("Microsoft.CognitiveServices/accounts/write", ACCOUNT, ACCOUNT_BODY,
                              ("Start", "", 0), ("Accept", "Created", 1), ("Success", "Created", 40))
    assert [r["outcome"] for r in records] == ["unknown", "success", "success"]  # the Accept passes the dispatch
    assets, edges = split(extract_facts(records).facts)
    assert [(a.op, a.time, set(a.flags_on)) for a in assets] == [
        ("create", moment(40), {"direct_internet", "no_kms_key"})]
    account = graph_at(assets, edges, moment(50)).assets[ACCOUNT.lower()]
    assert (account.name, account.region, account.account) == ("support-bot", "swedencentral", AZURE_SUBSCRIPTION)

    failed = azure_operation("Microsoft.CognitiveServices/accounts/write", ACCOUNT, ACCOUNT_BODY,
                             ("Start", "", 0), ("Failure", "Conflict", 5))
    assert extract_facts(failed).facts == []


def test_a_network_rule_that_denies_by_default_is_no_direct_internet() -> None:
    body = {**ACCOUNT_BODY, "properties": {"publicNetworkAccess": "Enabled", "networkAcls": {"defaultAction": "Deny"}}}
    [fact] = extract_facts(azure_operation("Microsoft.CognitiveServices/accounts/write", ACCOUNT, body,
                                           ("Success", "OK", 0))).facts
    assert (fact.op, fact.flags_on, fact.flags_off) == ("update", ("no_kms_key",), ("direct_internet",))


def test_a_rest_api_record_in_the_providers_spelling_gives_the_same_facts() -> None:
    """The Activity Log REST API (az monitor activity-log list) spells the operation as the provider does and
    its result as status.value: the same deployment as the export's upper-cased record."""
    rest = normalize_audit_record({
        "eventDataId": "6f0e1d2c-3b4a-4958-8776-a5b4c3d2e1f0", "correlationId": "c0ffee00-0000-4000-8000-000000000001",
        "eventTimestamp": "2025-03-04T10:00:00.5000000Z", "caller": "platform-admin@acme.example",
        "operationName": {"value": "Microsoft.CognitiveServices/accounts/deployments/write",
                          "localizedValue": "Create or update deployment"},
        "status": {"value": "Succeeded", "localizedValue": "Succeeded"}, "subStatus": {"value": "Created"},
        "resourceId": DEPLOYMENT, "subscriptionId": AZURE_SUBSCRIPTION, "category": {"value": "Administrative"},
        "properties": {"statusCode": "Created", "responseBody": orjson.dumps(DEPLOYMENT_BODY).decode()},
    }, keep_bodies=True)
    export = azure_activity("Microsoft.CognitiveServices/accounts/deployments/write", resource_id=DEPLOYMENT,
                            response_body=DEPLOYMENT_BODY, keep_bodies=True)
    assert rest["action"] != export["action"] and rest["action"].lower() == export["action"].lower()

    def identities(event: dict) -> set:
        return {(f.asset_id, f.kind, f.op) if isinstance(f, AssetFact) else (f.src, f.kind, f.dst)
                for f in extract_facts([event]).facts}

    assert identities(rest) == identities(export) == {
        (DEPLOYMENT.lower(), "azure_openai_deployment", "create"), (ACCOUNT.lower(), "azure_openai_account", "update"),
        ("azure-openai:openai/gpt-4o-mini:2024-07-18", "azure_openai_model", "update"),
        (ACCOUNT.lower(), "hosts", DEPLOYMENT.lower()),
        (DEPLOYMENT.lower(), "serves", "azure-openai:openai/gpt-4o-mini:2024-07-18")}


def cloud_events() -> list[dict]:
    return [*vertex_lifecycle()[:4],
            *azure_operation("Microsoft.CognitiveServices/accounts/write", ACCOUNT, ACCOUNT_BODY,
                             ("Start", "", 0), ("Success", "Created", 30)),
            *azure_operation("Microsoft.CognitiveServices/accounts/deployments/write", DEPLOYMENT, DEPLOYMENT_BODY,
                             ("Start", "", 40), ("Success", "Created", 50))]


def test_the_inventory_lists_the_new_kinds() -> None:
    assets, edges = split(extract_facts(cloud_events()).facts)
    graph = graph_at(assets, edges, moment(60))
    listed = {(a.kind, a.asset_id) for a in inventory(graph)}
    assert listed == {("vertex_endpoint", ENDPOINT), ("vertex_model", MODEL), ("vertex_model", OTHER_MODEL),
                      ("azure_openai_account", ACCOUNT.lower()), ("azure_openai_deployment", DEPLOYMENT.lower()),
                      ("azure_openai_model", "azure-openai:openai/gpt-4o-mini:2024-07-18")}
    bom = cyclonedx(graph, tool_version="test")
    types = {c["bom-ref"]: c["type"] for c in bom["components"]}
    assert types[MODEL] == types["azure-openai:openai/gpt-4o-mini:2024-07-18"] == "machine-learning-model"
    assert types[ENDPOINT] == types[DEPLOYMENT.lower()] == "application"
    depends = {d["ref"]: d["dependsOn"] for d in bom["dependencies"]}
    assert depends[DEPLOYMENT.lower()] == [ACCOUNT.lower()]
    assert depends[ENDPOINT] == [MODEL]


def test_candidates_are_the_cloud_rows_the_extractors_read_and_the_cloudtrail_ones_as_before() -> None:
    wanted = {
        "sagemaker": cloudtrail("CreateEndpoint", "sagemaker.amazonaws.com", params={"endpointName": "e"}),
        "vertex": vertex_lifecycle()[0],
        "azure export": azure_activity("Microsoft.CognitiveServices/accounts/write", resource_id=ACCOUNT),
        "azure rest": normalize_audit_record({
            "eventDataId": "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6", "eventTimestamp": "2025-03-04T10:00:00Z",
            "operationName": {"value": "Microsoft.CognitiveServices/accounts/delete"},
            "status": {"value": "Succeeded"}, "resourceId": ACCOUNT, "caller": "a@acme.example"}),
    }
    unwanted = {
        "cloudtrail read": cloudtrail("ListModels", "sagemaker.amazonaws.com"),
        "vertex denied": gcp_audit(f"{V1}.EndpointService.CreateEndpoint", resource_name=PARENT, error_code=7),
        "vertex predict": gcp_audit(f"{V1}.PredictionService.Predict", resource_name=ENDPOINT),
        "bigquery": gcp_audit("google.cloud.bigquery.v2.JobService.InsertJob", service="bigquery.googleapis.com",
                              resource_name=f"projects/{GCP_PROJECT}/jobs/j1"),
        "azure start": azure_activity("Microsoft.CognitiveServices/accounts/write", resource_id=ACCOUNT, result="Start"),
        "azure vm": azure_activity("Microsoft.Compute/virtualMachines/write", status="OK",
                                   resource_id=ACCOUNT.replace("Microsoft.CognitiveServices/accounts", "x")),
    }
    events = {**wanted, **unwanted}
    frame = check_events(list(events.values())).frame.with_columns(
        pl.Series("name", list(events)))
    assert sorted(frame.filter(candidates())["name"].to_list()) == sorted(wanted)


def test_an_audit_extractor_names_its_formats_and_a_cloudtrail_one_none() -> None:
    with pytest.raises(ValidationError, match="names the formats"):
        ExtractorMeta(id="vertex_x", title="no formats", family="audit", services=("s",), actions=("a",))
    with pytest.raises(ValidationError, match="names none"):
        ExtractorMeta(id="bedrock_x", title="a format", formats=("gcp_audit",), services=("s",), actions=("a",))


def test_facts_landed_by_the_stage_fold_back_from_the_store(chdb_data_dir) -> None:
    """Through the detection stage and the saved queries: the undeploy's slot-only close survives the store's
    one-row-per-edge reduction, and the inventory reads the new kinds back."""
    from streams.detect.pipeline import Detectors
    from streams.detect.stage import DetectionStage
    from streams.runtime.queries import load_saved_query
    from streams.runtime.store import Store

    store = Store(fresh_database_settings(chdb_data_dir))
    store.migrate()
    stage = DetectionStage(detectors=Detectors.default(), store=store, send_alerts=lambda _m: None,
                           window_ms=3_600_000)
    stage.load()
    stage.commit(stage.prepare_events([dict(event) for event in cloud_events() + vertex_lifecycle()[4:6]]))

    def at(seconds: float):
        when = datetime.fromtimestamp(moment(seconds) / 1000, UTC)
        return load_graph(lambda name, parameters: store.query(load_saved_query(name).sql, parameters), when)

    assert sorted(e.src for e in at(27).in_edges(ENDPOINT, "deployed_as")) == sorted([MODEL, OTHER_MODEL])
    assert [e.src for e in at(35).in_edges(ENDPOINT, "deployed_as")] == [OTHER_MODEL]
    kinds = {a.kind for a in inventory(at(60))}
    assert kinds == {"vertex_endpoint", "vertex_model", "azure_openai_account", "azure_openai_deployment",
                     "azure_openai_model"}
    store.close()


def test_the_demos_cloud_traffic_puts_its_vertex_and_azure_assets_in_the_graph() -> None:
    from streams.demo import generate
    from streams.normalize import normalize_message

    events = [event for value in generate()["audit"] for event in normalize_message("audit", value).events]
    result = extract_facts(events)
    assets, edges = split(result.facts)
    graph = graph_at(assets, edges, max(f.time for f in result.facts))
    assert result.errors == []
    assert {a.kind for a in inventory(graph)} == {"vertex_model", "vertex_endpoint", "azure_openai_account",
                                                    "azure_openai_deployment"}
    assert {e.kind for e in graph.edges} == {"deployed_as", "hosts"}
    # The demo's Start records carry an HTTP status (the normalizer's success): each write still made one fact.
    assert sorted(a.kind for a in assets if a.op == "create") == ["azure_openai_deployment", "vertex_endpoint",
                                                                  "vertex_model"]
