"""Typed access to the raw CloudTrail record behind a normalized event.

``ct(event)`` parses ``event["raw"]`` once: the parse is cached by the raw text, so the thirty-odd
rules that look at one event share a single ``orjson.loads``. The record is shared between rules and
must be treated as read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

__all__ = ["CloudTrailRecord", "ct"]


@dataclass(frozen=True, slots=True)
class CloudTrailRecord:
    record: dict[str, Any]

    # --- what was called -------------------------------------------------------------------------
    @property
    def event_name(self) -> str:
        return _text(self.record.get("eventName"))

    @property
    def event_source(self) -> str:
        return _text(self.record.get("eventSource"))

    @property
    def region(self) -> str:
        return _text(self.record.get("awsRegion"))

    @property
    def account(self) -> str:
        return _text(self.record.get("recipientAccountId") or self.user_identity.get("accountId"))

    @property
    def request_parameters(self) -> dict[str, Any]:
        return _mapping(self.record.get("requestParameters"))

    @property
    def response_elements(self) -> dict[str, Any]:
        return _mapping(self.record.get("responseElements"))

    @property
    def additional_event_data(self) -> dict[str, Any]:
        return _mapping(self.record.get("additionalEventData"))

    # --- outcome ---------------------------------------------------------------------------------
    @property
    def error_code(self) -> str:
        return _text(self.record.get("errorCode"))

    @property
    def succeeded(self) -> bool:
        return not self.error_code

    # --- who -------------------------------------------------------------------------------------
    @property
    def user_identity(self) -> dict[str, Any]:
        return _mapping(self.record.get("userIdentity"))

    @property
    def identity_type(self) -> str:
        """``IAMUser``, ``AssumedRole``, ``Root``, ``AWSService``, ``FederatedUser`` ..."""
        return _text(self.user_identity.get("type"))

    @property
    def access_key_id(self) -> str:
        return _text(self.user_identity.get("accessKeyId"))

    @property
    def uses_long_term_key(self) -> bool:
        """An IAM user or root access key (``AKIA...``), as opposed to temporary ``ASIA...`` credentials."""
        return self.access_key_id.startswith("AKIA")

    @property
    def arn(self) -> str:
        return _text(self.user_identity.get("arn"))

    @property
    def is_human_identity(self) -> bool:
        """An IAM user or the root user: a person's long-lived identity rather than a workload role."""
        return self.identity_type in ("IAMUser", "Root")

    @property
    def via_console(self) -> bool:
        return _truthy(self.record.get("sessionCredentialFromConsole"))

    # --- lookups ---------------------------------------------------------------------------------
    def param(self, *path: str) -> Any:
        """A request parameter by path; each key also tried with its first letter's case swapped,
        because some services log ``RoleArn`` where the API reference says ``roleArn``."""
        return _lookup(self.request_parameters, path)

    def response(self, *path: str) -> Any:
        return _lookup(self.response_elements, path)

    def get(self, *path: str) -> Any:
        """Any field of the record by path (exact keys), None when a step is missing."""
        node: Any = self.record
        for key in path:
            if not isinstance(node, dict):
                return None
            node = node.get(key)
        return node

    def flag(self, *path: str) -> bool:
        """A boolean that CloudTrail logs sometimes as ``true`` and sometimes as ``"true"``."""
        return _truthy(self.get(*path))


def ct(event: dict) -> CloudTrailRecord:
    """The CloudTrail record behind a normalized ``cloudtrail`` event."""
    return _parse(event["raw"])


@lru_cache(maxsize=2048)
def _parse(raw: str) -> CloudTrailRecord:
    record = orjson.loads(raw)
    if not isinstance(record, dict):
        raise TypeError(f"raw CloudTrail record is a {type(record).__name__}, not an object")
    return CloudTrailRecord(record)


def _lookup(node: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(node, dict):
            return None
        if key in node:
            node = node[key]
        else:
            node = node.get(key[:1].swapcase() + key[1:])
    return node


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")
