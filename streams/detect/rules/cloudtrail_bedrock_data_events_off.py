"""A CloudTrail trail's selectors leave out every Bedrock runtime data event: a telemetry gap, not an attack.

Bedrock agent, knowledge-base and flow runtime calls (InvokeAgent, Retrieve, RetrieveAndGenerate, InvokeFlow),
AgentCore's InvokeAgentRuntime and a few model calls (InvokeModelWithBidirectionalStream, StartAsyncInvoke) are
CloudTrail data events. A trail logs them only when an advanced event selector names their resource type, so
from a trail without one the inventory, the asset graph and the rules see none of that use.

What is judged, and what is left out on purpose:

- PutEventSelectors: the call replaces the trail's selectors, so the ones it carries are everything the trail
  logs from then on. Basic (classic) selectors can only name S3, Lambda and DynamoDB data, so a trail on
  basic selectors always has the gap.
- CreateTrail is not judged. A new trail logs management events only, and its data-event selection arrives
  in a PutEventSelectors call right after it (the console, Terraform and CloudFormation all make that call),
  which this rule judges. Firing on CreateTrail would report every trail once, including the ones configured
  correctly a second later. A trail created from the CLI and never given selectors is missed.
- UpdateTrail never changes selectors. CloudTrail Lake event data stores are not judged.
- A trail that logs some of the types below but not all of them does not fire: logging agent aliases but not
  flows is a choice someone made, not a gap.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from streams.detect.aws import succeeded
from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import cloudtrail, iam_user
from streams.detect.remediation import aws, manual, opt
from streams.normalize.cloudtrail_record import ct

# Bedrock data-event resource types (CloudTrail's data-event table) whose calls aispm reads as AI use
# (streams/enrich/ai_usage.py), each with those calls. A selector narrowed by eventName still counts if it
# keeps one of them. Left out because aispm reads no use from them, so logging only these does not close
# the gap: Guardrail (ApplyGuardrail), PromptVersion (RenderPrompt), Session and FlowExecution (agent
# session and flow bookkeeping), the Data Automation, Blueprint, Automated Reasoning and Tool types, and
# the other AgentCore types (Gateway, Memory, Browser, Code Interpreter, identity).
RUNTIME_DATA_EVENTS: dict[str, frozenset[str]] = {
    "AWS::Bedrock::AgentAlias": frozenset({"InvokeAgent"}),
    "AWS::Bedrock::InlineAgent": frozenset({"InvokeInlineAgent"}),
    "AWS::Bedrock::KnowledgeBase": frozenset({"Retrieve", "RetrieveAndGenerate", "RetrieveAndGenerateStream"}),
    "AWS::Bedrock::FlowAlias": frozenset({"InvokeFlow"}),
    # AWS documents both types for the bidirectional stream and the async invocations.
    "AWS::Bedrock::Model": frozenset({"InvokeModelWithBidirectionalStream", "StartAsyncInvoke"}),
    "AWS::Bedrock::AsyncInvoke": frozenset({"InvokeModelWithBidirectionalStream", "StartAsyncInvoke"}),
    "AWS::BedrockAgentCore::Runtime": frozenset({"InvokeAgentRuntime"}),
}

META = RuleMeta(
    id="cloudtrail_bedrock_data_events_off",
    title="CloudTrail trail logs no Bedrock agent or knowledge-base data events",
    severity="low",
    status="experimental",
    description="PutEventSelectors succeeded with selectors that name none of the Bedrock runtime data-event "
                "types (agent alias, inline agent, knowledge base, flow alias, model, async invoke, AgentCore "
                "runtime). Agent invocations, knowledge-base retrievals and flow runs through this trail go "
                "unrecorded, and aispm cannot see them.",
    attack=("T1562.008",),
    nist_ai_rmf=("MEASURE 2.4", "MANAGE 4.1"),
    references=(
        "https://docs.aws.amazon.com/bedrock/latest/userguide/logging-using-cloudtrail.html",
        "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-data-events-with-cloudtrail.html",
        "https://attack.mitre.org/techniques/T1562/008/",
    ),
    runbook="Check whether another trail in the account or an organization trail already logs Bedrock data "
            "events (then this trail's gap matters only if aispm reads this trail). If none does and Bedrock "
            "agents, knowledge bases or flows are in use, add the selectors; if the selectors were just "
            "narrowed by someone outside the logging pipeline, treat it as defense evasion.",
    remediation="Put advanced event selectors on the trail that keep its current selection and add one data "
                "selector (eventCategory = Data) per Bedrock runtime resource type. Basic selectors cannot do "
                "this: switch the trail to advanced selectors first. Data events are billed per event.",
    provider="aws-bedrock",
    services=("cloudtrail.amazonaws.com",),
    actions=(
        aws("cloudtrail", "PutEventSelectors", "put-event-selectors", opt("--trail-name", "trail"),
            opt("--advanced-event-selectors", "advanced_event_selectors"),
            description="Keep the trail's advanced selectors and add one per Bedrock runtime data-event type "
                        "(PutEventSelectors replaces a trail's selectors, so the command carries the current "
                        "ones too).", risk="low", reversible=True),
        manual("cloudtrail", "PutEventSelectors", "trail", "region", absent=("advanced_event_selectors",),
               description="Switch the trail from basic to advanced event selectors (the console converts "
                           "them), then add a data selector per Bedrock runtime resource type.", risk="low"),
    ),
)


# --- reading selectors ---------------------------------------------------------------------------------

def _key(mapping: Mapping[str, Any], name: str) -> Any:
    """``mapping[name]``, tolerating the API's PascalCase where CloudTrail usually logs camelCase."""
    value = mapping.get(name)
    return mapping.get(name[0].upper() + name[1:]) if value is None else value


def _strings(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _condition_admits(condition: Mapping[str, Any], value: str) -> bool:
    """Whether one field selector lets ``value`` through: one of its including operators matches (when it
    has any) and none of its excluding operators does."""
    including = [
        *(value == v for v in _strings(_key(condition, "equals"))),
        *(value.startswith(v) for v in _strings(_key(condition, "startsWith"))),
        *(value.endswith(v) for v in _strings(_key(condition, "endsWith"))),
    ]
    excluded = (value in _strings(_key(condition, "notEquals"))
                or any(value.startswith(v) for v in _strings(_key(condition, "notStartsWith")))
                or any(value.endswith(v) for v in _strings(_key(condition, "notEndsWith"))))
    return (not including or any(including)) and not excluded


def _advanced_logs(selector: Mapping[str, Any], resource_type: str) -> bool:
    """Whether one advanced selector logs some of ``resource_type``'s runtime calls. Conditions on
    ``readOnly``, ``resources.ARN`` and the rest only narrow which ones: it still counts (as in CIS AWS
    benchmark audits, which let selectors be narrowed to control cost)."""
    conditions = _dicts(_key(selector, "fieldSelectors"))

    def admits(field: str, value: str) -> bool:
        return all(_condition_admits(c, value) for c in conditions if _key(c, "field") == field)

    return (admits("eventCategory", "Data") and admits("resources.type", resource_type)
            and any(admits("eventName", call) for call in RUNTIME_DATA_EVENTS[resource_type]))


def _basic_logs(selector: Mapping[str, Any], resource_type: str) -> bool:
    # Basic selectors accept only S3, Lambda and DynamoDB types; read them anyway rather than assume.
    return any(_key(resource, "type") == resource_type for resource in _dicts(_key(selector, "dataResources")))


def _selectors(event: dict) -> tuple[str, list[dict[str, Any]]]:
    """("advanced" | "basic", the selectors put), or ("", []) when the call carried neither list."""
    record = ct(event)
    advanced, basic = record.param("advancedEventSelectors"), record.param("eventSelectors")
    if isinstance(advanced, list) and advanced:  # AWS refuses a call with both: either order would do
        return "advanced", _dicts(advanced)
    if isinstance(basic, list):
        return "basic", _dicts(basic)
    if isinstance(advanced, list):
        return "advanced", []
    return "", []


def logged_runtime_types(event: dict) -> list[str]:
    """The Bedrock runtime data-event types the selectors of a PutEventSelectors call log."""
    style, selectors = _selectors(event)
    logs = _advanced_logs if style == "advanced" else _basic_logs
    return [kind for kind in RUNTIME_DATA_EVENTS if any(logs(selector, kind) for selector in selectors)]


# --- the remediation's selectors -----------------------------------------------------------------------

_OPERATORS = ("equals", "startsWith", "endsWith", "notEquals", "notStartsWith", "notEndsWith")


def _camel(key: str) -> str:
    return key[:1].lower() + key[1:]


def _exact(value: Any, kind: type) -> bool:
    """A list holding only ``kind``: carried over as it is, nothing dropped on the way."""
    return isinstance(value, list) and all(isinstance(item, kind) for item in value)


def _api_shape(selector: Mapping[str, Any]) -> dict[str, Any] | None:
    """An advanced selector as logged (camelCase) in the API's shape the CLI reads (PascalCase); None when it
    holds anything this cannot carry over exactly."""
    known_selector, known_condition = {"name", "fieldSelectors"}, {"field", *_OPERATORS}
    if {_camel(key) for key in selector} - known_selector:
        return None
    raw_conditions = _key(selector, "fieldSelectors")
    if not _exact(raw_conditions, dict):
        return None
    conditions = []
    for condition in raw_conditions:
        field = _key(condition, "field")
        if not isinstance(field, str) or {_camel(key) for key in condition} - known_condition:
            return None
        shaped: dict[str, Any] = {"Field": field}
        for operator in _OPERATORS:
            if (values := _key(condition, operator)) is None:
                continue
            if not _exact(values, str):
                return None
            shaped[operator[0].upper() + operator[1:]] = values
        conditions.append(shaped)
    name = _key(selector, "name")
    return {**({"Name": name} if isinstance(name, str) and name else {}), "FieldSelectors": conditions}


def _bedrock_selector(resource_type: str) -> dict[str, Any]:
    return {"Name": f"Bedrock data events: {resource_type}", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]},
        {"Field": "resources.type", "Equals": [resource_type]},
    ]}


def selectors_with_bedrock(event: dict) -> str:
    """The trail's advanced selectors plus one per Bedrock runtime type, as the JSON argument of
    ``--advanced-event-selectors``; '' for basic selectors or ones that cannot be carried over exactly."""
    raw = ct(event).param("advancedEventSelectors")
    if _selectors(event)[0] != "advanced" or not _exact(raw, dict):
        return ""
    kept = [_api_shape(selector) for selector in raw]
    if any(selector is None for selector in kept):
        return ""
    return orjson.dumps([*kept, *(_bedrock_selector(kind) for kind in RUNTIME_DATA_EVENTS)]).decode()


# --- the rule ------------------------------------------------------------------------------------------

def rule(event: dict) -> bool:
    return (event["action"] == "PutEventSelectors" and event["service"] == "cloudtrail.amazonaws.com"
            and succeeded(event) and _selectors(event)[0] != "" and not logged_runtime_types(event))


def _trail(event: dict) -> str:
    return str(ct(event).param("trailName") or "")


def title(event: dict) -> str:
    return f"{META.title}: {_trail(event) or 'unknown trail'}"


def dedup_key(event: dict) -> str:
    return f"{META.id}|{_trail(event)}"


def context(event: dict) -> dict:
    style, selectors = _selectors(event)
    data_types = sorted({
        *(t for s in selectors for r in _dicts(_key(s, "dataResources")) if isinstance(t := _key(r, "type"), str)),
        *(v for s in selectors for c in _dicts(_key(s, "fieldSelectors")) if _key(c, "field") == "resources.type"
          for v in _strings(_key(c, "equals"))),
    })
    found = {"trail": _trail(event), "selector_style": style, "data_event_types": data_types}
    if merged := selectors_with_bedrock(event):
        found["advanced_event_selectors"] = merged
    return found


# --- examples ------------------------------------------------------------------------------------------

def _put(**params: Any) -> dict:
    return cloudtrail("PutEventSelectors", "cloudtrail.amazonaws.com", identity=iam_user("platform-admin"),
                      params={"trailName": "org-trail", **params})


def _data(resource_type: str, *more: dict) -> dict:
    return {"name": resource_type, "fieldSelectors": [
        {"field": "eventCategory", "equals": ["Data"]}, {"field": "resources.type", "equals": [resource_type]},
        *more]}


_MANAGEMENT = {"name": "management", "fieldSelectors": [{"field": "eventCategory", "equals": ["Management"]}]}
_BASIC_S3 = {"readWriteType": "All", "includeManagementEvents": True, "excludeManagementEventSources": [],
             "dataResources": [{"type": "AWS::S3::Object", "values": ["arn:aws:s3"]}]}

EXAMPLES = [
    positive("basic selectors with S3 data only", _put(eventSelectors=[_BASIC_S3])),
    positive("advanced selectors: management events and S3 objects",
             _put(advancedEventSelectors=[_MANAGEMENT, _data("AWS::S3::Object")])),
    positive("only Bedrock guardrail evaluations logged",
             _put(advancedEventSelectors=[_MANAGEMENT, _data("AWS::Bedrock::Guardrail")])),
    positive("agent alias selector that keeps no invocation", _put(advancedEventSelectors=[
        _data("AWS::Bedrock::AgentAlias", {"field": "eventName", "equals": ["GetAgentMemory"]})])),
    positive("knowledge-base selector that excludes every retrieval", _put(advancedEventSelectors=[_data(
        "AWS::Bedrock::KnowledgeBase",
        {"field": "eventName", "notEquals": ["Retrieve", "RetrieveAndGenerate", "RetrieveAndGenerateStream"]})])),
    negative("agent alias and knowledge base logged", _put(advancedEventSelectors=[
        _MANAGEMENT, _data("AWS::Bedrock::AgentAlias"), _data("AWS::Bedrock::KnowledgeBase")])),
    negative("knowledge-base retrievals only, reads only", _put(advancedEventSelectors=[_data(
        "AWS::Bedrock::KnowledgeBase", {"field": "eventName", "equals": ["Retrieve"]},
        {"field": "readOnly", "equals": ["true"]})])),
    negative("refused", cloudtrail("PutEventSelectors", "cloudtrail.amazonaws.com",
                                   params={"trailName": "org-trail", "eventSelectors": [_BASIC_S3]},
                                   error="InvalidEventSelectorsException")),
    negative("trail created", cloudtrail("CreateTrail", "cloudtrail.amazonaws.com",
                                         params={"name": "org-trail", "s3BucketName": "org-trail-logs"})),
    negative("selectors read", cloudtrail("GetEventSelectors", "cloudtrail.amazonaws.com",
                                          params={"trailName": "org-trail"})),
]
