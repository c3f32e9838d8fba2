"""SageMaker endpoint configs (which models, encrypted or not) and endpoints (which config they run)."""

from __future__ import annotations

from streams.detect.examples import ACCOUNT, cloudtrail
from streams.detect.graph.base import Call, ExtractorMeta, Fact, expect
from streams.detect.graph.extractors.sagemaker_model import model_arn

META = ExtractorMeta(
    id="sagemaker_endpoint", title="SageMaker endpoint configs and endpoints",
    services=("sagemaker.amazonaws.com",),
    actions=("CreateEndpointConfig", "DeleteEndpointConfig", "CreateEndpoint", "UpdateEndpoint", "DeleteEndpoint"),
    kinds=("sagemaker_endpoint_config", "sagemaker_endpoint"),
)
CONFIG, ENDPOINT = "sagemaker_endpoint_config", "sagemaker_endpoint"


def config_arn(call: Call, name: str) -> str:
    return call.arn("sagemaker", f"endpoint-config/{name.lower()}")


def endpoint_arn(call: Call, name: str) -> str:
    return call.arn("sagemaker", f"endpoint/{name.lower()}")


def extract(event: dict) -> list[Fact]:
    call = Call.of(event)
    action = event["action"]
    if action.endswith("EndpointConfig"):
        name = call.text(call.param, "endpointConfigName")
        config = call.text(call.response, "endpointConfigArn") or (config_arn(call, name) if name else "")
        if not config:
            return []
        if action.startswith("Delete"):
            return [call.asset(config, CONFIG, "delete")]
        facts: list[Fact] = [call.asset(config, CONFIG, "create", name=name, provider="aws-sagemaker",
                                        flags_on=() if call.param("kmsKeyId") else ("no_kms_key",))]
        for variant in call.param("productionVariants") or []:
            if isinstance(variant, dict) and isinstance(variant.get("modelName"), str):
                facts.append(call.edge(model_arn(call, variant["modelName"]), "sagemaker_model", "configured_in",
                                       config, CONFIG, detail={"variant": variant.get("variantName", "")}))
        return facts
    name = call.text(call.param, "endpointName")
    endpoint = call.text(call.response, "endpointArn") or (endpoint_arn(call, name) if name else "")
    if not endpoint:
        return []
    if action == "DeleteEndpoint":
        return [call.asset(endpoint, ENDPOINT, "delete")]
    facts = [call.asset(endpoint, ENDPOINT, "create" if action == "CreateEndpoint" else "update", name=name,
                        provider="aws-sagemaker")]
    config_name = call.text(call.param, "endpointConfigName")
    if config_name:
        facts.append(call.edge(config_arn(call, config_name), CONFIG, "deployed_as", endpoint, ENDPOINT,
                               slot=f"deployed_as|{endpoint}"))
    return facts


_CONFIG = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint-config/churn-cfg"
_ENDPOINT = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/churn"
EXAMPLES = [
    expect("a config serving a model",
           cloudtrail("CreateEndpointConfig", "sagemaker.amazonaws.com", params={
               "endpointConfigName": "churn-cfg", "productionVariants": [{"variantName": "a", "modelName": "churn"}]},
               response={"endpointConfigArn": _CONFIG}),
           ("asset", "create", CONFIG, _CONFIG, "no_kms_key"),
           ("edge", "open", f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model/churn", "configured_in", _CONFIG)),
    expect("an endpoint on it",
           cloudtrail("CreateEndpoint", "sagemaker.amazonaws.com",
                      params={"endpointName": "churn", "endpointConfigName": "churn-cfg"},
                      response={"endpointArn": _ENDPOINT}),
           ("asset", "create", ENDPOINT, _ENDPOINT), ("edge", "open", _CONFIG, "deployed_as", _ENDPOINT)),
    expect("deleted", cloudtrail("DeleteEndpoint", "sagemaker.amazonaws.com", params={"endpointName": "churn"}),
           ("asset", "delete", ENDPOINT, _ENDPOINT)),
    expect("refused", cloudtrail("CreateEndpoint", "sagemaker.amazonaws.com", params={"endpointName": "churn"},
                                 error="ValidationException")),
]
