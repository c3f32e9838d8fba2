"""New attack paths -> findings, raised through the same alert path as the rules' (dedup, OCSF, the
alerts and remediation topics).

One finding per new path (``streams.detect.graph.watch``): the detection is the pattern's id, the dedup key is
the path's (``path|<alert_key>``: an exposure alerts once per life of its path), its event the one that completed the path, and
the path itself (nodes, edges, the events behind them) its context. Each pattern declares remediation
actions; the values they need come from the path (``path_parameters``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from schemas.finding import Finding
from streams.detect.graph.paths import PATTERNS, Path
from streams.detect.graph.watch import NewPath
from streams.detect.remediation import (
    ALL_BLOCKED,
    CONTAIN_PRINCIPAL,
    ActionTemplate,
    actions_for,
    aws,
    manual,
    opt,
)

__all__ = ["PATH_ACTIONS", "path_finding", "path_parameters"]

PATH_ACTIONS: dict[str, tuple[ActionTemplate, ...]] = {
    "exposed_training_data": (
        aws("s3api", "PutPublicAccessBlock", "put-public-access-block", opt("--bucket", "bucket"),
            f"--public-access-block-configuration={ALL_BLOCKED}", regional=False,
            description="Block public access on the bucket that feeds the model or agent.", risk="low",
            reversible=True),
        manual("s3", "PutBucketPolicy", "bucket", description="Remove the statements that let other accounts (or "
               "everyone) write the bucket, then review object writes since the path opened.", risk="medium"),
    ),
    "agent_admin_action": (
        aws("iam", "DetachRolePolicy", "detach-role-policy", opt("--role-name", "function_role"),
            opt("--policy-arn", "admin_policy_arn"), regional=False,
            description="Detach the administrator policy from the role the agent's Lambda function runs as.",
            risk="medium", reversible=True),
        aws("iam", "DeleteRolePolicy", "delete-role-policy", opt("--role-name", "function_role"),
            opt("--policy-name", "admin_inline_policy"), regional=False,
            description="Delete the inline policy that gives the function's role '*' or 'iam:*'.",
            risk="medium", reversible=False),
        manual("bedrock", "UpdateAgentActionGroup", "agent_id", "action_group_id", description="Disable the action "
               "group until its function runs as a role scoped to what the action needs.", risk="low"),
    ),
    "unsanctioned_invocation": (
        *CONTAIN_PRINCIPAL,
        manual("iam", "PutRolePolicy", "invoker", "model", description="Deny the identity bedrock:Invoke* / "
               "sagemaker:InvokeEndpoint on the model, or add it to the sanctioned-use policy.", risk="low"),
    ),
    "exposed_notebook_role": (
        aws("sagemaker", "StopNotebookInstance", "stop-notebook-instance",
            opt("--notebook-instance-name", "notebook_name"),
            description="Stop the internet-facing notebook (then recreate it VPC-only with its own role).",
            risk="medium", reversible=True),
        manual("sagemaker", "UpdateNotebookInstance", "notebook_name", "notebook_role", description="Give the "
               "notebook a role of its own, without write access to training data and models.", risk="low"),
    ),
}


def _name(arn: str) -> str:
    """The resource's own name: after the ARN's last '/', else its last ':'."""
    return arn.rsplit("/", 1)[-1] if "/" in arn else arn.rsplit(":", 1)[-1]


def path_parameters(path: Path) -> dict[str, str]:
    """The values the pattern's actions need, from the path's nodes (and the graph's flags in its reason)."""
    kinds = {kind: node for node, kind in reversed(path.nodes)}
    values: dict[str, str] = {}
    if path.pattern == "exposed_training_data":
        values["bucket"] = _name(path.nodes[0][0].removeprefix("arn:aws:s3:::"))
    elif path.pattern == "agent_admin_action":
        agent, group, _function, role = (node for node, _ in path.nodes)
        values.update(agent_id=_name(agent), action_group_id=_name(group), function_role=_name(role))
        for flag in path.reason.rsplit("(", 1)[-1].rstrip(")").split(", "):
            if flag.startswith("admin:arn:"):
                values.setdefault("admin_policy_arn", flag.removeprefix("admin:"))
            elif flag.startswith("admin:inline/"):
                values.setdefault("admin_inline_policy", flag.removeprefix("admin:inline/"))
    elif path.pattern == "unsanctioned_invocation":
        values.update(invoker=path.nodes[0][0], model=path.nodes[-1][0])
    elif path.pattern == "exposed_notebook_role":
        values.update(notebook_name=_name(kinds["sagemaker_notebook"]), notebook_role=_name(path.nodes[1][0]))
    return values


def path_finding(new: NewPath, event: dict) -> Finding:
    """The finding for a new path, about ``event`` (the batch event that completed it)."""
    path = new.path
    pattern = PATTERNS[path.pattern]
    route = " -> ".join(node for node, _ in path.nodes)
    context: dict[str, Any] = {
        "path_id": path.path_id, "pattern": path.pattern, "path": route, "since": new.at, "reason": path.reason,
        "nodes": [{"id": node, "kind": kind} for node, kind in path.nodes],
        "edges": [{"from": e.src, "kind": e.kind, "to": e.dst, "valid_from": e.valid_from,
                   "evidence_event_id": e.evidence} for e in path.edges],
        "evidence_event_ids": path.evidence, **path_parameters(path),
    }
    finding = Finding(
        detection=path.pattern, title=f"{pattern.title}: {_name(path.nodes[0][0])} -> {_name(path.nodes[-1][0])}",
        severity=pattern.severity, principal=str(event.get("actor") or event.get("src_ip") or ""), event=event,
        description=f"{pattern.description} Path: {route}. {path.reason}.", remediation=pattern.remediation,
        provider=str(event.get("ai_provider") or ""), context=context, techniques=pattern.techniques,
        dedup_key=f"path|{path.alert_key}", begun_by=(new.begun_by, new.at),
    )
    return replace(finding, actions=actions_for(PATH_ACTIONS[path.pattern], finding))
