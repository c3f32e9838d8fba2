"""Vertex AI models (uploaded, deleted) and endpoints (created, deleted, which models they serve), from the
GCP Admin Activity audit log.

Node ids are resource names, ``projects/P/locations/L/endpoints/E`` and ``.../models/M``, with P the
entry's project id: a long-running operation's name (what a create's response holds, and the only place
the new id is when the service chose it) spells the project by number, a caller by id or number, so
one spelling keeps an endpoint's create, deploys and delete on one node.

No posture flags: Google documents an audit log's ``request`` as possibly leaving parameters out
(google.cloud.audit.AuditLog), so a missing ``encryptionSpec`` or ``network`` is no proof of a Google
managed key or a public endpoint. What a request does show is kept as attributes.
"""

from __future__ import annotations

from typing import Any

from streams.detect.examples import GCP_PROJECT, GCP_PROJECT_NUMBER, gcp_audit
from streams.detect.graph.base import AuditCall, ExtractorMeta, Fact, expect

# "ui" is what the Cloud console calls (google.cloud.aiplatform.ui.EndpointService.CreateEndpoint).
_API_VERSIONS = ("v1", "v1beta1", "ui")
_METHODS = ("ModelService.UploadModel", "ModelService.DeleteModel", "EndpointService.CreateEndpoint",
            "EndpointService.DeleteEndpoint", "EndpointService.DeployModel", "EndpointService.UndeployModel")

META = ExtractorMeta(
    id="vertex_ai", title="Vertex AI models uploaded and deleted, endpoints created, deleted and serving models",
    family="audit", formats=("gcp_audit",), services=("aiplatform.googleapis.com",),
    actions=tuple(f"google.cloud.aiplatform.{version}.{method}" for version in _API_VERSIONS for method in _METHODS),
    kinds=("vertex_model", "vertex_endpoint"),
)
MODEL, ENDPOINT = "vertex_model", "vertex_endpoint"
PROVIDER = "gcp-vertex-ai"


def resource_node(call: AuditCall, name: Any, collection: str) -> tuple[str, str]:
    """(node id, location) of the ``collection`` resource a resource or operation name names: ``projects/
    P/locations/L/<collection>/<id>[@version][/operations/O]`` with P the entry's project; ('', '') else."""
    if not isinstance(name, str):
        return "", ""
    parts = name[name.find("projects/"):].split("/") if "projects/" in name else []
    if len(parts) < 6 or parts[2] != "locations" or parts[4] != collection or not parts[5]:
        return "", ""
    resource_id = parts[5].split("@", 1)[0]  # models/M@2: the model, whichever version
    return f"projects/{call.account or parts[1]}/locations/{parts[3]}/{collection}/{resource_id}", parts[3]


def _first_node(call: AuditCall, collection: str, *names: Any) -> tuple[str, str]:
    for name in names:
        node, location = resource_node(call, name, collection)
        if node:
            return node, location
    return "", ""


def _created(call: AuditCall, collection: str, id_field: str) -> tuple[str, str]:
    """The resource a create made: the response's operation (or resource) name, else the id the caller
    chose under the request's parent, else the entry's resource name."""
    parent, chosen = call.raw("protoPayload", "request", "parent"), call.raw("protoPayload", "request", id_field)
    child = f"{parent}/{collection}/{chosen}" if isinstance(parent, str) and isinstance(chosen, str) else None
    return _first_node(call, collection, call.raw("protoPayload", "response", "name"), child, call.target)


def _named(call: AuditCall, collection: str, field: str = "name") -> tuple[str, str]:
    """The resource a call on one names: the request's field, else the entry's resource name."""
    return _first_node(call, collection, call.raw("protoPayload", "request", field), call.target)


def _shown(resource: Any) -> dict[str, Any]:
    """What a request's Endpoint or Model says of where it runs and how it is keyed, where it says so."""
    if not isinstance(resource, dict):
        return {}
    shown: dict[str, Any] = {}
    encryption = resource.get("encryptionSpec")
    kms_key = encryption.get("kmsKeyName") if isinstance(encryption, dict) else None
    if isinstance(kms_key, str) and kms_key:
        shown["kms_key"] = kms_key
    for key, attribute in (("network", "network"), ("artifactUri", "artifact_uri")):
        if isinstance(resource.get(key), str) and resource[key]:
            shown[attribute] = resource[key]
    psc = resource.get("privateServiceConnectConfig")
    if isinstance(psc, dict) and psc.get("enablePrivateServiceConnect") is True:
        shown["private_service_connect"] = True
    image = resource.get("containerSpec")
    if isinstance(image, dict) and isinstance(image.get("imageUri"), str):
        shown["container_image"] = image["imageUri"]
    return shown


def _display_name(resource: Any) -> str:
    name = resource.get("displayName") if isinstance(resource, dict) else None
    return name if isinstance(name, str) else ""


def extract(event: dict) -> list[Fact]:
    call = AuditCall.of(event)
    method = event["action"].rsplit(".", 1)[-1]
    if method == "CreateEndpoint":
        endpoint, location = _created(call, "endpoints", "endpointId")
        spec = call.raw("protoPayload", "request", "endpoint")
        return [call.asset(endpoint, ENDPOINT, "create", name=_display_name(spec), provider=PROVIDER, region=location,
                           attributes=_shown(spec))] if endpoint else []
    if method == "UploadModel":
        spec = call.raw("protoPayload", "request", "model")
        parent_model, location = resource_node(call, call.raw("protoPayload", "request", "parentModel"), "models")
        model, location = (parent_model, location) if parent_model else _created(call, "models", "modelId")
        # A parentModel upload adds a version to a model that exists: the model is the same asset.
        return [call.asset(model, MODEL, "update" if parent_model else "create", name=_display_name(spec),
                           provider=PROVIDER, region=location, attributes=_shown(spec))] if model else []
    if method in ("DeleteEndpoint", "DeleteModel"):
        collection, kind = ("endpoints", ENDPOINT) if method == "DeleteEndpoint" else ("models", MODEL)
        node, location = _named(call, collection)
        return [call.asset(node, kind, "delete", region=location)] if node else []
    endpoint, _ = _named(call, "endpoints", "endpoint")
    if not endpoint:
        return []
    if method == "UndeployModel":
        deployed_id = call.raw("protoPayload", "request", "deployedModelId")
        if not isinstance(deployed_id, str) or not deployed_id:
            return []
        # The request names the deployed model's id, not the model: the close names the slot the deploy
        # opened and closes whichever model holds it.
        return [call.edge("", MODEL, "deployed_as", endpoint, ENDPOINT, "close",
                          slot=f"deployed_as|{endpoint}|{deployed_id}", detail={"deployed_model_id": deployed_id})]
    deployed = call.raw("protoPayload", "request", "deployedModel")
    model, _ = resource_node(call, deployed.get("model") if isinstance(deployed, dict) else None, "models")
    if not model:
        return []
    # The id is the caller's where it chose one; else Vertex AI picks it and only the finished operation's
    # response (DeployModelResponse) holds it. Without one no UndeployModel can name the edge: it stays
    # until the endpoint or the model is deleted.
    deployed_id = deployed.get("id") or call.raw("protoPayload", "response", "deployedModel", "id") or ""
    deployed_id = deployed_id if isinstance(deployed_id, str) else ""
    return [call.edge(model, MODEL, "deployed_as", endpoint, ENDPOINT,
                      slot=f"deployed_as|{endpoint}|{deployed_id}" if deployed_id else "",
                      detail={"deployed_model_id": deployed_id, "model": deployed.get("model")})]


_V1 = "google.cloud.aiplatform.v1"
_PARENT = f"projects/{GCP_PROJECT}/locations/us-central1"
_ENDPOINT = f"{_PARENT}/endpoints/4385720310924738560"
_MODEL = f"{_PARENT}/models/2955453170601426944"
_OPERATION = f"projects/{GCP_PROJECT_NUMBER}/locations/us-central1/{{}}/operations/7180409647818342400"
EXAMPLES = [
    expect("an endpoint created: its id from the operation, its project by id",
           gcp_audit(f"{_V1}.EndpointService.CreateEndpoint", resource_name=_PARENT,
                     request={"@type": f"type.googleapis.com/{_V1}.CreateEndpointRequest", "parent": _PARENT,
                              "endpoint": {"displayName": "churn-online"}},
                     response={"@type": "type.googleapis.com/google.longrunning.Operation",
                               "name": _OPERATION.format("endpoints/4385720310924738560")}),
           ("asset", "create", ENDPOINT, _ENDPOINT)),
    expect("a model uploaded from the console",
           gcp_audit("google.cloud.aiplatform.ui.ModelService.UploadModel", resource_name=_PARENT,
                     request={"parent": _PARENT, "model": {"displayName": "churn-xgb",
                                                           "artifactUri": "gs://acme-models/churn/7"}},
                     response={"name": _OPERATION.format("models/2955453170601426944")}),
           ("asset", "create", MODEL, _MODEL)),
    expect("the model deployed to the endpoint",
           gcp_audit(f"{_V1}.EndpointService.DeployModel", resource_name=_ENDPOINT,
                     request={"endpoint": _ENDPOINT, "deployedModel": {"model": f"{_MODEL}@1", "id": "churn_v1"}}),
           ("edge", "open", _MODEL, "deployed_as", _ENDPOINT)),
    expect("undeployed by its deployed model id",
           gcp_audit("google.cloud.aiplatform.v1beta1.EndpointService.UndeployModel", resource_name=_ENDPOINT,
                     request={"endpoint": _ENDPOINT, "deployedModelId": "churn_v1"}),
           ("edge", "close", "", "deployed_as", _ENDPOINT)),
    expect("the endpoint deleted", gcp_audit(f"{_V1}.EndpointService.DeleteEndpoint", resource_name=_ENDPOINT,
                                             request={"name": _ENDPOINT}),
           ("asset", "delete", ENDPOINT, _ENDPOINT)),
    expect("a denied create makes nothing",
           gcp_audit(f"{_V1}.EndpointService.CreateEndpoint", resource_name=_PARENT, error_code=7,
                     request={"parent": _PARENT, "endpoint": {"displayName": "x"}})),
    expect("a deploy whose request names no model",
           gcp_audit(f"{_V1}.EndpointService.DeployModel", resource_name=_ENDPOINT, request={"endpoint": _ENDPOINT})),
]
