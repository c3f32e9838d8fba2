"""The one normalized event every source format becomes.

Aligned with OCSF 1.x: `class_uid`/`activity_id`/`type_uid` follow the OCSF event classes, and `time`
is OCSF's timestamp (epoch milliseconds, UTC).

Versioning: adding an optional field keeps ``SCHEMA_VERSION``; renaming, removing or retyping a field
is a new version with an explicit upgrade function, and the golden samples under ``tests/samples``
for every version keep parsing.

Normalizers build plain dicts with these keys (fast to make and to turn into Arrow columns);
``validate_event`` checks one such dict against this schema with pydantic-core. The field types say
how each column is stored (``schemas.columns``): the store derives its frames from them.

The ``ai_*`` fields came after the first version's other fields: they are optional within v1 (an
event without them is not AI use, ``EVENT_DEFAULTS``), so v1 events written before them still parse.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired, get_origin, get_type_hints

from pydantic import ConfigDict, Field, TypeAdapter, with_config
from typing_extensions import TypedDict

from schemas.columns import Int32, Int64, TimeMs, UInt16, UInt32
from schemas.families import SourceFamily

SCHEMA_VERSION = 1

Outcome = Literal["success", "failure", "unknown"]

# OCSF classes used here (class_uid): the category is class_uid // 1000.
OCSF_AUTHENTICATION = 3002
OCSF_ACCOUNT_CHANGE = 3001
OCSF_NETWORK_ACTIVITY = 4001
OCSF_HTTP_ACTIVITY = 4002
OCSF_DNS_ACTIVITY = 4003
OCSF_DHCP_ACTIVITY = 4004
OCSF_API_ACTIVITY = 6003

# OCSF API Activity activity ids.
API_CREATE, API_READ, API_UPDATE, API_DELETE, API_OTHER, API_UNKNOWN = 1, 2, 3, 4, 99, 0
# OCSF HTTP Activity activity ids by method.
HTTP_ACTIVITY_BY_METHOD = {
    "CONNECT": 1, "DELETE": 2, "GET": 3, "HEAD": 4, "OPTIONS": 5,
    "POST": 6, "PUT": 7, "TRACE": 8, "PATCH": 9,
}
DNS_QUERY = 1
NETWORK_TRAFFIC = 6
AUTH_LOGON, AUTH_LOGOFF = 1, 2

@with_config(ConfigDict(extra="forbid"))  # a key the schema does not know is an error, found in Rust
class NormalizedEvent(TypedDict):
    """One security-relevant action, whatever log it came from."""

    schema_version: UInt16
    event_id: Annotated[str, Field(min_length=1, max_length=256)]
    """Stable id for dedup: the source's own id (CloudTrail eventID, k8s auditID, ...) when there is
    one, else a hash of the family, format and original record."""
    time: TimeMs
    """When it happened, epoch milliseconds UTC."""
    source_family: SourceFamily
    source_format: str
    """Which parser read it, e.g. ``cloudtrail``, ``envoy``, ``zeek_dns``, ``k8s_audit``."""
    class_uid: UInt32
    activity_id: UInt16
    type_uid: UInt32
    actor: str
    """One identity string across sources: ARN, user name, service account, e-mail; '' if unknown."""
    actor_type: str
    src_ip: str
    user_agent: str
    action: str
    """The operation: CloudTrail eventName, HTTP method, k8s verb, GCP methodName, Okta eventType."""
    service: str
    """Service or API the action belongs to: CloudTrail eventSource, GCP serviceName, HTTP host."""
    target_host: str
    target_url: str
    target_resource: str
    outcome: Outcome
    status_code: Int32 | None
    status_detail: str
    bytes_in: Int64 | None
    bytes_out: Int64 | None
    cloud_account: str
    cloud_region: str
    kafka_topic: str
    kafka_partition: Int32
    kafka_offset: Int64
    raw: str
    """The original record (secrets and bodies redacted), so nothing a parser did not map is lost."""
    # AI enrichment, set at ingest from the AI service catalog and the sanctioned-use policy.
    ai_provider: NotRequired[str]
    """AI provider of the target ('' when the event is not AI use)."""
    ai_product: NotRequired[str]
    ai_category: NotRequired[str]
    ai_model: NotRequired[str]
    ai_sanctioned: NotRequired[bool | None]
    """Whether the policy sanctions this use; None when the event is not AI use."""
    # Identity resolution (streams/enrich/identity.py), for events that name only an address.
    resolved_identity: NotRequired[str]
    """Who held ``src_ip`` at ``time`` by a binding ('' when unknown or ambiguous)."""
    identity_source: NotRequired[str]
    """The deciding binding's source (``okta_signin``, ``zpa_session``, ``dhcp_lease``, ...), ``ambiguous``
    when several identities held the address, '' when none did."""


EVENT_FIELDS: tuple[str, ...] = tuple(NormalizedEvent.__annotations__)
# What an optional field means when an event does not have it.
EVENT_DEFAULTS: dict[str, Any] = {"ai_provider": "", "ai_product": "", "ai_category": "", "ai_model": "",
                                  "ai_sanctioned": None, "resolved_identity": "", "identity_source": ""}
OPTIONAL_FIELDS = frozenset(name for name, hint in get_type_hints(NormalizedEvent, include_extras=True).items()
                            if get_origin(hint) is NotRequired)
assert set(EVENT_DEFAULTS) == OPTIONAL_FIELDS, "every optional field has a default"

_event_adapter: TypeAdapter[NormalizedEvent] = TypeAdapter(NormalizedEvent)


def with_defaults(event: dict) -> dict:
    """``event`` with every optional field it lacks set to its default (a new dict when one is missing)."""
    missing = EVENT_DEFAULTS.keys() - event.keys()
    return event if not missing else {**event, **{name: EVENT_DEFAULTS[name] for name in missing}}


def validate_event(event: dict) -> NormalizedEvent:
    """Validate one normalized event dict (strictly: no extra keys); raise ``pydantic.ValidationError``."""
    return _event_adapter.validate_python(event, strict=True)


def event_json_schema() -> dict:
    return _event_adapter.json_schema()
