"""A Bedrock agent whose action group calls a Lambda function running with AdministratorAccess.

terraform-apply deploys the ``refund-processor`` function with its own role (08:18); ivan.horvat attaches
AdministratorAccess to that role to get past an AccessDenied (08:21); mei.tanaka builds the
``refund-helper`` agent (08:25) and gives it an action group that calls the function (08:27). A prompt
injection against the agent can now do anything in the account. ivan.horvat detaches the policy (09:42).
The graph's ``agent_admin_action`` path exists from 08:27 to 09:42.
"""

from __future__ import annotations

from streams.demo import cloudtrail
from streams.demo.incidents.base import Incident, RecordSelector
from streams.demo.simulation import Simulation, at_minute
from streams.demo.world import AWS_ACCOUNT, EMPLOYEE_BY_LOGIN

FUNCTION = "refund-processor"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{AWS_ACCOUNT}:function:{FUNCTION}"
ROLE_NAME = f"{FUNCTION}-role"
ROLE_ARN = f"arn:aws:iam::{AWS_ACCOUNT}:role/{ROLE_NAME}"
AGENT_ID = "R7KQ2WZ4XM"
AGENT_ARN = f"arn:aws:bedrock:us-east-1:{AWS_ACCOUNT}:agent/{AGENT_ID}"
ACTION_GROUP_ID = "HZ3M8PQ1VD"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
COMPLETED_AT, BROKEN_AT = at_minute(27, 31), at_minute(102, 8)
_CLAUDE_HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"

INCIDENT = Incident(
    "agent_refund_lambda_admin",
    "Bedrock agent action group runs as an administrator",
    f"terraform-apply creates the Lambda function {FUNCTION} (08:18); ivan.horvat attaches AdministratorAccess "
    f"to its role {ROLE_NAME} (08:21); mei.tanaka creates the Bedrock agent refund-helper (08:25) with an action "
    f"group calling {FUNCTION} (08:27); ivan.horvat detaches the policy (09:42). Attack path: agent -> action "
    "group -> Lambda -> admin role.",
    (RecordSelector("cloudtrail", (), (FUNCTION, AGENT_ID)),),
    attack=("T1078.004",),
    caught_by="paths",
    anomalous_access=True,  # a new agent and an admin grant: windows the model flags
)


def _role_policy(sim: Simulation, at_us: int, name: str) -> None:
    cloudtrail.sso_event(sim, EMPLOYEE_BY_LOGIN["ivan.horvat"], at_us, "iam.amazonaws.com", name, console=True,
                         read_only=False, region="us-east-1", params={"roleName": ROLE_NAME, "policyArn": ADMIN},
                         label=INCIDENT.id)


def inject(sim: Simulation) -> None:
    cloudtrail.role_event(
        sim, "terraform-apply", at_minute(18, 44), "lambda.amazonaws.com", "CreateFunction20150331",
        read_only=False,
        params={"functionName": FUNCTION, "runtime": "python3.12", "role": ROLE_ARN, "handler": "app.handler",
                "code": {}, "description": "Issues refunds for the support agent", "timeout": 30,
                "memorySize": 256, "publish": True, "packageType": "Zip", "architectures": ["arm64"]},
        response={"functionName": FUNCTION, "functionArn": FUNCTION_ARN, "runtime": "python3.12", "role": ROLE_ARN,
                  "handler": "app.handler", "codeSize": 48211, "timeout": 30, "memorySize": 256,
                  "lastModified": "2026-11-20T08:18:45.112+0000", "version": "1", "state": "Pending",
                  "stateReasonCode": "Creating", "packageType": "Zip", "architectures": ["arm64"]},
        label=INCIDENT.id,
    )
    _role_policy(sim, at_minute(21, 3), "AttachRolePolicy")
    person = EMPLOYEE_BY_LOGIN["mei.tanaka"]
    cloudtrail.sso_event(
        sim, person, at_minute(25, 20), "bedrock.amazonaws.com", "CreateAgent", console=True, read_only=False,
        params={"agentName": "refund-helper", "foundationModel": _CLAUDE_HAIKU,
                "instruction": "HIDDEN_DUE_TO_SECURITY_REASONS", "idleSessionTTLInSeconds": 600,
                "agentResourceRoleArn": f"arn:aws:iam::{AWS_ACCOUNT}:role/service-role/"
                                        "AmazonBedrockExecutionRoleForAgents_refund"},
        response={"agent": {"agentId": AGENT_ID, "agentName": "refund-helper", "agentArn": AGENT_ARN,
                            "agentVersion": "DRAFT", "agentStatus": "CREATING", "foundationModel": _CLAUDE_HAIKU,
                            "idleSessionTTLInSeconds": 600, "createdAt": "2026-11-20T08:25:20Z"}},
        label=INCIDENT.id,
    )
    cloudtrail.sso_event(
        sim, person, COMPLETED_AT, "bedrock.amazonaws.com", "CreateAgentActionGroup", console=True,
        read_only=False,
        params={"agentId": AGENT_ID, "agentVersion": "DRAFT", "actionGroupName": "issue-refund",
                "actionGroupExecutor": {"lambda": FUNCTION_ARN},
                "apiSchema": {"s3": {"s3BucketName": "globex-agent-schemas", "s3ObjectKey": "refunds/openapi.json"}}},
        response={"agentActionGroup": {"actionGroupId": ACTION_GROUP_ID, "actionGroupName": "issue-refund",
                                       "agentId": AGENT_ID, "agentVersion": "DRAFT", "actionGroupState": "ENABLED",
                                       "actionGroupExecutor": {"lambda": FUNCTION_ARN}}},
        label=INCIDENT.id,
    )
    _role_policy(sim, BROKEN_AT, "DetachRolePolicy")
