"""Microsoft Entra ID (Azure AD) audit and sign-in logs.

Three shapes carry the same Microsoft Graph ``directoryAudit`` / ``signIn`` object:
- diagnostic-settings export (Event Hub, storage): the Azure envelope (``time``, ``category`` such as
  ``AuditLogs`` or ``SignInLogs``, ``resourceId`` under ``Microsoft.aadiam``) with the object in
  ``properties``;
- Log Analytics / Sentinel tables (``AuditLogs``, ``SigninLogs`` ...): PascalCase columns, nested
  objects as JSON text, ``TimeGenerated``;
- the Graph API objects themselves.

Sign-ins become OCSF Authentication (logon); directory changes become API Activity. Entra records
belong to a tenant, not a subscription, so ``cloud_account`` stays empty (the tenant is in ``raw``).
Sign-in error codes are AADSTS codes, not HTTP statuses: they go to ``status_detail`` only.
"""

from __future__ import annotations

from typing import Any

from schemas.event import (
    API_CREATE,
    API_DELETE,
    API_OTHER,
    API_UPDATE,
    AUTH_LOGON,
    OCSF_API_ACTIVITY,
    OCSF_AUTHENTICATION,
)
from streams.normalize.audit._common import (
    audit_event,
    content_id,
    detail,
    event_time,
    first_text,
    ip_without_port,
    iso_epoch_ms,
    leading_word,
    mapping,
    native_id,
    parse_embedded_json,
    text,
)
from streams.normalize.base import NormalizeError, RecordMeta, as_int

FORMAT = "azure_entra"

# Diagnostic-settings categories of Entra logs (the Azure Activity log uses other names).
ENTRA_CATEGORIES = frozenset({
    "AuditLogs", "SignInLogs", "NonInteractiveUserSignInLogs", "ServicePrincipalSignInLogs",
    "ManagedIdentitySignInLogs", "ADFSSignInLogs", "ProvisioningLogs", "RiskyUsers", "UserRiskEvents",
    "RiskyServicePrincipals", "ServicePrincipalRiskEvents", "MicrosoftGraphActivityLogs",
})
# Log Analytics table names -> the diagnostic category they hold.
_CATEGORY_BY_TABLE = {
    "AuditLogs": "AuditLogs",
    "SigninLogs": "SignInLogs",
    "AADNonInteractiveUserSignInLogs": "NonInteractiveUserSignInLogs",
    "AADServicePrincipalSignInLogs": "ServicePrincipalSignInLogs",
    "AADManagedIdentitySignInLogs": "ManagedIdentitySignInLogs",
    "ADFSSignInLogs": "ADFSSignInLogs",
}
_AADIAM = "microsoft.aadiam"

_ACTIVITY_BY_OPERATION = {
    **dict.fromkeys(("add", "create", "assign", "register", "invite", "issue"), API_CREATE),
    **dict.fromkeys(("update", "set", "change", "reset", "enable", "disable", "restore", "approve", "activate",
                     "consent", "verify", "confirm"), API_UPDATE),
    **dict.fromkeys(("delete", "remove", "unassign", "revoke", "hard"), API_DELETE),  # "Hard delete user"
}


def detect(record: dict) -> bool:
    properties = record.get("properties")
    if isinstance(properties, dict):
        category = record.get("category")
        if isinstance(category, str) and category in ENTRA_CATEGORIES:
            return True
        resource_id = record.get("resourceId")
        return isinstance(resource_id, str) and _AADIAM in resource_id.lower()
    if "TimeGenerated" in record:
        table = record.get("Type")
        return (record.get("SourceSystem") == "Azure AD" or (isinstance(table, str) and table in _CATEGORY_BY_TABLE)
                or _AADIAM in str(record.get("ResourceId", "")).lower())
    return _is_graph_audit(record) or _is_graph_sign_in(record)


def normalize(record: dict, raw: str, meta: RecordMeta) -> dict:
    if isinstance(record.get("properties"), dict):
        graph, envelope = record["properties"], record
        category = text(record.get("category"))
    elif "TimeGenerated" in record:
        graph, envelope = _from_log_analytics(record)
        category = text(envelope.get("category"))
    else:
        graph, envelope = record, {}
        category = "AuditLogs" if _is_graph_audit(record) else "SignInLogs"
    if _is_sign_in(graph, category):
        return _sign_in(graph, envelope, category, raw, meta)
    return _directory_audit(graph, envelope, raw, meta)


def _directory_audit(graph: dict, envelope: dict, raw: str, meta: RecordMeta) -> dict:
    initiated_by = mapping(parse_embedded_json(graph.get("initiatedBy"), "initiatedBy"), "initiatedBy")
    user = mapping(initiated_by.get("user"), "initiatedBy.user")
    app = mapping(initiated_by.get("app"), "initiatedBy.app")
    actor = first_text(user, ("userPrincipalName", "id"))
    actor_type = "User" if actor else ""
    if not actor:
        actor = first_text(app, ("servicePrincipalName", "displayName", "appId", "servicePrincipalId"))
        actor_type = "ServicePrincipal" if actor else ""
    activity_name = first_text(graph, ("activityDisplayName", "operationName")) or text(
        envelope.get("operationName"))
    result = text(graph.get("result") or envelope.get("result"))
    outcome = _audit_outcome(result)
    time = _time(graph, envelope, "activityDateTime")
    event = audit_event(
        event_id=_event_id(graph, envelope, activity_name, time, raw),
        time=time,
        source_format=FORMAT,
        class_uid=OCSF_API_ACTIVITY,
        activity_id=_audit_activity(text(graph.get("operationType")), activity_name),
        raw=raw,
        meta=meta,
    )
    # Fields are read in this order so that, of several broken ones, the same one is reported each time.
    event["actor"] = actor
    event["actor_type"] = actor_type
    event["src_ip"] = ip_without_port(text(user.get("ipAddress")) or envelope.get("callerIpAddress"))
    event["user_agent"] = _additional_detail(graph.get("additionalDetails"), "User-Agent")
    event["action"] = activity_name
    event["service"] = text(graph.get("loggedByService"))
    event["target_resource"] = _first_target(graph.get("targetResources"))
    event["outcome"] = outcome
    if outcome == "failure":
        event["status_detail"] = detail(result, text(graph.get("resultReason")))
    return event


def _sign_in(graph: dict, envelope: dict, category: str, raw: str, meta: RecordMeta) -> dict:
    status = mapping(parse_embedded_json(graph.get("status"), "status"), "status")
    error_code = as_int(status.get("errorCode"))
    result_type = text(envelope.get("resultType"))
    if error_code is None and result_type.isdigit():
        error_code = int(result_type)  # the export repeats the AADSTS code here
    user = first_text(graph, ("userPrincipalName", "userId"))
    actor = user or first_text(graph, ("servicePrincipalName", "servicePrincipalId", "appDisplayName", "appId"))
    if error_code is not None:
        outcome = "success" if error_code == 0 else "failure"
    else:
        outcome = _audit_outcome(result_type)
    time = _time(graph, envelope, "createdDateTime")
    event = audit_event(
        event_id=_event_id(graph, envelope, category, time, raw),
        time=time,
        source_format=FORMAT,
        class_uid=OCSF_AUTHENTICATION,
        activity_id=AUTH_LOGON,
        raw=raw,
        meta=meta,
    )
    # Fields are read in this order so that, of several broken ones, the same one is reported each time.
    event["actor"] = actor
    event["actor_type"] = _sign_in_actor_type(category, bool(user)) if actor else ""
    event["src_ip"] = ip_without_port(text(graph.get("ipAddress")) or envelope.get("callerIpAddress"))
    event["user_agent"] = text(graph.get("userAgent"))
    event["action"] = category or "Sign-in activity"
    event["service"] = text(graph.get("appDisplayName"))
    event["target_resource"] = first_text(graph, ("resourceDisplayName", "resourceId"))
    event["outcome"] = outcome
    if outcome == "failure":
        event["status_detail"] = detail(
            result_type if error_code is None else str(error_code),
            text(status.get("failureReason")) or text(envelope.get("resultDescription")),
        )
    return event


# --- shapes ------------------------------------------------------------------------------------------

def _is_graph_audit(record: dict) -> bool:
    return "activityDateTime" in record and ("initiatedBy" in record or "activityDisplayName" in record)


def _is_graph_sign_in(record: dict) -> bool:
    return "createdDateTime" in record and ("userPrincipalName" in record or "servicePrincipalId" in record) \
        and ("status" in record or "appId" in record)


def _is_sign_in(graph: dict, category: str) -> bool:
    if category:
        return "signin" in category.lower()
    return "createdDateTime" in graph and "activityDateTime" not in graph


def _from_log_analytics(record: dict) -> tuple[dict, dict]:
    """(Graph-shaped object, envelope) from a Log Analytics row; nested columns are JSON text there."""
    table = text(record.get("Type"))
    category = _CATEGORY_BY_TABLE.get(table) or (
        "AuditLogs" if "ActivityDateTime" in record or "InitiatedBy" in record else text(record.get("Category")))
    graph = {
        "id": record.get("Id"),
        "activityDateTime": record.get("ActivityDateTime"),
        "activityDisplayName": record.get("ActivityDisplayName"),
        "operationType": record.get("AADOperationType") or record.get("OperationType"),
        "loggedByService": record.get("LoggedByService"),
        "result": record.get("Result"),
        "resultReason": record.get("ResultReason"),
        "initiatedBy": record.get("InitiatedBy"),
        "targetResources": record.get("TargetResources"),
        "additionalDetails": parse_embedded_json(record.get("AdditionalDetails"), "AdditionalDetails"),
        "createdDateTime": record.get("CreatedDateTime"),
        "userPrincipalName": record.get("UserPrincipalName"),
        "userId": record.get("UserId"),
        "servicePrincipalName": record.get("ServicePrincipalName"),
        "servicePrincipalId": record.get("ServicePrincipalId"),
        "appDisplayName": record.get("AppDisplayName"),
        "appId": record.get("AppId"),
        "ipAddress": record.get("IPAddress"),
        "userAgent": record.get("UserAgent"),
        "resourceDisplayName": record.get("ResourceDisplayName"),
        "status": record.get("Status"),
    }
    envelope = {
        "time": record.get("TimeGenerated"),
        "category": category,
        "operationName": record.get("OperationName"),
        "correlationId": record.get("CorrelationId"),
        "resultType": record.get("ResultType"),
        "resultDescription": record.get("ResultDescription"),
    }
    return graph, envelope


# --- fields ------------------------------------------------------------------------------------------

def _event_id(graph: dict, envelope: dict, operation: str, time: int, raw: str) -> str:
    own_id = text(graph.get("id"))
    if own_id:
        return native_id(own_id)
    correlation_id = text(envelope.get("correlationId") or graph.get("correlationId"))
    if correlation_id:
        return native_id(correlation_id, operation, str(time))
    return content_id(FORMAT, raw)


def _time(graph: dict, envelope: dict, graph_key: str) -> int:
    value = graph.get(graph_key)
    if value:
        return iso_epoch_ms(value)
    return event_time(envelope, ("time",)) if envelope else event_time(graph, (graph_key,))


def _audit_outcome(result: str) -> str:
    folded = result.lower()
    if folded == "success":
        return "success"
    if folded in ("failure", "timeout"):
        return "failure"
    return "unknown"


def _audit_activity(operation_type: str, activity_name: str) -> int:
    word = operation_type.lower() if operation_type else leading_word(activity_name)
    if word == "other":
        word = leading_word(activity_name)
    return _ACTIVITY_BY_OPERATION.get(word, API_OTHER)


def _sign_in_actor_type(category: str, is_user: bool) -> str:
    if category.startswith("ServicePrincipal"):
        return "ServicePrincipal"
    if category.startswith("ManagedIdentity"):
        return "ManagedIdentity"
    return "User" if is_user else "ServicePrincipal"


def _first_target(targets: Any) -> str:
    targets = parse_embedded_json(targets, "targetResources")
    if targets is None or targets == []:
        return ""
    if not isinstance(targets, list):
        raise NormalizeError("wrong_type", "targetResources is not a list")
    first = targets[0]
    if not isinstance(first, dict):
        raise NormalizeError("wrong_type", "targetResources[0] is not an object")
    return first_text(first, ("userPrincipalName", "displayName", "id"))


def _additional_detail(details: Any, key: str) -> str:
    if not isinstance(details, list):
        return ""
    for item in details:
        if isinstance(item, dict) and item.get("key") == key:
            return text(item.get("value"))
    return ""
