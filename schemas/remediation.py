"""A remediation action: what a SOAR could run to fix what an alert found. aispm never runs it.

Alerts carry these beside the runbook text (``unmapped.remediation_actions`` of the OCSF alert, the
``remediation_actions`` column of ``alerts``) and the remediation topic carries them alone. Every value in
``cli`` and ``parameters`` may come from an attacker-controlled log: ``cli`` is an argv list, one value per
token, to be executed without a shell (``subprocess.run(action.cli)``), never joined into a command line.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

ActionKind = Literal["aws_cli", "aws_api", "kubectl", "manual"]
"""``aws_cli``: ``cli`` is an ``aws`` command; ``aws_api``: call ``service``'s ``operation`` with
``parameters``; ``kubectl``: ``cli`` is a ``kubectl`` command; ``manual``: a person or a SOAR playbook acts
on ``parameters`` (a proxy block, a policy change), ``cli`` is empty."""
ActionRisk = Literal["low", "medium", "high"]
"""What running it can break: low (restores a control), medium (stops a resource or a credential someone
may be using), high (cuts off a role or deletes something)."""

_CLI_PROGRAMS = {"aws_cli": "aws", "kubectl": "kubectl"}

REMEDIATION_VERSION = 1
"""Of the remediation topic's message shape."""


class RemediationAction(BaseModel):
    """One action, its parameters filled from the finding."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ActionKind
    service: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$")]
    """The AWS CLI service (``s3api``, ``sagemaker``, ``bedrock-agent``) or, for a manual action, what it
    is done in (``egress-proxy``, ``ai-provider``)."""
    operation: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Za-z0-9]{2,79}$")]
    """The API operation (``PutPublicAccessBlock``, ``StopNotebookInstance``), or the manual step's name."""
    description: Annotated[str, StringConstraints(min_length=10)]
    cli: tuple[str, ...] = ()
    """argv tokens, the program first; empty for ``aws_api`` and ``manual``."""
    parameters: dict[str, str]
    """The values taken from the finding, by name (``bucket``, ``notebook``, ``region``, ``account``)."""
    risk: ActionRisk
    reversible: bool

    @model_validator(mode="after")
    def _cli_fits_kind(self) -> RemediationAction:
        program = _CLI_PROGRAMS.get(self.kind)
        if program is None:
            if self.cli:
                raise ValueError(f"a {self.kind} action has no command line")
        elif not self.cli or self.cli[0] != program:
            raise ValueError(f"an {self.kind} action's command starts with {program!r}")
        if any("\x00" in value for value in (*self.cli, *self.parameters.values())):
            raise ValueError("argv tokens cannot hold NUL")
        return self
