"""Routine CloudTrail traffic, and the ways a principal's API call becomes a CloudTrail event.

Employees call AWS through IAM Identity Center (console or CLI), service roles through their SDKs, and the
reporting job with its long-lived access key from the VPC's NAT address. Incidents sign their events
through the same functions.
"""

from __future__ import annotations

from typing import Any

from streams.demo import records
from streams.demo.simulation import Simulation
from streams.demo.world import (
    ALL_AWS_REGIONS,
    AWS_ACCOUNT,
    AWS_HOME_REGION,
    AWS_USERS,
    EMPLOYEE_BY_LOGIN,
    LEAKED_KEY_USER,
    ROLE_BY_NAME,
    VPC_NAT_IP,
    Employee,
)

CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{AWS_ACCOUNT}:trail/org-management-trail"
_OLD_BOTO = "Boto3/1.26.137 Python/3.8.10 Linux/5.4.0-1103-aws Botocore/1.29.137"
_ORDERS_KMS_KEY = f"arn:aws:kms:us-east-1:{AWS_ACCOUNT}:key/2f1e8d4c-7b6a-4c3d-9e8f-a1b2c3d4e5f6"


# --- how a call becomes an event ---------------------------------------------------------------------


def emit_event(
    sim: Simulation,
    at_us: int,
    identity: dict,
    source: str,
    name: str,
    *,
    source_ip: str,
    user_agent: str,
    label: str = "",
    **fields: Any,
) -> None:
    """One CloudTrail event; ``fields`` are ``records.cloudtrail_event``'s optional ones."""
    event = records.cloudtrail_event(
        sim.rand, at_us, identity, source, name, source_ip=source_ip, user_agent=user_agent, **fields
    )
    sim.emit("cloudtrail", at_us, event, label)


def sso_event(
    sim: Simulation,
    person: Employee,
    at_us: int,
    source: str,
    name: str,
    *,
    console: bool | None = None,
    source_ip: str | None = None,
    session: tuple[str, int] | None = None,
    label: str = "",
    **fields: Any,
) -> None:
    """A call by an employee's IAM Identity Center session: from the console, or else the AWS CLI."""
    key, created = session or sim.aws_sessions[person.login]
    on_console = sim.rand.chance(0.35) if console is None else console
    emit_event(
        sim,
        at_us,
        records.sso_identity(person, key, created),
        source,
        name,
        source_ip=source_ip or person.egress_ip,
        user_agent=records.CONSOLE_USER_AGENT if on_console else records.cli_user_agent(source, name),
        console=on_console,
        label=label,
        **fields,
    )


def role_event(
    sim: Simulation,
    role_name: str,
    at_us: int,
    source: str,
    name: str,
    *,
    data_event: bool = False,
    **fields: Any,
) -> None:
    """A call by a service role's session, from the role's own address and SDK."""
    role = ROLE_BY_NAME[role_name]
    key, created = sim.aws_sessions[role_name]
    emit_event(
        sim,
        at_us,
        records.service_role_identity(role, key, created),
        source,
        name,
        source_ip=role.source_ip,
        user_agent=role.user_agent,
        data_event=data_event,
        version="1.10" if data_event else "1.09",
        **fields,
    )


def reporting_key_event(sim: Simulation, at_us: int, source: str, name: str, **fields: Any) -> None:
    """A call signed with the reporting job's long-lived access key, from wherever whoever holds it is."""
    identity = records.iam_user_identity(LEAKED_KEY_USER, sim.leaked_access_key)
    emit_event(sim, at_us, identity, source, name, **fields)


def s3_object_event(sim: Simulation, role_name: str, at_us: int, name: str, bucket: str, key: str) -> None:
    size = sim.rand.between(2_000, 8_000_000)
    reading = name == "GetObject"
    role_event(
        sim,
        role_name,
        at_us,
        "s3.amazonaws.com",
        name,
        read_only=reading,
        data_event=True,
        params={"bucketName": bucket, "Host": f"{bucket}.s3.us-east-1.amazonaws.com", "key": key},
        response=None if reading else {"x-amz-server-side-encryption": "aws:kms"},
        resources=[
            {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
            {"accountId": AWS_ACCOUNT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"},
        ],
        extra={
            "SignatureVersion": "SigV4",
            "CipherSuite": "TLS_AES_128_GCM_SHA256",
            "bytesTransferredIn": 0 if reading else size,
            "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": sim.rand.alnum(56),
            "bytesTransferredOut": size if reading else 0,
        },
        host=f"{bucket}.s3.us-east-1.amazonaws.com",
    )


def notebook_created(
    sim: Simulation,
    person: Employee,
    at_us: int,
    name: str,
    *,
    exposed: bool,
    looked_at_within_s: int,
    label: str = "",
) -> None:
    """An employee creates a SageMaker notebook instance in the console, then opens its page."""
    sso_event(
        sim,
        person,
        at_us,
        "sagemaker.amazonaws.com",
        "CreateNotebookInstance",
        read_only=False,
        console=True,
        params=_notebook_params(name, exposed=exposed),
        response={
            "notebookInstanceArn": f"arn:aws:sagemaker:us-east-1:{AWS_ACCOUNT}:notebook-instance/{name}"
        },
        label=label,
    )
    sso_event(
        sim,
        person,
        sim.soon_after(at_us, looked_at_within_s),
        "sagemaker.amazonaws.com",
        "DescribeNotebookInstance",
        read_only=True,
        console=True,
        params={"notebookInstanceName": name},
    )


def _notebook_params(name: str, *, exposed: bool) -> dict:
    setting = "Enabled" if exposed else "Disabled"
    params: dict = {
        "notebookInstanceName": name,
        "instanceType": "ml.t3.xlarge" if exposed else "ml.t3.medium",
        "roleArn": f"arn:aws:iam::{AWS_ACCOUNT}:role/sagemaker-execution",
        "directInternetAccess": setting,
        "volumeSizeInGB": 50 if exposed else 20,
        "rootAccess": setting,
        "platformIdentifier": "notebook-al2-v3",
    }
    if not exposed:
        params["subnetId"] = "subnet-0c4a7e91f2b35d608"
        params["securityGroupIds"] = ["sg-0b7e2c94d1a6f3085"]
        params["kmsKeyId"] = f"arn:aws:kms:us-east-1:{AWS_ACCOUNT}:key/9c1d7e3a-5b2f-4e8d-a6c0-3f7b1e9d2a54"
    return params


# --- routine traffic -----------------------------------------------------------------------------------


def routine_traffic(sim: Simulation) -> None:
    rand = sim.rand
    for _ in range(sim.count(420)):
        person = rand.pick(AWS_USERS)
        source, name, read_only, params = _employee_action(sim, person)
        region = AWS_HOME_REGION if rand.chance(0.85) or source.startswith(("iam", "ce.")) else "us-west-2"
        sso_event(sim, person, sim.anytime(), source, name, read_only=read_only, params=params, region=region)

    # A compliant notebook, a negative example for the exposed one.
    sara = EMPLOYEE_BY_LOGIN["sara.khan"]
    notebook_created(
        sim,
        sara,
        sim.at_minute(35, rand.between(0, 59)),
        "sara-churn-analysis",
        exposed=False,
        looked_at_within_s=90,
    )

    lake_keys = (
        "raw/orders/dt=2026-11-20/part-{n:05d}.parquet",
        "curated/customers/part-{n:05d}.parquet",
        "raw/clickstream/2026/11/20/08/events-{n:05d}.json.gz",
    )
    for _ in range(sim.count(150)):
        key = rand.pick(lake_keys).format(n=rand.between(0, 400))
        if rand.chance(0.6):
            s3_object_event(sim, "data-pipeline", sim.anytime(), "GetObject", "globex-datalake-raw", key)
        else:
            s3_object_event(sim, "data-pipeline", sim.anytime(), "PutObject", "globex-datalake-curated", key)
    for _ in range(sim.count(40)):
        at = sim.anytime()
        if rand.chance(0.5):
            role_event(
                sim,
                "etl-glue",
                at,
                "glue.amazonaws.com",
                rand.pick(("GetTable", "GetPartitions")),
                read_only=True,
                params={"databaseName": "analytics", "name": "orders"},
            )
        else:
            key = f"curated/customers/part-{rand.between(0, 400):05d}.parquet"
            s3_object_event(sim, "etl-glue", at, "GetObject", "globex-datalake-curated", key)
    for _ in range(sim.count(80)):
        _orders_lambda_event(sim, sim.anytime())
    for _ in range(sim.count(60)):
        name = rand.pick(
            (
                "GetAuthorizationToken",
                "DescribeNetworkInterfaces",
                "DescribeInstances",
                "AssignPrivateIpAddresses",
            )
        )
        source = "ecr.amazonaws.com" if name == "GetAuthorizationToken" else "ec2.amazonaws.com"
        params = (
            {"networkInterfaceId": f"eni-0{rand.hex(16)}", "secondaryPrivateIpAddressCount": 1}
            if name == "AssignPrivateIpAddresses"
            else None
        )
        role_event(
            sim,
            "eks-node-group",
            sim.anytime(),
            source,
            name,
            read_only=name != "AssignPrivateIpAddresses",
            params=params,
        )
    for _ in range(sim.count(40)):
        _ci_deploy_event(sim, sim.anytime())
    for scan in range(3 * sim.scale):
        _posture_scan(sim, sim.at_minute(10 + 35 * (scan % 3), rand.between(0, 59)) + (scan // 3) * 1_000_000)
    for _ in range(sim.count(10)):
        snapshot = f"orders-prod-{rand.hex(8)}"
        name = rand.pick(("CreateDBSnapshot", "DescribeDBSnapshots"))
        role_event(
            sim,
            "backup-runner",
            sim.anytime(),
            "rds.amazonaws.com",
            name,
            read_only=name.startswith("Describe"),
            params={"dBSnapshotIdentifier": snapshot, "dBInstanceIdentifier": "orders-prod"},
        )
    for _ in range(sim.count(20)):
        name, params = rand.pick(
            (
                ("GetRole", {"roleName": "orders-api-lambda"}),
                ("GetRolePolicy", {"roleName": "data-pipeline", "policyName": "datalake-access"}),
                ("ListAttachedRolePolicies", {"roleName": "eks-node-group"}),
            )
        )
        role_event(
            sim, "terraform-apply", sim.anytime(), "iam.amazonaws.com", name, read_only=True, params=params
        )
    for _ in range(sim.count(10)):
        key = f"models/churn/v{rand.between(1, 9)}/model.tar.gz"
        s3_object_event(sim, "sagemaker-execution", sim.anytime(), "GetObject", "globex-ml-artifacts", key)

    # The reporting job's long-lived key, used as intended from the VPC's NAT address.
    for _ in range(sim.count(12)):
        at = sim.anytime()
        name = rand.pick(("ListObjects", "GetObject"))
        params = {"bucketName": "globex-finance-reports", "Host": "globex-finance-reports.s3.amazonaws.com"}
        if name == "GetObject":
            params["key"] = f"daily/2026-11-{rand.between(1, 20):02d}/revenue.csv"
        reporting_key_event(
            sim,
            at,
            "s3.amazonaws.com",
            name,
            source_ip=VPC_NAT_IP,
            user_agent=_OLD_BOTO,
            params=params,
            read_only=True,
            data_event=True,
            version="1.10",
            resources=[{"type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::globex-finance-reports"}],
            host="globex-finance-reports.s3.amazonaws.com",
        )


def _posture_scan(sim: Simulation, scan_start: int) -> None:
    """The posture scanner's sweep: instances in every region, then the AI and logging settings."""
    for index, region in enumerate(ALL_AWS_REGIONS):
        role_event(
            sim,
            "monitoring-readonly",
            scan_start + index * 700_000,
            "ec2.amazonaws.com",
            "DescribeInstances",
            read_only=True,
            region=region,
            params={"instancesSet": {}, "filterSet": {}},
        )
    for offset, (source, name, params) in enumerate(
        (
            ("bedrock.amazonaws.com", "GetModelInvocationLoggingConfiguration", None),
            ("cloudtrail.amazonaws.com", "GetTrailStatus", {"name": TRAIL_ARN}),
            (
                "s3.amazonaws.com",
                "GetBucketPublicAccessBlock",
                {
                    "bucketName": "globex-datalake-raw",
                    "Host": "globex-datalake-raw.s3.amazonaws.com",
                    "publicAccessBlock": "",
                },
            ),
            ("sagemaker.amazonaws.com", "ListNotebookInstances", None),
        )
    ):
        role_event(
            sim,
            "monitoring-readonly",
            scan_start + 12_000_000 + offset * 900_000,
            source,
            name,
            read_only=True,
            params=params,
            host="s3.amazonaws.com" if source.startswith("s3") else None,
        )


_Action = tuple[str, str, bool, dict | None]
"""(event source, event name, read only, request parameters)"""


def _employee_action(sim: Simulation, person: Employee) -> _Action:
    rand = sim.rand
    common: tuple[tuple[_Action, int], ...] = (
        (("ec2.amazonaws.com", "DescribeInstances", True, {"instancesSet": {}, "filterSet": {}}), 8),
        (
            ("ec2.amazonaws.com", "DescribeSecurityGroups", True, {"securityGroupSet": {}, "filterSet": {}}),
            3,
        ),
        (("ec2.amazonaws.com", "DescribeVpcs", True, {"vpcSet": {}, "filterSet": {}}), 2),
        (("s3.amazonaws.com", "ListBuckets", True, {"Host": "s3.amazonaws.com"}), 4),
        (("iam.amazonaws.com", "GetRole", True, {"roleName": rand.pick(tuple(ROLE_BY_NAME))}), 2),
        (("logs.amazonaws.com", "DescribeLogGroups", True, {"limit": 50}), 3),
        (
            (
                "logs.amazonaws.com",
                "FilterLogEvents",
                True,
                {"logGroupName": "/aws/lambda/orders-api-handler", "interleaved": True},
            ),
            3,
        ),
        (("lambda.amazonaws.com", "ListFunctions20150331", True, None), 2),
        (("ecs.amazonaws.com", "DescribeServices", True, {"cluster": "prod", "services": ["orders-api"]}), 2),
        (("sts.amazonaws.com", "GetCallerIdentity", True, None), 2),
        (("eks.amazonaws.com", "DescribeCluster", True, {"name": "prod"}), 2),
        (("monitoring.amazonaws.com", "DescribeAlarms", True, {"maxRecords": 100}), 2),
    )
    extra: tuple[tuple[_Action, int], ...] = ()
    if person.permission_set == "DataScientist":
        extra = (
            (("bedrock.amazonaws.com", "ListFoundationModels", True, None), 3),
            (("bedrock.amazonaws.com", "GetFoundationModel", True, {"modelIdentifier": CLAUDE}), 2),
            (("sagemaker.amazonaws.com", "ListNotebookInstances", True, None), 3),
            (("glue.amazonaws.com", "GetTables", True, {"databaseName": "analytics"}), 3),
            (
                (
                    "athena.amazonaws.com",
                    "StartQueryExecution",
                    False,
                    {"queryString": "SELECT * FROM analytics.orders LIMIT 100", "workGroup": "data-science"},
                ),
                4,
            ),
        )
    elif person.permission_set in ("PowerUserAccess", "AdministratorAccess"):
        extra = (
            (
                (
                    "ssm.amazonaws.com",
                    "GetParameter",
                    True,
                    {"name": "/orders/prod/db-host", "withDecryption": False},
                ),
                3,
            ),
            (
                (
                    "ec2.amazonaws.com",
                    "CreateTags",
                    False,
                    {
                        "resourcesSet": {"items": [{"resourceId": f"i-0{rand.hex(16)}"}]},
                        "tagSet": {"items": [{"key": "owner", "value": person.login}]},
                    },
                ),
                1,
            ),
            (("cloudtrail.amazonaws.com", "LookupEvents", True, {"maxResults": 50}), 1),
        )
    elif person.permission_set == "SecurityAudit":
        extra = (
            (("securityhub.amazonaws.com", "GetFindings", True, {"maxResults": 100}), 4),
            (
                (
                    "guardduty.amazonaws.com",
                    "ListFindings",
                    True,
                    {"detectorId": "8ac41b0f7e2d9c36a5b1e07f42d96c13"},
                ),
                3,
            ),
        )
    elif person.permission_set == "Billing":
        return rand.pick(
            (
                (
                    "ce.amazonaws.com",
                    "GetCostAndUsage",
                    True,
                    {"timePeriod": {"start": "2026-11-01", "end": "2026-11-20"}, "granularity": "DAILY"},
                ),
                ("budgets.amazonaws.com", "DescribeBudgets", True, {"accountId": AWS_ACCOUNT}),
            )
        )
    return rand.weighted(common + extra)


def _orders_lambda_event(sim: Simulation, at: int) -> None:
    rand = sim.rand
    choice = rand.between(0, 10)
    if choice < 3:
        role_event(
            sim,
            "orders-api-lambda",
            at,
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            read_only=True,
            params={"secretId": "prod/orders/db"},
        )
    elif choice < 5:
        role_event(
            sim,
            "orders-api-lambda",
            at,
            "kms.amazonaws.com",
            "Decrypt",
            read_only=True,
            params={"encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
            resources=[{"accountId": AWS_ACCOUNT, "type": "AWS::KMS::Key", "ARN": _ORDERS_KMS_KEY}],
        )
    else:
        name = rand.pick(("GetItem", "PutItem", "Query"))
        role_event(
            sim,
            "orders-api-lambda",
            at,
            "dynamodb.amazonaws.com",
            name,
            read_only=name != "PutItem",
            data_event=True,
            params={"tableName": "orders"},
            resources=[
                {
                    "accountId": AWS_ACCOUNT,
                    "type": "AWS::DynamoDB::Table",
                    "ARN": f"arn:aws:dynamodb:us-east-1:{AWS_ACCOUNT}:table/orders",
                }
            ],
        )


def _ci_deploy_event(sim: Simulation, at: int) -> None:
    rand = sim.rand
    source, name, params = rand.pick(
        (
            ("ecr.amazonaws.com", "InitiateLayerUpload", {"repositoryName": "orders-api"}),
            (
                "ecr.amazonaws.com",
                "PutImage",
                {"repositoryName": "orders-api", "imageTag": f"sha-{rand.hex(7)}"},
            ),
            ("ecr.amazonaws.com", "BatchCheckLayerAvailability", {"repositoryName": "orders-api"}),
            ("ecs.amazonaws.com", "RegisterTaskDefinition", {"family": "orders-api"}),
            ("ecs.amazonaws.com", "UpdateService", {"cluster": "prod", "service": "orders-api"}),
        )
    )
    read_only = name.startswith(("Batch", "Describe"))
    role_event(sim, "ci-deployer", at, source, name, read_only=read_only, params=params)
