"""Azure OpenAI accounts (how exposed, how keyed), their model deployments and the models they serve, from
the Azure Activity log.

ARM logs each write or delete more than once: ``Start`` (its ``properties.requestbody`` holds the
request's JSON), for a long-running one ``Accept``, then ``Success`` or ``Failure`` (its
``properties.responseBody`` the resource as ARM answered, where the provider logs one). The normalizer
calls a Start or Accept that carries an HTTP status a success too, so only a record whose own result
says ``Success`` (``Succeeded`` in the REST shape) makes facts: an asset is made once, and never by an
operation that failed after it started.

Ingest replaces both bodies by their size and fingerprint unless ``ingest.redact_bodies`` is off (they
are request content like any other), so by default what a body says is unknown here: an account's kind
and posture, the model a deployment serves. Then a Cognitive Services account is known to be an Azure
OpenAI one only by the deployments it holds, and a deployment by its id alone. Where the bodies are kept,
an account is an Azure OpenAI account when its body says its kind is ``OpenAI`` or ``AIServices`` (Azure
AI services accounts serve the same models), and its posture and its deployments' models come from them.

Node ids are the lower-cased ARM resource ids (exports upper-case them).
"""

from __future__ import annotations

from typing import Any

import orjson

from streams.detect.examples import AZURE_SUBSCRIPTION, azure_activity
from streams.detect.graph.base import AuditCall, ExtractorMeta, Fact, expect

META = ExtractorMeta(
    id="azure_openai", title="Azure OpenAI accounts, model deployments and the models they serve",
    family="audit", formats=("azure_activity",), services=("Microsoft.CognitiveServices",),
    actions=("Microsoft.CognitiveServices/accounts/write", "Microsoft.CognitiveServices/accounts/delete",
             "Microsoft.CognitiveServices/accounts/deployments/write",
             "Microsoft.CognitiveServices/accounts/deployments/delete"),
    kinds=("azure_openai_account", "azure_openai_deployment", "azure_openai_model"),
)
ACCOUNT, DEPLOYMENT, MODEL = "azure_openai_account", "azure_openai_deployment", "azure_openai_model"
PROVIDER = "azure-openai"
_OPENAI_KINDS = frozenset({"openai", "aiservices"})
_FINISHED = frozenset({"success", "succeeded"})
_ACCOUNTS = "/providers/microsoft.cognitiveservices/accounts/"
_DEPLOYMENTS = "/deployments/"


def _succeeded(call: AuditCall) -> bool:
    """The record is the operation's end and says it succeeded (exports: resultType; REST: status.value)."""
    result = call.raw("resultType") or call.raw("status")
    if isinstance(result, dict):
        result = result.get("value")
    return isinstance(result, str) and result.lower() in _FINISHED


def _body(call: AuditCall) -> dict[str, Any]:
    """The resource as ARM answered (``responseBody``), else as it was asked for (``requestbody``); {}
    when neither is there or readable (ARM cuts long bodies)."""
    for key in ("responseBody", "requestbody"):
        value = call.raw("properties", key)
        if isinstance(value, str) and value:
            try:
                value = orjson.loads(value)
            except orjson.JSONDecodeError:
                continue
        if isinstance(value, dict) and value:
            return value
    return {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def account_posture(properties: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(flags on, flags off) an account's properties show: reachable from the internet unless public
    access is off or the network rules deny by default (the portal's "selected networks"); keyed by
    Microsoft unless the key comes from a Key Vault (a customer-managed key)."""
    public = _text(properties.get("publicNetworkAccess")).lower() != "disabled"
    restricted = _text(_mapping(properties.get("networkAcls")).get("defaultAction")).lower() == "deny"
    customer_key = _text(_mapping(properties.get("encryption")).get("keySource")).lower() == "microsoft.keyvault"
    flags = {"direct_internet": public and not restricted, "no_kms_key": not customer_key}
    return (tuple(f for f, on in flags.items() if on), tuple(f for f, on in flags.items() if not on))


def model_node(model: dict[str, Any]) -> str:
    """The node of a model a deployment serves, by format, name and version (the same model in every account)."""
    name = _text(model.get("name"))
    if not name:
        return ""
    version = _text(model.get("version"))
    return f"azure-openai:{_text(model.get('format')) or 'openai'}/{name}{':' + version if version else ''}".lower()


def _name(node: str, body: dict[str, Any]) -> str:
    return _text(body.get("name")) or node.rsplit("/", 1)[-1]


def extract(event: dict) -> list[Fact]:
    call = AuditCall.of(event)
    node = call.target.lower()
    if _ACCOUNTS not in node or not _succeeded(call):
        return []
    deleted = event["action"].lower().endswith("/delete")
    # ARM answers a PUT that made the resource 201 Created, one that changed it 200 OK.
    op = "update" if event.get("status_code") == 200 else "create"
    body = _body(call)
    properties = _mapping(body.get("properties"))
    region = _text(body.get("location"))
    if _DEPLOYMENTS not in node:
        if deleted:
            return [call.asset(node, ACCOUNT, "delete")]
        kind = _text(body.get("kind"))
        if kind.lower() not in _OPENAI_KINDS:
            return []
        flags_on, flags_off = account_posture(properties)
        attributes = {"account_kind": kind, "sku": _text(_mapping(body.get("sku")).get("name")),
                      "endpoint": _text(properties.get("endpoint"))}
        return [call.asset(node, ACCOUNT, op, name=_name(node, body), provider=PROVIDER, region=region,
                           flags_on=flags_on, flags_off=flags_off,
                           attributes={key: value for key, value in attributes.items() if value})]
    if deleted:
        return [call.asset(node, DEPLOYMENT, "delete")]
    account = node.split(_DEPLOYMENTS, 1)[0]
    model = _mapping(properties.get("model"))
    attributes = {"sku": _text(_mapping(body.get("sku")).get("name")), "model": _text(model.get("name")),
                  "model_version": _text(model.get("version")), "rai_policy": _text(properties.get("raiPolicyName"))}
    facts: list[Fact] = [
        call.asset(node, DEPLOYMENT, op, name=_name(node, body), provider=PROVIDER, region=region,
                   attributes={key: value for key, value in attributes.items() if value}),
        # Only an OpenAI-capable account holds deployments: it is one whatever its own records showed.
        call.asset(account, ACCOUNT, "update", name=account.rsplit("/", 1)[-1], provider=PROVIDER, region=region),
        call.edge(account, ACCOUNT, "hosts", node, DEPLOYMENT),
    ]
    served = model_node(model)
    if served:
        facts += [call.asset(served, MODEL, "update", name=_text(model.get("name")), provider=PROVIDER,
                             attributes={"format": _text(model.get("format")), "version": _text(model.get("version"))}),
                  call.edge(node, DEPLOYMENT, "serves", served, MODEL, slot=f"serves|{node}")]
    return facts


_ACCOUNT = (f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/ml-prod/providers/Microsoft.CognitiveServices/"
            "accounts/acme-openai")
_DEPLOYMENT = f"{_ACCOUNT}/deployments/gpt-4o-chat"
_WRITE = "Microsoft.CognitiveServices/accounts/write"
_DEPLOY = "Microsoft.CognitiveServices/accounts/deployments/write"
_PUBLIC_ACCOUNT = {"kind": "OpenAI", "location": "eastus", "name": "acme-openai", "sku": {"name": "S0"},
                   "properties": {"customSubDomainName": "acme-openai", "publicNetworkAccess": "Enabled",
                                  "endpoint": "https://acme-openai.openai.azure.com/"}}
_PRIVATE_ACCOUNT = {"kind": "OpenAI", "location": "eastus", "properties": {
    "publicNetworkAccess": "Disabled",
    "encryption": {"keySource": "Microsoft.KeyVault",
                   "keyVaultProperties": {"keyName": "openai-cmk", "keyVaultUri": "https://acme-kv.vault.azure.net/"}}}}
_GPT_4O = {"sku": {"name": "Standard", "capacity": 30}, "properties": {
    "model": {"format": "OpenAI", "name": "gpt-4o", "version": "2024-08-06"}, "raiPolicyName": "Microsoft.Default"}}
EXAMPLES = [
    expect("a public account, Microsoft-keyed (bodies kept)",
           azure_activity(_WRITE, resource_id=_ACCOUNT, response_body=_PUBLIC_ACCOUNT, keep_bodies=True),
           ("asset", "create", ACCOUNT, _ACCOUNT.lower(), "direct_internet", "no_kms_key")),
    expect("made private with a customer-managed key (bodies kept)",
           azure_activity(_WRITE, resource_id=_ACCOUNT, status="OK", response_body=_PRIVATE_ACCOUNT, keep_bodies=True),
           ("asset", "update", ACCOUNT, _ACCOUNT.lower())),
    expect("an account whose body ingest redacted: of a kind unknown",
           azure_activity(_WRITE, resource_id=_ACCOUNT, response_body=_PUBLIC_ACCOUNT)),
    expect("its Start record makes nothing",
           azure_activity(_WRITE, resource_id=_ACCOUNT, result="Start", request_body=_PUBLIC_ACCOUNT, keep_bodies=True)),
    expect("nor its Accept, which carries a status (the normalizer's success)",
           azure_activity(_WRITE, resource_id=_ACCOUNT, result="Accept", request_body=_PUBLIC_ACCOUNT, keep_bodies=True)),
    expect("a Translator account is no OpenAI account",
           azure_activity(_WRITE, resource_id=_ACCOUNT.replace("acme-openai", "acme-translate"),
                          response_body={"kind": "TextTranslation", "properties": {}}, keep_bodies=True)),
    expect("a refused write makes nothing",
           azure_activity(_WRITE, resource_id=_ACCOUNT, result="Failure", status="Forbidden",
                          response_body=_PUBLIC_ACCOUNT, keep_bodies=True)),
    expect("a deployment of gpt-4o (bodies kept)",
           azure_activity(_DEPLOY, resource_id=_DEPLOYMENT, response_body=_GPT_4O, keep_bodies=True),
           ("asset", "create", DEPLOYMENT, _DEPLOYMENT.lower()), ("asset", "update", ACCOUNT, _ACCOUNT.lower()),
           ("edge", "open", _ACCOUNT.lower(), "hosts", _DEPLOYMENT.lower()),
           ("asset", "update", MODEL, "azure-openai:openai/gpt-4o:2024-08-06"),
           ("edge", "open", _DEPLOYMENT.lower(), "serves", "azure-openai:openai/gpt-4o:2024-08-06")),
    expect("a deployment whose body ingest redacted: its account known, its model not",
           azure_activity(_DEPLOY, resource_id=_DEPLOYMENT, response_body=_GPT_4O),
           ("asset", "create", DEPLOYMENT, _DEPLOYMENT.lower()), ("asset", "update", ACCOUNT, _ACCOUNT.lower()),
           ("edge", "open", _ACCOUNT.lower(), "hosts", _DEPLOYMENT.lower())),
    expect("the deployment deleted",
           azure_activity("Microsoft.CognitiveServices/accounts/deployments/delete", resource_id=_DEPLOYMENT,
                          status="OK"),
           ("asset", "delete", DEPLOYMENT, _DEPLOYMENT.lower())),
]
