"""Remediation a rule declares (``RuleMeta.actions``), filled in from each finding; the remediation topic's
messages.

A rule lists :class:`ActionTemplate` objects. A template's command is a tuple of argv tokens: literal
strings, :class:`Param` (one token holding one finding value, after an optional literal prefix such as
``--bucket=``) and :class:`Doc` (one token holding a JSON document whose leaves may be parameters).
Values come from the event and the finding (:func:`parameters_of`) and may be attacker-controlled: they
are never parsed, split or formatted into a string that something else parses; a JSON document is built
as data and serialized. A template whose parameters the finding lacks is left out, so an alert carries
only actions it filled completely.

Options take their value in the same token (``--bucket=<value>``), so a value starting with ``-`` is
never read as another option by the CLI.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

from schemas.finding import Finding
from schemas.remediation import REMEDIATION_VERSION, ActionKind, ActionRisk, RemediationAction

__all__ = [
    "ALL_BLOCKED", "CONTAIN_PRINCIPAL", "ActionTemplate", "Doc", "Param", "actions_for", "aws", "manual", "opt",
    "parameters_of", "remediation_message",
]

ParamName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class Param(BaseModel):
    """One argv token: ``prefix`` + the finding's value of ``name``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: ParamName
    prefix: str = ""


class Doc(BaseModel):
    """One argv token: a JSON document (``--policy-document``), parameters at its leaves."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    template: Any
    prefix: str = ""

    def names(self) -> set[str]:
        return set(_doc_names(self.template))


Token = str | Param | Doc


class ActionTemplate(BaseModel):
    """A rule's remediation action before a finding fills it in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ActionKind
    service: str
    operation: str
    description: Annotated[str, StringConstraints(min_length=10)]
    cli: tuple[Token, ...] = ()
    parameters: tuple[ParamName, ...] = ()
    """Values the action needs besides those its command uses (all of a manual action's)."""
    optional: tuple[ParamName, ...] = ()
    """Values passed along when the finding has them."""
    absent: tuple[ParamName, ...] = ()
    """The action applies only when the finding has none of these (account-wide vs one bucket)."""
    risk: ActionRisk
    reversible: bool

    @model_validator(mode="after")
    def _valid_shape(self) -> ActionTemplate:
        if not self.required():
            raise ValueError(f"{self.operation}: an action must name what it acts on (a parameter)")
        # Checked once here, at import: the filled action is validated again by RemediationAction.
        RemediationAction(kind=self.kind, service=self.service, operation=self.operation,
                          description=self.description, cli=tuple(t if isinstance(t, str) else "x" for t in self.cli),
                          parameters={}, risk=self.risk, reversible=self.reversible)
        return self

    @functools.cached_property
    def _required(self) -> tuple[str, ...]:
        # Worked out once per template: every finding of the rule fills it (``fill``).
        names: list[str] = []
        for token in self.cli:
            if isinstance(token, Param):
                names.append(token.name)
            elif isinstance(token, Doc):
                names.extend(sorted(token.names()))
        names.extend(self.parameters)
        return tuple(dict.fromkeys(names))

    def required(self) -> tuple[str, ...]:
        """The values the action cannot do without: its command's parameters, then ``parameters``."""
        return self._required

    def fill(self, values: Mapping[str, str]) -> RemediationAction | None:
        """The action for ``values`` (see :func:`parameters_of`); None when one it needs is missing."""
        required = self.required()
        if any(not values.get(name) for name in required) or any(values.get(name) for name in self.absent):
            return None
        cli = tuple(_token(token, values) for token in self.cli)
        used = {name: values[name] for name in (*required, *(n for n in self.optional if values.get(n)))}
        try:
            return RemediationAction(kind=self.kind, service=self.service, operation=self.operation,
                                     description=self.description, cli=cli, parameters=used, risk=self.risk,
                                     reversible=self.reversible)
        except ValueError:  # a value no argv can carry (NUL): no action rather than a broken one
            return None


def _token(token: Token, values: Mapping[str, str]) -> str:
    if isinstance(token, str):
        return token
    if isinstance(token, Param):
        return token.prefix + values[token.name]
    return token.prefix + orjson.dumps(_doc_fill(token.template, values)).decode()


def _doc_names(node: Any) -> Iterable[str]:
    if isinstance(node, Param):
        yield node.name
    elif isinstance(node, Mapping):
        for value in node.values():
            yield from _doc_names(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _doc_names(value)


def _doc_fill(node: Any, values: Mapping[str, str]) -> Any:
    if isinstance(node, Param):
        return node.prefix + values[node.name]
    if isinstance(node, Mapping):
        return {key: _doc_fill(value, values) for key, value in node.items()}
    if isinstance(node, (list, tuple)):
        return [_doc_fill(value, values) for value in node]
    return node


# --- builders for rule modules -----------------------------------------------------------------------

def opt(option: str, name: str) -> Param:
    """``--option=<value of name>`` as one token."""
    return Param(name=name, prefix=f"{option}=")


def aws(service: str, operation: str, command: str, *args: Token, description: str, risk: ActionRisk,
        reversible: bool, regional: bool = True, **extra: Any) -> ActionTemplate:
    """``aws <service> <command> args... [--region=<region>]`` for the API ``operation``."""
    region = (opt("--region", "region"),) if regional else ()
    return ActionTemplate(kind="aws_cli", service=service, operation=operation, description=description,
                          cli=("aws", service, command, *args, *region), risk=risk, reversible=reversible,
                          **extra)


def manual(service: str, operation: str, *parameters: str, description: str, risk: ActionRisk = "medium",
           reversible: bool = True, **extra: Any) -> ActionTemplate:
    return ActionTemplate(kind="manual", service=service, operation=operation, description=description,
                          parameters=parameters, risk=risk, reversible=reversible, **extra)


ALL_BLOCKED = "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true"

# Credentials of the principal behind a finding: its long-term access key, or the sessions of its role.
CONTAIN_PRINCIPAL = (
    aws("iam", "UpdateAccessKey", "update-access-key", opt("--user-name", "iam_user"),
        opt("--access-key-id", "access_key_id"), "--status", "Inactive", regional=False,
        description="Deactivate the IAM user's access key that made the calls (reactivate it if they were "
                    "legitimate).", risk="medium", reversible=True),
    aws("iam", "PutRolePolicy", "put-role-policy", opt("--role-name", "role_name"),
        "--policy-name", "AWSRevokeOlderSessions",
        Doc(prefix="--policy-document=", template={
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": ["*"], "Resource": ["*"],
                           "Condition": {"DateLessThan": {"aws:TokenIssueTime": Param(name="event_time")}}}],
        }), regional=False,
        description="Revoke the role's sessions issued up to the finding's event (the console's 'Revoke "
                    "active sessions'); new sessions are unaffected.", risk="high", reversible=True),
)


# --- filling them in ---------------------------------------------------------------------------------

_IAM_USER = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:user/(?:[^/]+/)*([^/]+)$")
_ASSUMED_ROLE = re.compile(r"^arn:aws[a-z-]*:sts::\d{12}:assumed-role/([^/]+)/[^/]+$")


def parameters_of(finding: Finding) -> dict[str, str]:
    """What a template may use: the event's account, region, actor, address and host, the actor's IAM
    user or role name and long-term key, the event's time, then the finding's context (scalars only;
    a rule's context wins)."""
    event = finding.event
    actor = str(event.get("actor") or "")
    values = {
        "account": event.get("cloud_account"), "region": event.get("cloud_region"),
        "principal": finding.principal, "actor": actor, "src_ip": event.get("src_ip"),
        "host": event.get("target_host"),
    }
    if isinstance(event.get("time"), int):
        values["event_time"] = datetime.fromtimestamp(event["time"] / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if (user := _IAM_USER.match(actor)) is not None:
        values["iam_user"] = user.group(1)
    elif (role := _ASSUMED_ROLE.match(actor)) is not None:
        values["role_name"] = role.group(1)
    if event.get("source_family") == "cloudtrail" and event.get("raw"):
        from streams.normalize.cloudtrail_record import ct

        record = ct(event)
        if record.uses_long_term_key:
            values["access_key_id"] = record.access_key_id
    for name, value in finding.context.items():
        if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            values[name] = value
    return {name: str(value) for name, value in values.items() if value not in (None, "")}


def actions_for(templates: Iterable[ActionTemplate], finding: Finding) -> tuple[RemediationAction, ...]:
    """The templates ``finding`` fills completely, in order."""
    templates = tuple(templates)
    if not templates:
        return ()
    values = parameters_of(finding)
    return tuple(action for template in templates if (action := template.fill(values)) is not None)


def remediation_message(alert: dict[str, Any]) -> tuple[bytes, bytes] | None:
    """The remediation topic's (key, value) for an OCSF alert, None when it carries no action.

    The key is the alert's emission (``<alert id>:<count>``, the alert's ``metadata.uid``): a redelivered
    batch sends the same key with the same value, so a SOAR that acts once per key acts once."""
    actions = alert.get("unmapped", {}).get("remediation_actions")
    if not actions:
        return None
    info, cloud = alert["finding_info"], alert.get("cloud", {})
    message = {
        "version": REMEDIATION_VERSION,
        "uid": alert["metadata"]["uid"],
        "alert_id": info["uid"],
        "alert_version": alert["count"],
        "activity": alert["activity_name"],
        "detection": info["analytic"]["uid"],
        "title": info["title"],
        "severity": alert["severity"],
        "time": alert["time"],
        "principal": alert["unmapped"].get("principal", ""),
        "account": cloud.get("account", {}).get("uid", ""),
        "region": cloud.get("region", ""),
        "runbook": alert.get("remediation", {}).get("desc", ""),
        "is_alert": alert.get("is_alert", True),
        "actions": actions,
    }
    return message["uid"].encode(), orjson.dumps(message)
