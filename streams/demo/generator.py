"""Deterministic demo traffic: two hours of a made-up company's logs with known incidents injected.

``generate(seed, scale)`` returns raw Kafka message values per source family, in the sources' real wire
formats (CloudTrail single-event JSON; Envoy, nginx, Squid, Zeek, Kong and API Gateway access logs;
Kubernetes, GCP, Azure and Okta audit events). The company (people, roles, networks) is fixed in
``streams.demo.world``; the seed decides timing, ids and the mix of background actions. The same seed and
scale always give byte-identical output.

``INCIDENTS`` lists what was injected and how to find each incident's records; ``MALFORMED`` counts the
deliberately broken messages per family, which a pipeline must turn into dead letters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from streams.demo import formats, records
from streams.demo.records import Rand
from streams.demo.world import (
    ACCOUNT_TAKEOVER_IP,
    AI_GATEWAY_HOST,
    AI_GATEWAY_IP,
    AI_GATEWAY_UPSTREAMS,
    AI_HOST_ADDRESSES,
    ALL_AWS_REGIONS,
    AWS_ACCOUNT,
    AWS_HOME_REGION,
    AWS_USERS,
    AZURE_SUBSCRIPTION,
    CI_POD_IP,
    DATA_SCIENTISTS,
    EMPLOYEE_BY_LOGIN,
    EMPLOYEES,
    GCP_PROJECT,
    KEY_LEAK_LAPTOP_IP,
    KONG_HOST,
    LEAKED_KEY_USER,
    LLMJACKING_IP,
    OFFICE_NAT_IP,
    OFFICE_RESOLVER_IP,
    ROLE_BY_NAME,
    SAAS_HOSTS,
    SHADOW_AI_LAPTOP_IP,
    SUMMARIZER_POD_IP,
    TAKEOVER_GEO,
    TOOLS_HOST,
    VPC_NAT_IP,
    Employee,
    host_address,
    stable_alnum,
)

FAMILIES: tuple[str, ...] = ("cloudtrail", "gateway", "audit")
START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
START_US = int(START.timestamp()) * 1_000_000
DURATION_US = 2 * 3600 * 1_000_000
END_US = START_US + DURATION_US
MALFORMED_LABEL = "malformed"


def _at(minute: int, second: int = 0) -> int:
    return START_US + (minute * 60 + second) * 1_000_000


# --- what was injected -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordSelector:
    """Records of ``family`` whose bytes contain every ``all_of`` string and, if given, one ``any_of``."""

    family: str
    all_of: tuple[str, ...]
    any_of: tuple[str, ...] = ()

    def matches(self, family: str, value: bytes) -> bool:
        if family != self.family:
            return False
        text = value.decode("utf-8", "replace")
        return all(part in text for part in self.all_of) and (
            not self.any_of or any(part in text for part in self.any_of)
        )


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    title: str
    description: str
    records: tuple[RecordSelector, ...]
    attack: tuple[str, ...] = ()
    """MITRE ATT&CK technique ids, where one clearly applies."""

    def matches(self, family: str, value: bytes) -> bool:
        return any(selector.matches(family, value) for selector in self.records)


def _event_names(*names: str) -> tuple[str, ...]:
    return tuple(f'"eventName":"{name}"' for name in names)


_SHADOW_AI_HOSTS = ("api.anthropic.com", "generativelanguage.googleapis.com", "api.deepseek.com")

INCIDENTS: tuple[Incident, ...] = (
    Incident(
        "shadow_ai_laptop",
        "Engineer's laptop calls unsanctioned AI APIs directly",
        f"nina.petrova's laptop ({SHADOW_AI_LAPTOP_IP}) resolves and connects to api.anthropic.com, "
        "generativelanguage.googleapis.com and api.deepseek.com all morning, bypassing the company AI "
        "gateway: "
        "Zeek DNS and TLS (SNI) records plus Squid CONNECT lines.",
        (RecordSelector("gateway", (SHADOW_AI_LAPTOP_IP,), _SHADOW_AI_HOSTS),),
    ),
    Incident(
        "shadow_ai_ci_pod",
        "CI pod calls the OpenAI API directly",
        f"A CI runner pod ({CI_POD_IP}) opens TLS connections to api.openai.com around 08:40 instead of "
        "using "
        "the AI gateway: Zeek TLS (SNI) records.",
        (RecordSelector("gateway", (CI_POD_IP, "api.openai.com")),),
    ),
    Incident(
        "openai_key_in_gateway_logs",
        "OpenAI project key exposed in gateway logs",
        f"omar.haddad ({KEY_LEAK_LAPTOP_IP}) sends an OpenAI project key (sk-proj-..., generated, fake) in a "
        "URL query string (nginx lines on the internal tools host) and in an 'api-key' request header "
        "(a Kong http-log record) around 09:02.",
        (RecordSelector("gateway", ("sk-proj-",)),),
        attack=("T1552",),
    ),
    Incident(
        "bedrock_llmjacking",
        "LLM-jacking with a leaked long-lived access key",
        f"The access key of IAM user {LEAKED_KEY_USER} (AKIA..., normally used from {VPC_NAT_IP}) is used "
        f"from {LLMJACKING_IP}: GetCallerIdentity, ListFoundationModels in 16 regions, "
        "GetFoundationModelAvailability, PutUseCaseForModelAccess, PutFoundationModelEntitlement (one denied "
        "with AccessDeniedException), then bursts of InvokeModel in us-east-1 and us-west-2 (09:10-09:45).",
        (
            RecordSelector(
                "cloudtrail",
                (LLMJACKING_IP,),
                _event_names(
                    "GetCallerIdentity",
                    "ListFoundationModels",
                    "GetFoundationModelAvailability",
                    "ListFoundationModelAgreementOffers",
                    "PutUseCaseForModelAccess",
                    "CreateFoundationModelAgreement",
                    "PutFoundationModelEntitlement",
                    "GetModelInvocationLoggingConfiguration",
                    "InvokeModel",
                ),
            ),
        ),
        attack=("T1078.004", "T1496"),
    ),
    Incident(
        "bedrock_logging_and_guardrail_deleted",
        "Bedrock invocation logging and a guardrail deleted",
        f"With the same leaked key from {LLMJACKING_IP}: DeleteModelInvocationLoggingConfiguration and "
        "DeleteGuardrail, just before the InvokeModel bursts (09:15).",
        (
            RecordSelector(
                "cloudtrail",
                (LLMJACKING_IP,),
                _event_names("DeleteModelInvocationLoggingConfiguration", "DeleteGuardrail"),
            ),
        ),
        attack=("T1562.008",),
    ),
    Incident(
        "sagemaker_notebook_exposed",
        "SageMaker notebook with direct internet access and root access",
        "li.wang creates a SageMaker notebook instance from the console with DirectInternetAccess Enabled "
        "and RootAccess Enabled (08:55). sara.khan's notebook earlier that morning has both Disabled.",
        (
            RecordSelector(
                "cloudtrail", ('"eventName":"CreateNotebookInstance"', '"directInternetAccess":"Enabled"')
            ),
        ),
    ),
    Incident(
        "cloudtrail_stopped",
        "CloudTrail logging stopped from a taken-over account",
        f"tom.becker's administrator session, from {ACCOUNT_TAKEOVER_IP} right after the Okta takeover, "
        "calls DescribeTrails, GetTrailStatus and StopLogging on the organization trail (08:30).",
        (RecordSelector("cloudtrail", (ACCOUNT_TAKEOVER_IP,)),),
        attack=("T1562.008",),
    ),
    Incident(
        "okta_account_takeover",
        "Okta brute force then success from a new country",
        f"14 failed sign-ins for tom.becker from {ACCOUNT_TAKEOVER_IP} ({TAKEOVER_GEO.country}), then a "
        "successful sign-in, MFA and SSO into AWS from the same address (08:20-08:25).",
        (RecordSelector("audit", (ACCOUNT_TAKEOVER_IP,)),),
        attack=("T1110", "T1078.004"),
    ),
    Incident(
        "k8s_pod_calls_ai",
        "Service account starts a pod that calls AI APIs",
        "The Airflow worker's service account (ml-batch/airflow-worker) creates pod ticket-summarizer-*, "
        f"which gets address {SUMMARIZER_POD_IP} and connects to api.anthropic.com and api.mistral.ai "
        "(Kubernetes audit create, binding and status records; Zeek TLS records). The same service account "
        "also starts ordinary ETL pods that call nothing outside.",
        (RecordSelector("audit", ("ticket-summarizer",)), RecordSelector("gateway", (SUMMARIZER_POD_IP,))),
    ),
)

INCIDENT_IDS: tuple[str, ...] = tuple(incident.id for incident in INCIDENTS)
MALFORMED: dict[str, int] = {"cloudtrail": 6, "gateway": 7, "audit": 6}


@dataclass(frozen=True, slots=True)
class DemoRecord:
    family: str
    value: bytes
    label: str
    """An incident id, ``"malformed"``, or ``""`` for background."""


@dataclass(frozen=True, slots=True)
class ExpectedCounts:
    records: dict[str, int]
    """Messages per family, malformed ones included."""
    malformed: dict[str, int]

    @property
    def valid(self) -> dict[str, int]:
        return {family: self.records[family] - self.malformed[family] for family in self.records}


# --- public API --------------------------------------------------------------------------------------


def generate(seed: int = 7, scale: int = 1) -> dict[str, list[bytes]]:
    """Raw message values per family ("cloudtrail", "gateway", "audit"), each family in time order."""
    out: dict[str, list[bytes]] = {family: [] for family in FAMILIES}
    for record in generate_labelled(seed, scale):
        out[record.family].append(record.value)
    return out


def generate_labelled(seed: int = 7, scale: int = 1) -> list[DemoRecord]:
    """Every message with its ground truth, family by family, each family in time order."""
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    demo = _Demo(seed, scale)
    demo.run()
    return demo.records()


def expected_counts(seed: int = 7, scale: int = 1) -> ExpectedCounts:
    counts = {family: 0 for family in FAMILIES}
    malformed = {family: 0 for family in FAMILIES}
    for record in generate_labelled(seed, scale):
        counts[record.family] += 1
        malformed[record.family] += record.label == MALFORMED_LABEL
    return ExpectedCounts(counts, malformed)


# --- the simulation ----------------------------------------------------------------------------------

_CHROME_MAC = (
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36"
    ),
    "Mac OS X",
    "CHROME",
)
_CHROME_WINDOWS = (
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36"
    ),
    "Windows 10",
    "CHROME",
)
_ATTACKER_BOTO = (
    "Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#6.5.0-27-generic md/arch#x86_64 "
    "lang/python#3.12.3 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.84"
)
_OLD_BOTO = "Boto3/1.26.137 Python/3.8.10 Linux/5.4.0-1103-aws Botocore/1.29.137"
_KUBECTL = "kubectl/v1.31.2 (darwin/arm64) kubernetes/5864a46"
_KUBELET = "kubelet/v1.30.4-eks-a737599 (linux/amd64) kubernetes/a737599"
_SCHEDULER = "kube-scheduler/v1.30.5 (linux/amd64) kubernetes/26da4b5/scheduler"
_CONTROLLER = (
    "kube-controller-manager/v1.30.5 (linux/amd64) kubernetes/26da4b5/system:serviceaccount:kube-system:"
)
_AIRFLOW_CLIENT = "OpenAPI-Generator/30.1.0/python"
_NODES = ("ip-10-40-12-7.ec2.internal", "ip-10-40-13-22.ec2.internal", "ip-10-40-14-91.ec2.internal")
_CONTROL_PLANE_IP = "10.40.0.85"
_GUARDRAIL_ARN = f"arn:aws:bedrock:us-east-1:{AWS_ACCOUNT}:guardrail/q7x2m9k4w1zt"
_TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{AWS_ACCOUNT}:trail/org-management-trail"
_CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
_ORDERS_KMS_KEY = f"arn:aws:kms:us-east-1:{AWS_ACCOUNT}:key/2f1e8d4c-7b6a-4c3d-9e8f-a1b2c3d4e5f6"
_DS_BOTO = "Boto3/1.35.36 md/Botocore#1.35.36 ua/2.0 os/macos#24.1.0 lang/python#3.12.7 Botocore/1.35.36"


class _Demo:
    """One generation run: a seeded random source and the records produced so far."""

    def __init__(self, seed: int, scale: int) -> None:
        self.rand = Rand(seed)
        self.scale = scale
        self._pending: dict[str, list[tuple[int, int, bytes, str]]] = {family: [] for family in FAMILIES}
        self._sequence = 0
        # Temporary credentials per principal, issued before the window opens.
        self.sessions: dict[str, tuple[str, int]] = {}
        for person in AWS_USERS:
            self.sessions[person.login] = (
                self.rand.aws_key("ASIA"),
                START_US - self.rand.between(0, 1_800_000_000),
            )
        for name in ROLE_BY_NAME:
            self.sessions[name] = (self.rand.aws_key("ASIA"), START_US - self.rand.between(0, 3_000_000_000))
        self.leaked_key = self.rand.aws_key("AKIA")

    # helpers
    def emit(self, family: str, at_us: int, record: dict | str | bytes, label: str = "") -> None:
        if isinstance(record, bytes):
            value = record
        else:
            value = record.encode() if isinstance(record, str) else orjson.dumps(record)
        self._pending[family].append((at_us, self._sequence, value, label))
        self._sequence += 1

    def anytime(self) -> int:
        return self.rand.between(START_US, END_US - 60_000_000)

    def soon_after(self, at_us: int, max_seconds: float) -> int:
        return at_us + self.rand.between(1_000, int(max_seconds * 1_000_000))

    def count(self, base: int) -> int:
        return base * self.scale

    def run(self) -> None:
        self.cloudtrail_background()
        self.gateway_background()
        self.audit_background()
        self.incident_shadow_ai_laptop()
        self.incident_shadow_ai_ci_pod()
        self.incident_key_exposure()
        self.incident_llmjacking()
        self.incident_sagemaker_notebook()
        self.incident_account_takeover()
        self.incident_k8s_pod_calls_ai()
        self.malformed()

    def records(self) -> list[DemoRecord]:
        out: list[DemoRecord] = []
        for family in FAMILIES:
            ordered = sorted(item for item in self._pending[family] if item[3] != MALFORMED_LABEL)
            for item in (item for item in self._pending[family] if item[3] == MALFORMED_LABEL):
                ordered.insert(self.rand.position(len(ordered)), item)
            out.extend(DemoRecord(family, value, label) for _, _, value, label in ordered)
        return out

    # --- CloudTrail -----------------------------------------------------------------------------------

    def sso_event(
        self,
        person: Employee,
        at_us: int,
        source: str,
        name: str,
        *,
        read_only: bool,
        params: dict | None = None,
        response: dict | None = None,
        region: str = AWS_HOME_REGION,
        console: bool | None = None,
        source_ip: str | None = None,
        label: str = "",
        session: tuple[str, int] | None = None,
    ) -> None:
        key, created = session or self.sessions[person.login]
        on_console = self.rand.chance(0.35) if console is None else console
        agent = records.CONSOLE_USER_AGENT if on_console else records.cli_user_agent(source, name)
        event = records.cloudtrail_event(
            self.rand,
            at_us,
            records.sso_identity(person, key, created),
            source,
            name,
            source_ip=source_ip or person.egress_ip,
            user_agent=agent,
            region=region,
            params=params,
            response=response,
            read_only=read_only,
            console=on_console,
        )
        self.emit("cloudtrail", at_us, event, label)

    def role_event(
        self,
        role_name: str,
        at_us: int,
        source: str,
        name: str,
        *,
        read_only: bool,
        params: dict | None = None,
        response: dict | None = None,
        region: str = AWS_HOME_REGION,
        data_event: bool = False,
        resources: list[dict] | None = None,
        extra: dict | None = None,
        host: str | None = None,
    ) -> None:
        role = ROLE_BY_NAME[role_name]
        key, created = self.sessions[role_name]
        event = records.cloudtrail_event(
            self.rand,
            at_us,
            records.service_role_identity(role, key, created),
            source,
            name,
            source_ip=role.source_ip,
            user_agent=role.user_agent,
            region=region,
            params=params,
            response=response,
            read_only=read_only,
            data_event=data_event,
            resources=resources,
            extra=extra,
            host=host,
            version="1.10" if data_event else "1.09",
        )
        self.emit("cloudtrail", at_us, event)

    def s3_object_event(self, role_name: str, at_us: int, name: str, bucket: str, key: str) -> None:
        size = self.rand.between(2_000, 8_000_000)
        reading = name == "GetObject"
        self.role_event(
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
                "x-amz-id-2": self.rand.alnum(56),
                "bytesTransferredOut": size if reading else 0,
            },
            host=f"{bucket}.s3.us-east-1.amazonaws.com",
        )

    def cloudtrail_background(self) -> None:
        rand = self.rand
        for _ in range(self.count(420)):
            person = rand.pick(AWS_USERS)
            source, name, read_only, params = self._employee_action(person)
            region = (
                AWS_HOME_REGION if rand.chance(0.85) or source.startswith(("iam", "ce.")) else "us-west-2"
            )
            self.sso_event(
                person, self.anytime(), source, name, read_only=read_only, params=params, region=region
            )

        # A compliant notebook, a negative example for the exposed one.
        sara = EMPLOYEE_BY_LOGIN["sara.khan"]
        created = _at(35, rand.between(0, 59))
        self.sso_event(
            sara,
            created,
            "sagemaker.amazonaws.com",
            "CreateNotebookInstance",
            read_only=False,
            console=True,
            params=_notebook_params("sara-churn-analysis", exposed=False),
            response=_notebook_response("sara-churn-analysis"),
        )
        self.sso_event(
            sara,
            self.soon_after(created, 90),
            "sagemaker.amazonaws.com",
            "DescribeNotebookInstance",
            read_only=True,
            console=True,
            params={"notebookInstanceName": "sara-churn-analysis"},
        )

        lake_keys = (
            "raw/orders/dt=2026-11-20/part-{n:05d}.parquet",
            "curated/customers/part-{n:05d}.parquet",
            "raw/clickstream/2026/11/20/08/events-{n:05d}.json.gz",
        )
        for _ in range(self.count(150)):
            key = rand.pick(lake_keys).format(n=rand.between(0, 400))
            if rand.chance(0.6):
                self.s3_object_event("data-pipeline", self.anytime(), "GetObject", "globex-datalake-raw", key)
            else:
                self.s3_object_event(
                    "data-pipeline", self.anytime(), "PutObject", "globex-datalake-curated", key
                )
        for _ in range(self.count(40)):
            at = self.anytime()
            if rand.chance(0.5):
                self.role_event(
                    "etl-glue",
                    at,
                    "glue.amazonaws.com",
                    rand.pick(("GetTable", "GetPartitions")),
                    read_only=True,
                    params={"databaseName": "analytics", "name": "orders"},
                )
            else:
                key = f"curated/customers/part-{rand.between(0, 400):05d}.parquet"
                self.s3_object_event("etl-glue", at, "GetObject", "globex-datalake-curated", key)
        for _ in range(self.count(80)):
            self._orders_lambda_event(self.anytime())
        for _ in range(self.count(60)):
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
            self.role_event(
                "eks-node-group",
                self.anytime(),
                source,
                name,
                read_only=name != "AssignPrivateIpAddresses",
                params=params,
            )
        for _ in range(self.count(40)):
            self._ci_deploy_event(self.anytime())
        for scan in range(3 * self.scale):
            scan_start = _at(10 + 35 * (scan % 3), rand.between(0, 59)) + (scan // 3) * 1_000_000
            for index, region in enumerate(ALL_AWS_REGIONS):
                self.role_event(
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
                    ("cloudtrail.amazonaws.com", "GetTrailStatus", {"name": _TRAIL_ARN}),
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
                self.role_event(
                    "monitoring-readonly",
                    scan_start + 12_000_000 + offset * 900_000,
                    source,
                    name,
                    read_only=True,
                    params=params,
                    host="s3.amazonaws.com" if source.startswith("s3") else None,
                )
        for _ in range(self.count(10)):
            snapshot = f"orders-prod-{rand.hex(8)}"
            name = rand.pick(("CreateDBSnapshot", "DescribeDBSnapshots"))
            self.role_event(
                "backup-runner",
                self.anytime(),
                "rds.amazonaws.com",
                name,
                read_only=name.startswith("Describe"),
                params={"dBSnapshotIdentifier": snapshot, "dBInstanceIdentifier": "orders-prod"},
            )
        for _ in range(self.count(20)):
            name, params = rand.pick(
                (
                    ("GetRole", {"roleName": "orders-api-lambda"}),
                    ("GetRolePolicy", {"roleName": "data-pipeline", "policyName": "datalake-access"}),
                    ("ListAttachedRolePolicies", {"roleName": "eks-node-group"}),
                )
            )
            self.role_event(
                "terraform-apply", self.anytime(), "iam.amazonaws.com", name, read_only=True, params=params
            )
        for _ in range(self.count(10)):
            key = f"models/churn/v{rand.between(1, 9)}/model.tar.gz"
            self.s3_object_event(
                "sagemaker-execution", self.anytime(), "GetObject", "globex-ml-artifacts", key
            )

        # The reporting job's long-lived key, used as intended from the VPC's NAT address.
        identity = records.iam_user_identity(LEAKED_KEY_USER, self.leaked_key)
        for _ in range(self.count(12)):
            at = self.anytime()
            name = rand.pick(("ListObjects", "GetObject"))
            params = {
                "bucketName": "globex-finance-reports",
                "Host": "globex-finance-reports.s3.amazonaws.com",
            }
            if name == "GetObject":
                params["key"] = f"daily/2026-11-{rand.between(1, 20):02d}/revenue.csv"
            event = records.cloudtrail_event(
                rand,
                at,
                identity,
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
            self.emit("cloudtrail", at, event)

    def _employee_action(self, person: Employee) -> tuple[str, str, bool, dict | None]:
        rand = self.rand
        common: tuple[tuple[tuple[str, str, bool, dict | None], int], ...] = (
            (("ec2.amazonaws.com", "DescribeInstances", True, {"instancesSet": {}, "filterSet": {}}), 8),
            (
                (
                    "ec2.amazonaws.com",
                    "DescribeSecurityGroups",
                    True,
                    {"securityGroupSet": {}, "filterSet": {}},
                ),
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
            (
                (
                    "ecs.amazonaws.com",
                    "DescribeServices",
                    True,
                    {"cluster": "prod", "services": ["orders-api"]},
                ),
                2,
            ),
            (("sts.amazonaws.com", "GetCallerIdentity", True, None), 2),
            (("eks.amazonaws.com", "DescribeCluster", True, {"name": "prod"}), 2),
            (("monitoring.amazonaws.com", "DescribeAlarms", True, {"maxRecords": 100}), 2),
        )
        extra: tuple[tuple[tuple[str, str, bool, dict | None], int], ...] = ()
        if person.permission_set == "DataScientist":
            extra = (
                (("bedrock.amazonaws.com", "ListFoundationModels", True, None), 3),
                (("bedrock.amazonaws.com", "GetFoundationModel", True, {"modelIdentifier": _CLAUDE}), 2),
                (("sagemaker.amazonaws.com", "ListNotebookInstances", True, None), 3),
                (("glue.amazonaws.com", "GetTables", True, {"databaseName": "analytics"}), 3),
                (
                    (
                        "athena.amazonaws.com",
                        "StartQueryExecution",
                        False,
                        {
                            "queryString": "SELECT * FROM analytics.orders LIMIT 100",
                            "workGroup": "data-science",
                        },
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

    def _orders_lambda_event(self, at: int) -> None:
        rand = self.rand
        choice = rand.between(0, 10)
        if choice < 3:
            self.role_event(
                "orders-api-lambda",
                at,
                "secretsmanager.amazonaws.com",
                "GetSecretValue",
                read_only=True,
                params={"secretId": "prod/orders/db"},
            )
        elif choice < 5:
            self.role_event(
                "orders-api-lambda",
                at,
                "kms.amazonaws.com",
                "Decrypt",
                read_only=True,
                params={"encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
                resources=[
                    {
                        "accountId": AWS_ACCOUNT,
                        "type": "AWS::KMS::Key",
                        "ARN": _ORDERS_KMS_KEY,
                    }
                ],
            )
        else:
            name = rand.pick(("GetItem", "PutItem", "Query"))
            self.role_event(
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

    def _ci_deploy_event(self, at: int) -> None:
        rand = self.rand
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
        self.role_event("ci-deployer", at, source, name, read_only=read_only, params=params)

    # --- gateway --------------------------------------------------------------------------------------

    def laptop_visit(
        self, at_us: int, laptop_ip: str, host: str, label: str = "", *, dns: bool, proxy: bool = True
    ) -> None:
        """What one laptop connection to ``host`` leaves: a DNS answer, the TLS handshake, Squid's tunnel."""
        address = host_address(host)
        rand = self.rand
        if dns:
            lookup = at_us - rand.between(2_000, 40_000)
            self.emit(
                "gateway",
                lookup,
                records.zeek_dns(rand, lookup, laptop_ip, OFFICE_RESOLVER_IP, host, [address]),
                label,
            )
        self.emit("gateway", at_us, records.zeek_ssl(rand, at_us, laptop_ip, address, host), label)
        if proxy:
            elapsed = rand.between(80, 240_000)
            done = at_us + elapsed * 1000
            line = formats.squid_native(
                done,
                elapsed,
                laptop_ip,
                "TCP_TUNNEL/200",
                rand.between(900, 900_000),
                "CONNECT",
                f"{host}:443",
                f"HIER_DIRECT/{address}",
                "-",
            )
            self.emit("gateway", done, line, label)

    def gateway_background(self) -> None:
        rand = self.rand
        for _ in range(self.count(300)):
            person = rand.pick(EMPLOYEES)
            self.laptop_visit(
                self.anytime(), person.laptop_ip, rand.weighted(SAAS_HOSTS), dns=rand.chance(0.4)
            )
        plain_http = (
            (
                "ocsp.digicert.com",
                "/MFEwTzBNMEswSTAJBgUrDgMCGgUABBSAUQYBMq2awn1Rh6Doh%2FsBYgFV7gQU",
                "application/ocsp-response",
            ),
            (
                "ctldl.windowsupdate.com",
                "/msdownload/update/v3/static/trustedr/en/disallowedcertstl.cab",
                "application/vnd.ms-cab-compressed",
            ),
            ("detectportal.firefox.com", "/canonical.html", "text/html"),
        )
        for _ in range(self.count(30)):
            person = rand.pick(EMPLOYEES)
            host, path, mime = rand.pick(plain_http)
            at = self.anytime()
            line = formats.squid_native(
                at,
                rand.between(5, 300),
                person.laptop_ip,
                "TCP_MISS/200",
                rand.between(300, 60_000),
                "GET",
                f"http://{host}{path}",
                f"HIER_DIRECT/{host_address(host)}",
                mime,
            )
            self.emit("gateway", at, line)
        for _ in range(self.count(8)):
            person = rand.pick(EMPLOYEES)
            at = self.anytime()
            line = formats.squid_native(
                at,
                0,
                person.laptop_ip,
                "TCP_DENIED/403",
                3894,
                "CONNECT",
                f"{rand.pick(('mega.nz', 'www.dropbox.com', 'wetransfer.com'))}:443",
                "HIER_NONE/-",
                "text/html",
            )
            self.emit("gateway", at, line)

        # Servers and pods talking to AWS and GitHub directly (no proxy).
        server_hosts = (
            "api.ecr.us-east-1.amazonaws.com",
            "sts.us-east-1.amazonaws.com",
            "s3.us-east-1.amazonaws.com",
            "github.com",
            "api.github.com",
            "dynamodb.us-east-1.amazonaws.com",
        )
        for _ in range(self.count(80)):
            source = rand.pick(("10.244.1.", "10.244.2.", "10.244.7.", "10.30.2.")) + str(
                rand.between(2, 250)
            )
            if source in (CI_POD_IP, SUMMARIZER_POD_IP):
                source = "10.244.1.9"
            host = rand.pick(server_hosts)
            at = self.anytime()
            self.emit(
                "gateway",
                at,
                records.zeek_ssl(rand, at, source, host_address(host), host, resumed=rand.chance(0.5)),
            )
        # The CI runner pod itself also does ordinary things: a negative next to the incident.
        for _ in range(self.count(4)):
            at = _at(38, 0) + rand.between(0, 240_000_000)
            self.emit(
                "gateway", at, records.zeek_ssl(rand, at, CI_POD_IP, host_address("github.com"), "github.com")
            )
        for _ in range(self.count(40)):
            source = f"10.30.{rand.between(1, 7)}.{rand.between(2, 80)}"
            host = rand.pick(server_hosts)
            at = self.anytime()
            self.emit(
                "gateway", at, records.zeek_dns(rand, at, source, "10.30.0.2", host, [host_address(host)])
            )

        self.sanctioned_ai()
        self.nginx_background()
        self.kong_background()
        self.api_gateway_background()

    def sanctioned_ai(self) -> None:
        """Data scientists use OpenAI and Bedrock through the company's Envoy AI gateway."""
        rand = self.rand
        handshakes = 0
        for index in range(self.count(190)):
            person = rand.pick(DATA_SCIENTISTS)
            at = self.anytime()
            bedrock = rand.chance(0.25)
            if bedrock:
                model = rand.pick((_CLAUDE, _CLAUDE, "amazon.titan-embed-text-v2:0"))
                path = f"/model/{model}/invoke"
                route, upstream = "bedrock", AI_GATEWAY_UPSTREAMS["bedrock"]
                agent = _DS_BOTO
            else:
                path = rand.pick(
                    ("/v1/chat/completions", "/v1/chat/completions", "/v1/embeddings", "/v1/models")
                )
                route, upstream = "openai", AI_GATEWAY_UPSTREAMS["openai"]
                agent = "OpenAI/Python 1.54.4"
            method = "GET" if path.endswith("models") else "POST"
            duration = rand.between(180, 14_000) if method == "POST" else rand.between(40, 300)
            status = 200 if rand.chance(0.97) else 429
            record = records.envoy_access(
                rand,
                at,
                client_ip=person.laptop_ip,
                authority=AI_GATEWAY_HOST,
                method=method,
                path=path,
                status=status,
                bytes_received=rand.between(300, 24_000) if method == "POST" else 0,
                bytes_sent=rand.between(400, 60_000),
                duration_ms=duration,
                upstream_cluster=f"outbound|443||{upstream[0]}",
                upstream_host=upstream[1],
                route_name=route,
                user_agent=agent,
                gateway_ip=AI_GATEWAY_IP,
            )
            self.emit("gateway", at, record)
            if bedrock and status == 200:
                call = at + rand.between(3_000, 30_000)
                name = "InvokeModel"
                self.role_event(
                    "ai-gateway",
                    call,
                    "bedrock.amazonaws.com",
                    name,
                    read_only=True,
                    params={"modelId": model},
                    host="bedrock-runtime.us-east-1.amazonaws.com",
                )
            # The gateway pools connections: a TLS handshake to the provider only now and then.
            if index % 8 == 0:
                handshakes += 1
                self.emit(
                    "gateway",
                    at,
                    records.zeek_ssl(
                        rand, at, AI_GATEWAY_IP, upstream[1], upstream[0], resumed=handshakes % 3 != 0
                    ),
                )
                if handshakes % 3 == 0:
                    lookup = at - rand.between(2_000, 20_000)
                    self.emit(
                        "gateway",
                        lookup,
                        records.zeek_dns(
                            rand, lookup, AI_GATEWAY_IP, "10.30.0.2", upstream[0], [upstream[1]]
                        ),
                    )

    def nginx_background(self) -> None:
        rand = self.rand
        pages = (
            ("/wiki/Onboarding", 200),
            ("/wiki/Runbooks/orders-api", 200),
            ("/dashboards/sales", 200),
            ("/dashboards/ops?range=24h", 200),
            ("/assets/app.3f9c2e1.js", 200),
            ("/assets/app.91ab4c.css", 200),
            ("/favicon.ico", 304),
            ("/wiki/Old-Page", 404),
            ("/api/search?q=vpn+setup", 200),
        )
        for _ in range(self.count(150)):
            person = rand.pick(EMPLOYEES)
            path, status = rand.pick(pages)
            at = self.anytime()
            size = {304: 0, 404: rand.between(150, 600)}.get(status) or rand.between(180, 90_000)
            referer = f"https://{TOOLS_HOST}/" if path.startswith("/assets") else "-"
            line = formats.nginx_combined(
                person.laptop_ip, at, f"GET {path} HTTP/1.1", status, size, referer, _CHROME_MAC[0]
            )
            self.emit("gateway", at, line)
        for _ in range(self.count(30)):
            at = self.anytime()
            line = formats.nginx_combined(
                "10.40.12.7", at, "GET /healthz HTTP/1.1", 200, 2, "-", "kube-probe/1.30"
            )
            self.emit("gateway", at, line)

    def kong_background(self) -> None:
        rand = self.rand
        partners = (
            ("acme-logistics", "24.113.61.20"),
            ("initech-retail", "68.45.201.77"),
            ("hooli-payments", "99.84.12.150"),
        )
        service = {
            "id": "6f0e1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
            "name": "partners-api",
            "host": "partners-api.orders.svc",
            "port": 8080,
            "protocol": "http",
            "path": "/",
            "retries": 5,
            "connect_timeout": 60000,
            "read_timeout": 60000,
            "write_timeout": 60000,
            "enabled": True,
        }
        route = {
            "id": "8d2c4e6f-1a3b-4c5d-9e7f-0a1b2c3d4e5f",
            "name": "partners-v2",
            "paths": ["/partners/v2"],
            "protocols": ["https"],
            "strip_path": False,
            "preserve_host": False,
            "https_redirect_status_code": 426,
            "service": {"id": service["id"]},
        }
        for _ in range(self.count(110)):
            partner, address = rand.pick(partners)
            at = self.anytime()
            if rand.chance(0.7):
                method, uri, query = "GET", "/partners/v2/orders", {"page": str(rand.between(1, 30))}
            else:
                method, uri, query = "POST", "/partners/v2/shipments", {}
            headers = {
                "host": KONG_HOST,
                "user-agent": "partner-sync/3.2 (+okhttp/4.12.0)",
                "accept": "application/json",
                "authorization": "REDACTED",
                "x-request-id": rand.uuid4(),
            }
            record = records.kong_http_log(
                rand,
                at,
                client_ip=address,
                method=method,
                uri=uri,
                querystring=query,
                headers=headers,
                status=rand.weighted(((200, 90), (201, 4), (401, 3), (429, 2), (502, 1))),
                request_size=rand.between(200, 4000),
                response_size=rand.between(300, 40_000),
                service=service,
                route=route,
                upstream_ip="10.30.4.12",
                consumer={
                    "id": "c0ffee00-" + partner[:4].encode().hex() + "-4e5f-8a9b-0c1d2e3f4a5b",
                    "username": partner,
                },
                workspace="0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
            )
            self.emit("gateway", at, record)

    def api_gateway_background(self) -> None:
        rand = self.rand
        routes = (
            ("GET", "/orders/{orderId}", lambda: f"/orders/{rand.between(100000, 999999)}", 200),
            ("GET", "/orders", lambda: "/orders", 200),
            ("POST", "/orders", lambda: "/orders", 201),
            ("GET", "/health", lambda: "/health", 200),
        )
        agents = (
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
                "(KHTML, like Gecko) Mobile/15E148 GlobexShop/5.4.1"
            ),
            "okhttp/4.12.0",
            "GlobexShop-Android/5.4.0",
        )
        for _ in range(self.count(120)):
            method, resource, path, status = rand.pick(routes)
            if rand.chance(0.04):
                status = rand.pick((403, 404, 500))
            at = self.anytime()
            record = records.api_gateway_access(
                rand,
                at,
                client_ip=rand.public_ip(),
                method=method,
                resource_path=resource,
                path=path(),
                status=status,
                response_length=rand.between(40, 9000),
                user_agent=rand.pick(agents),
                domain="api.globex-shop.example",
            )
            self.emit("gateway", at, record)

    # --- audit ----------------------------------------------------------------------------------------

    def okta(
        self,
        at_us: int,
        person: Employee,
        event_type: str,
        *,
        result: str = "SUCCESS",
        reason: str | None = None,
        client_ip: str | None = None,
        geo=None,
        label: str = "",
        targets: list[dict] | None = None,
        agent: tuple[str, str, str] = _CHROME_MAC,
        as_org: str = "globex fiber",
    ) -> None:
        legacy, message = _OKTA_EVENT_TEXT[event_type]
        if result != "SUCCESS" and event_type == "user.session.start":
            legacy = "core.user_auth.login_failed"
        outcome: dict = {"result": result, "reason": reason}
        event = records.okta_event(
            self.rand,
            at_us,
            actor=records.okta_user_actor(person.okta_id, person.email, person.name),
            event_type=event_type,
            legacy_type=legacy,
            display_message=message,
            outcome=outcome,
            client_ip=client_ip or person.egress_ip,
            geo=geo or person.geo,
            user_agent=agent,
            targets=targets,
            severity="INFO" if result == "SUCCESS" else "WARN",
            as_org=as_org,
            session_id="102" + self.rand.alnum(22),
        )
        self.emit("audit", at_us, event, label)

    def audit_background(self) -> None:
        rand = self.rand
        apps = (
            ("Slack", "0oa1slack7x2Y9kQ4d697"),
            ("Amazon Web Services", "0oa1aws5t3R8mV2n9697"),
            ("GitHub Enterprise Cloud", "0oa1gh8w4E6pL3s1x697"),
            ("Google Workspace", "0oa1gws2q9T5bN7c3697"),
            ("Salesforce", "0oa1sfdc6u1K8rJ4v697"),
            ("Atlassian Cloud", "0oa1atl3y7H2dF9g5697"),
        )
        for person in EMPLOYEES:
            login = START_US + rand.between(0, 40 * 60_000_000)
            self.okta(login, person, "user.session.start")
            self.okta(
                login + rand.between(3_000_000, 25_000_000),
                person,
                "user.authentication.auth_via_mfa",
                targets=[
                    {
                        "id": "pfd1mfa" + person.okta_id[3:16],
                        "type": "AuthenticatorEnrollment",
                        "alternateId": "unknown",
                        "displayName": "Okta Verify",
                        "detailEntry": None,
                    }
                ],
            )
        for _ in range(self.count(120)):
            person = rand.pick(EMPLOYEES)
            app_name, app_id = rand.pick(apps)
            self.okta(
                self.anytime(),
                person,
                "user.authentication.sso",
                targets=[
                    {
                        "id": app_id,
                        "type": "AppInstance",
                        "alternateId": app_name,
                        "displayName": app_name,
                        "detailEntry": {"signOnModeType": "SAML_2_0"},
                    }
                ],
            )
        for _ in range(self.count(10)):
            self.okta(self.anytime(), rand.pick(EMPLOYEES), "user.session.end")
        # A mistyped password now and then, from the usual place: a negative for the takeover rule.
        for login in ("kofi.mensah", "amira.saleh"):
            person = EMPLOYEE_BY_LOGIN[login]
            at = START_US + rand.between(0, 30 * 60_000_000)
            self.okta(at, person, "user.session.start", result="FAILURE", reason="INVALID_CREDENTIALS")
            self.okta(at + rand.between(10_000_000, 40_000_000), person, "user.session.start")

        self.kubernetes_background()
        self.gcp_background()
        self.azure_background()

    def k8s(
        self,
        at_us: int,
        *,
        user: dict,
        verb: str,
        uri: str,
        source_ip: str,
        agent: str,
        ref: dict,
        code: int = 200,
        level: str = "Metadata",
        request_object: dict | None = None,
        reason: str = "",
        label: str = "",
    ) -> None:
        event = records.k8s_audit(
            self.rand,
            at_us,
            user=user,
            verb=verb,
            request_uri=uri,
            source_ip=source_ip,
            user_agent=agent,
            object_ref=ref,
            code=code,
            level=level,
            request_object=request_object,
            reason=reason,
        )
        self.emit("audit", at_us, event, label)

    def start_pod(
        self,
        at_us: int,
        creator: dict,
        creator_ip: str,
        agent: str,
        namespace: str,
        name: str,
        pod_ip: str,
        spec: dict | None,
        label: str = "",
        reason: str = "",
    ) -> None:
        """A pod's life in the audit log: created, bound to a node, its address reported by the kubelet."""
        rand = self.rand
        node = rand.pick(_NODES)
        level = "RequestResponse" if spec is not None else "Metadata"
        self.k8s(
            at_us,
            user=creator,
            verb="create",
            uri=f"/api/v1/namespaces/{namespace}/pods",
            source_ip=creator_ip,
            agent=agent,
            code=201,
            level=level,
            request_object=spec,
            reason=reason,
            ref={"resource": "pods", "namespace": namespace, "name": name, "apiVersion": "v1"},
            label=label,
        )
        scheduler = {
            "username": "system:kube-scheduler",
            "uid": "kube-scheduler",
            "groups": ["system:authenticated"],
        }
        bound = at_us + rand.between(20_000, 900_000)
        self.k8s(
            bound,
            user=scheduler,
            verb="create",
            uri=f"/api/v1/namespaces/{namespace}/pods/{name}/binding",
            source_ip=_CONTROL_PLANE_IP,
            agent=_SCHEDULER,
            code=201,
            reason='RBAC: allowed by ClusterRoleBinding "system:kube-scheduler" of ClusterRole '
            '"system:kube-scheduler" to User "system:kube-scheduler"',
            ref={
                "resource": "pods",
                "namespace": namespace,
                "name": name,
                "apiVersion": "v1",
                "subresource": "binding",
            },
            label=label,
        )
        kubelet = _kubelet_user(node)
        status = {
            "status": {
                "conditions": [{"type": "Ready", "status": "True"}],
                "phase": "Running",
                "podIP": pod_ip,
                "podIPs": [{"ip": pod_ip}],
            }
        }
        ready = bound + rand.between(1_500_000, 9_000_000)
        self.k8s(
            ready,
            user=kubelet,
            verb="patch",
            uri=f"/api/v1/namespaces/{namespace}/pods/{name}/status",
            source_ip=_node_ip(node),
            agent=_KUBELET,
            level="Request",
            request_object=status,
            ref={
                "resource": "pods",
                "namespace": namespace,
                "name": name,
                "apiVersion": "v1",
                "subresource": "status",
            },
            label=label,
        )

    def kubernetes_background(self) -> None:
        rand = self.rand
        scheduler = {
            "username": "system:kube-scheduler",
            "uid": "kube-scheduler",
            "groups": ["system:authenticated"],
        }
        for _ in range(self.count(100)):
            self.k8s(
                self.anytime(),
                user=scheduler,
                verb=rand.pick(("get", "update")),
                uri="/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler?timeout=5s",
                source_ip=_CONTROL_PLANE_IP,
                agent=_SCHEDULER + "/leader-election",
                reason='RBAC: allowed by ClusterRoleBinding "system:kube-scheduler" of ClusterRole '
                '"system:kube-scheduler" to User "system:kube-scheduler"',
                ref={
                    "resource": "leases",
                    "namespace": "kube-system",
                    "name": "kube-scheduler",
                    "apiGroup": "coordination.k8s.io",
                    "apiVersion": "v1",
                },
            )
        for _ in range(self.count(40)):
            node = rand.pick(_NODES)
            self.k8s(
                self.anytime(),
                user=_kubelet_user(node),
                verb="update",
                uri=f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{node}?timeout=10s",
                source_ip=_node_ip(node),
                agent=_KUBELET,
                ref={
                    "resource": "leases",
                    "namespace": "kube-node-lease",
                    "name": node,
                    "apiGroup": "coordination.k8s.io",
                    "apiVersion": "v1",
                },
            )
        replicaset = records.k8s_service_account(
            "kube-system", "replicaset-controller", "3b8f6a1e-2c4d-4e5f-9a0b-7c8d9e0f1a2b"
        )
        for _ in range(self.count(10)):
            name = f"orders-api-6d5f9c7b8-{rand.text('bcdfghjklmnpqrstvwxz2456789', 5)}"
            pod_ip = f"10.244.{rand.pick((1, 2))}.{rand.between(2, 250)}"
            self.start_pod(
                self.anytime(),
                replicaset,
                _CONTROL_PLANE_IP,
                _CONTROLLER + "replicaset-controller",
                "orders",
                name,
                pod_ip,
                None,
                reason='RBAC: allowed by ClusterRoleBinding "system:controller:replicaset-controller"',
            )
        airflow = records.k8s_service_account(
            "ml-batch", "airflow-worker", "5d2e7f1a-9b3c-4d6e-8f0a-1b2c3d4e5f60"
        )
        for _ in range(self.count(6)):
            name = f"etl-daily-orders-{rand.text('abcdefghijklmnopqrstuvwxyz0123456789', 8)}"
            pod_ip = f"10.244.{rand.pick((1, 2))}.{rand.between(2, 250)}"
            self.start_pod(
                self.anytime(),
                airflow,
                "10.244.2.31",
                _AIRFLOW_CLIENT,
                "ml-batch",
                name,
                pod_ip,
                _pod_spec(name, "etl-orders:2.7.0", {"TARGET_TABLE": "analytics.orders"}),
                reason='RBAC: allowed by RoleBinding "airflow-pod-launcher/ml-batch"',
            )
        for _ in range(self.count(50)):
            person = rand.pick(
                tuple(p for p in AWS_USERS if p.permission_set in ("PowerUserAccess", "AdministratorAccess"))
            )
            role = records.sso_role_name(person.permission_set)
            user = {
                "username": f"arn:aws:sts::{AWS_ACCOUNT}:assumed-role/{role}/{person.email}",
                "uid": f"aws-iam-authenticator:{AWS_ACCOUNT}:AROA{person.okta_id[3:18].upper()}",
                "groups": ["system:authenticated", "eks-developers"],
            }
            verb, uri, ref = rand.pick(
                (
                    (
                        "list",
                        "/api/v1/namespaces/orders/pods?limit=500",
                        {"resource": "pods", "namespace": "orders", "apiVersion": "v1"},
                    ),
                    (
                        "get",
                        "/apis/apps/v1/namespaces/orders/deployments/orders-api",
                        {
                            "resource": "deployments",
                            "namespace": "orders",
                            "name": "orders-api",
                            "apiGroup": "apps",
                            "apiVersion": "v1",
                        },
                    ),
                    (
                        "list",
                        "/api/v1/namespaces/orders/events?limit=500",
                        {"resource": "events", "namespace": "orders", "apiVersion": "v1"},
                    ),
                )
            )
            self.k8s(
                self.anytime(),
                user=user,
                verb=verb,
                uri=uri,
                source_ip=person.egress_ip,
                agent=_KUBECTL,
                ref=ref,
                reason='RBAC: allowed by ClusterRoleBinding "eks-developers-view"',
            )
        argocd = records.k8s_service_account(
            "argocd", "argocd-application-controller", "7e9a1c3b-5d2f-4a6e-8b0c-2d4f6a8c0e1b"
        )
        for _ in range(self.count(10)):
            self.k8s(
                self.anytime(),
                user=argocd,
                verb="patch",
                uri="/apis/apps/v1/namespaces/orders/deployments/orders-api?fieldManager=argocd-controller",
                source_ip="10.244.2.17",
                agent="argocd-application-controller/v2.13.1+af54ef8",
                ref={
                    "resource": "deployments",
                    "namespace": "orders",
                    "name": "orders-api",
                    "apiGroup": "apps",
                    "apiVersion": "v1",
                },
                reason='RBAC: allowed by ClusterRoleBinding "argocd-application-controller"',
            )

    def gcp_background(self) -> None:
        rand = self.rand
        etl = f"etl-runner@{GCP_PROJECT}.iam.gserviceaccount.com"
        browser = _CHROME_MAC[0] + ",gzip(gfe)"
        for _ in range(self.count(80)):
            at = self.anytime()
            kind = rand.between(0, 10)
            if kind < 4:
                person = rand.pick(DATA_SCIENTISTS)
                job = f"projects/{GCP_PROJECT}/jobs/bquxjob_{rand.hex(8)}_{rand.hex(11)}"
                entry = records.gcp_audit(
                    rand,
                    at,
                    principal=person.email,
                    caller_ip=OFFICE_NAT_IP,
                    user_agent=browser,
                    service="bigquery.googleapis.com",
                    method="google.cloud.bigquery.v2.JobService.InsertJob",
                    resource_name=job,
                    resource_type="bigquery_project",
                    labels={"location": "US"},
                    permission="bigquery.jobs.create",
                    data_access=True,
                )
            elif kind < 8:
                name = rand.pick(("storage.objects.get", "storage.objects.create"))
                obj = f"exports/events-{rand.between(0, 999):03d}.avro"
                entry = records.gcp_audit(
                    rand,
                    at,
                    principal=etl,
                    caller_ip="35.203.14.77",
                    user_agent="apache-beam/2.60.0 gcloud-java/2.44.1 (gzip),gzip(gfe)",
                    service="storage.googleapis.com",
                    method=name,
                    resource_name=f"projects/_/buckets/globex-analytics-exports/objects/{obj}",
                    resource_type="gcs_bucket",
                    labels={"bucket_name": "globex-analytics-exports", "location": "us"},
                    permission=name,
                    data_access=True,
                )
            else:
                person = rand.pick(tuple(p for p in EMPLOYEES if p.group == "platform"))
                instance = f"analytics-worker-{rand.between(1, 6)}"
                method = rand.pick(
                    (
                        "v1.compute.instances.start",
                        "v1.compute.instances.stop",
                        "v1.compute.instances.setLabels",
                    )
                )
                entry = records.gcp_audit(
                    rand,
                    at,
                    principal=person.email,
                    caller_ip=person.egress_ip,
                    user_agent="google-cloud-sdk gcloud/502.0.0 command/gcloud.compute.instances,gzip(gfe)",
                    service="compute.googleapis.com",
                    method=method,
                    resource_name=f"projects/{GCP_PROJECT}/zones/us-central1-a/instances/{instance}",
                    resource_type="gce_instance",
                    labels={"zone": "us-central1-a", "instance_id": str(rand.between(10**18, 10**19))},
                    permission="compute.instances." + method.rsplit(".", 1)[1],
                )
            self.emit("audit", at, entry)

    def azure_background(self) -> None:
        rand = self.rand
        operations = (
            ("Microsoft.Compute/virtualMachines/start/action", "virtualMachines/build-agent-{n}"),
            ("Microsoft.Compute/virtualMachines/deallocate/action", "virtualMachines/build-agent-{n}"),
            ("Microsoft.Resources/deployments/write", "deployments/release-{n}"),
            ("Microsoft.Network/networkSecurityGroups/write", "networkSecurityGroups/build-agents-nsg"),
        )
        platform = tuple(p for p in EMPLOYEES if p.group == "platform")
        for _ in range(self.count(35)):
            operation, resource = rand.pick(operations)
            provider = operation.split("/", 1)[0]
            resource_id = (
                f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/ci-build/providers/{provider}/"
                f"{resource.format(n=rand.between(1, 9))}"
            )
            person = rand.pick(platform)
            correlation = rand.uuid4()
            object_id = rand.uuid4()
            at = self.anytime()
            for result, moment in (("Start", at), ("Success", at + rand.between(2_000_000, 90_000_000))):
                record = records.azure_activity(
                    rand,
                    moment,
                    resource_id=resource_id,
                    operation=operation,
                    result_type=result,
                    caller=person.email,
                    caller_ip=person.egress_ip,
                    correlation_id=correlation,
                    location="eastus",
                    status_code="200",
                    object_id=object_id,
                    role="Contributor",
                )
                self.emit("audit", moment, record)

    # --- incidents ------------------------------------------------------------------------------------

    def incident_shadow_ai_laptop(self) -> None:
        rand = self.rand
        laptop = EMPLOYEE_BY_LOGIN["nina.petrova"].laptop_ip
        plan = (("api.anthropic.com", 20), ("generativelanguage.googleapis.com", 6), ("api.deepseek.com", 5))
        for host, calls in plan:
            for _ in range(calls):
                at = _at(5) + rand.between(0, 110 * 60_000_000)
                self.laptop_visit(at, laptop, host, "shadow_ai_laptop", dns=True)
        # Her ordinary traffic sits beside it.
        for _ in range(12):
            self.laptop_visit(self.anytime(), laptop, rand.weighted(SAAS_HOSTS), dns=rand.chance(0.4))

    def incident_shadow_ai_ci_pod(self) -> None:
        rand = self.rand
        address = AI_HOST_ADDRESSES["api.openai.com"]
        for _ in range(8):
            at = _at(40) + rand.between(0, 180_000_000)
            self.emit(
                "gateway",
                at,
                records.zeek_ssl(rand, at, CI_POD_IP, address, "api.openai.com"),
                "shadow_ai_ci_pod",
            )

    def incident_key_exposure(self) -> None:
        rand = self.rand
        label = "openai_key_in_gateway_logs"
        key = rand.openai_project_key()
        at = _at(62, rand.between(0, 30))
        for attempt, path in enumerate(("/llm/v1/models", "/llm/v1/models", "/llm/v1/chat/completions")):
            method = "GET" if path.endswith("models") else "POST"
            moment = at + attempt * rand.between(2_000_000, 20_000_000)
            line = formats.nginx_combined(
                KEY_LEAK_LAPTOP_IP,
                moment,
                f"{method} {path}?api_key={key} HTTP/1.1",
                200 if attempt else 401,
                rand.between(90, 4000),
                "-",
                "python-requests/2.32.3",
            )
            self.emit("gateway", moment, line, label)
        moment = at + 45_000_000
        service = {
            "id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
            "name": "llm-proxy",
            "host": "llm-proxy.ml.svc",
            "port": 8000,
            "protocol": "http",
            "path": "/",
            "retries": 5,
            "connect_timeout": 60000,
            "read_timeout": 60000,
            "write_timeout": 60000,
            "enabled": True,
        }
        route = {
            "id": "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
            "name": "llm-proxy",
            "paths": ["/llm"],
            "protocols": ["https"],
            "strip_path": False,
            "preserve_host": False,
            "https_redirect_status_code": 426,
            "service": {"id": service["id"]},
        }
        headers = {
            "host": KONG_HOST,
            "user-agent": "python-requests/2.32.3",
            "accept": "*/*",
            "content-type": "application/json",
            "api-key": key,
            "x-request-id": rand.uuid4(),
        }
        record = records.kong_http_log(
            rand,
            moment,
            client_ip=KEY_LEAK_LAPTOP_IP,
            method="POST",
            uri="/llm/v1/chat/completions",
            querystring={},
            headers=headers,
            status=200,
            request_size=1830,
            response_size=2415,
            service=service,
            route=route,
            upstream_ip="10.30.4.40",
            consumer=None,
            workspace="0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
        )
        self.emit("gateway", moment, record, label)

    def attacker_event(
        self,
        at_us: int,
        source: str,
        name: str,
        *,
        read_only: bool,
        label: str,
        region: str = AWS_HOME_REGION,
        params: dict | None = None,
        response: dict | None = None,
        error: tuple[str, str] | None = None,
        host: str | None = None,
    ) -> None:
        identity = records.iam_user_identity(LEAKED_KEY_USER, self.leaked_key)
        event = records.cloudtrail_event(
            self.rand,
            at_us,
            identity,
            source,
            name,
            source_ip=LLMJACKING_IP,
            user_agent=_ATTACKER_BOTO,
            region=region,
            params=params,
            response=response,
            read_only=read_only,
            error=error,
            host=host,
        )
        self.emit("cloudtrail", at_us, event, label)

    def incident_llmjacking(self) -> None:
        rand = self.rand
        jack = "bedrock_llmjacking"
        self.attacker_event(
            _at(70, rand.between(0, 10)), "sts.amazonaws.com", "GetCallerIdentity", read_only=True, label=jack
        )
        at = _at(70, 20)
        for region in ALL_AWS_REGIONS:
            at += rand.between(1_000_000, 5_000_000)
            self.attacker_event(
                at, "bedrock.amazonaws.com", "ListFoundationModels", read_only=True, region=region, label=jack
            )
        models = (_CLAUDE, "anthropic.claude-3-opus-20240229-v1:0", "anthropic.claude-3-haiku-20240307-v1:0")
        at = _at(72)
        for model in models:
            at += rand.between(2_000_000, 9_000_000)
            self.attacker_event(
                at,
                "bedrock.amazonaws.com",
                "GetFoundationModelAvailability",
                read_only=True,
                params={"modelId": model},
                label=jack,
            )
        self.attacker_event(
            _at(72, 40),
            "bedrock.amazonaws.com",
            "ListFoundationModelAgreementOffers",
            read_only=True,
            params={"modelId": _CLAUDE},
            label=jack,
        )
        self.attacker_event(
            _at(73), "bedrock.amazonaws.com", "PutUseCaseForModelAccess", read_only=False, label=jack
        )
        self.attacker_event(
            _at(73, 20),
            "bedrock.amazonaws.com",
            "CreateFoundationModelAgreement",
            read_only=False,
            params={"modelId": _CLAUDE},
            response={"modelId": _CLAUDE.removesuffix(":0")},
            label=jack,
        )
        for index, (model, region) in enumerate(
            ((_CLAUDE, "us-east-1"), (models[1], "us-west-2"), (models[2], "us-east-1"))
        ):
            denied = index == 1
            self.attacker_event(
                _at(73, 35 + index * 9),
                "bedrock.amazonaws.com",
                "PutFoundationModelEntitlement",
                read_only=False,
                region=region,
                params={"modelId": model},
                response=None if denied else {"status": "SUCCESS"},
                error=(
                    "AccessDeniedException",
                    "You don't have access to the model with the specified model ID.",
                )
                if denied
                else None,
                label=jack,
            )
        self.attacker_event(
            _at(74, 30),
            "bedrock.amazonaws.com",
            "GetModelInvocationLoggingConfiguration",
            read_only=True,
            label=jack,
        )

        erase = "bedrock_logging_and_guardrail_deleted"
        self.attacker_event(
            _at(75, rand.between(0, 20)),
            "bedrock.amazonaws.com",
            "DeleteModelInvocationLoggingConfiguration",
            read_only=False,
            label=erase,
        )
        self.attacker_event(
            _at(75, 40),
            "bedrock.amazonaws.com",
            "DeleteGuardrail",
            read_only=False,
            params={"guardrailIdentifier": _GUARDRAIL_ARN},
            label=erase,
        )

        for start_minute, seconds, calls, region in (
            (77, 300, 30, "us-east-1"),
            (90, 240, 25, "us-west-2"),
            (101, 180, 20, "us-east-1"),
        ):
            for call in range(calls):
                at = _at(start_minute) + rand.between(0, seconds * 1_000_000)
                throttled = region == "us-east-1" and start_minute == 101 and call < 2
                self.attacker_event(
                    at,
                    "bedrock.amazonaws.com",
                    "InvokeModel",
                    read_only=True,
                    region=region,
                    params={"modelId": _CLAUDE if call % 4 else models[2]},
                    error=("ThrottlingException", "Too many requests, please wait before trying again.")
                    if throttled
                    else None,
                    host=f"bedrock-runtime.{region}.amazonaws.com",
                    label=jack,
                )

    def incident_sagemaker_notebook(self) -> None:
        li = EMPLOYEE_BY_LOGIN["li.wang"]
        at = _at(55, self.rand.between(0, 59))
        self.sso_event(
            li,
            at,
            "sagemaker.amazonaws.com",
            "CreateNotebookInstance",
            read_only=False,
            console=True,
            params=_notebook_params("li-llm-experiments", exposed=True),
            response=_notebook_response("li-llm-experiments"),
            label="sagemaker_notebook_exposed",
        )
        self.sso_event(
            li,
            self.soon_after(at, 120),
            "sagemaker.amazonaws.com",
            "DescribeNotebookInstance",
            read_only=True,
            console=True,
            params={"notebookInstanceName": "li-llm-experiments"},
        )

    def incident_account_takeover(self) -> None:
        rand = self.rand
        tom = EMPLOYEE_BY_LOGIN["tom.becker"]
        label = "okta_account_takeover"
        at = _at(20)
        for _ in range(14):
            at += rand.between(4_000_000, 15_000_000)
            self.okta(
                at,
                tom,
                "user.session.start",
                result="FAILURE",
                reason="INVALID_CREDENTIALS",
                client_ip=ACCOUNT_TAKEOVER_IP,
                geo=TAKEOVER_GEO,
                agent=_CHROME_WINDOWS,
                as_org="m247 ltd",
                label=label,
            )
        success = _at(24, 10) + rand.between(0, 1_000_000)
        self.okta(
            success,
            tom,
            "user.session.start",
            client_ip=ACCOUNT_TAKEOVER_IP,
            geo=TAKEOVER_GEO,
            agent=_CHROME_WINDOWS,
            as_org="m247 ltd",
            label=label,
        )
        self.okta(
            success + 21_000_000,
            tom,
            "user.authentication.auth_via_mfa",
            client_ip=ACCOUNT_TAKEOVER_IP,
            geo=TAKEOVER_GEO,
            agent=_CHROME_WINDOWS,
            as_org="m247 ltd",
            label=label,
            targets=[
                {
                    "id": "pfd1mfa" + tom.okta_id[3:16],
                    "type": "AuthenticatorEnrollment",
                    "alternateId": "unknown",
                    "displayName": "Okta Verify",
                    "detailEntry": None,
                }
            ],
        )
        self.okta(
            _at(28, 5) + rand.between(0, 1_000_000),
            tom,
            "user.authentication.sso",
            client_ip=ACCOUNT_TAKEOVER_IP,
            geo=TAKEOVER_GEO,
            agent=_CHROME_WINDOWS,
            as_org="m247 ltd",
            label=label,
            targets=[
                {
                    "id": "0oa1aws5t3R8mV2n9697",
                    "type": "AppInstance",
                    "alternateId": "Amazon Web Services",
                    "displayName": "Amazon Web Services",
                    "detailEntry": {"signOnModeType": "SAML_2_0"},
                }
            ],
        )

        # Then in AWS, with a fresh administrator session from the same address.
        session = (rand.aws_key("ASIA"), _at(29))
        stopped = "cloudtrail_stopped"
        for moment, name, params in (
            (_at(30), "DescribeTrails", {"trailNameList": [], "includeShadowTrails": True}),
            (_at(30, 40), "GetTrailStatus", {"name": _TRAIL_ARN}),
            (_at(31, 30), "StopLogging", {"name": _TRAIL_ARN}),
        ):
            self.sso_event(
                tom,
                moment,
                "cloudtrail.amazonaws.com",
                name,
                read_only=name != "StopLogging",
                params=params,
                console=True,
                source_ip=ACCOUNT_TAKEOVER_IP,
                session=session,
                label=stopped,
            )

    def incident_k8s_pod_calls_ai(self) -> None:
        rand = self.rand
        label = "k8s_pod_calls_ai"
        airflow = records.k8s_service_account(
            "ml-batch", "airflow-worker", "5d2e7f1a-9b3c-4d6e-8f0a-1b2c3d4e5f60"
        )
        name = f"ticket-summarizer-{rand.text('abcdefghijklmnopqrstuvwxyz0123456789', 8)}"
        spec = _pod_spec(
            name,
            "ticket-summarizer:1.4.2",
            {"LLM_PROVIDER": "anthropic", "FALLBACK_PROVIDER": "mistral"},
            secret_env=("ANTHROPIC_API_KEY", "MISTRAL_API_KEY"),
        )
        self.start_pod(
            _at(80) + rand.between(0, 30_000_000),
            airflow,
            "10.244.2.31",
            _AIRFLOW_CLIENT,
            "ml-batch",
            name,
            SUMMARIZER_POD_IP,
            spec,
            label=label,
            reason='RBAC: allowed by RoleBinding "airflow-pod-launcher/ml-batch"',
        )
        for host, calls in (("api.anthropic.com", 6), ("api.mistral.ai", 4)):
            for _ in range(calls):
                at = _at(81) + rand.between(0, 14 * 60_000_000)
                self.emit(
                    "gateway",
                    at,
                    records.zeek_ssl(rand, at, SUMMARIZER_POD_IP, AI_HOST_ADDRESSES[host], host),
                    label,
                )

    # --- malformed ------------------------------------------------------------------------------------

    def malformed(self) -> None:
        rand = self.rand
        junk = b"\xff\xfe\x00\x81" + bytes(rand.between(0, 256) for _ in range(40))
        ops = EMPLOYEE_BY_LOGIN["ivan.horvat"]
        key, created = self.sessions[ops.login]
        good = records.cloudtrail_event(
            rand,
            _at(50),
            records.sso_identity(ops, key, created),
            "ec2.amazonaws.com",
            "DescribeInstances",
            source_ip=ops.egress_ip,
            user_agent=records.CONSOLE_USER_AGENT,
            read_only=True,
        )
        encoded = orjson.dumps(good)
        cloudtrail = (
            encoded[: len(encoded) * 3 // 5],  # cut off mid-record
            orjson.dumps({**good, "eventTime": {"$date": 12345}}),  # an object where a timestamp belongs
            orjson.dumps({**good, "userIdentity": "AIDAEXAMPLEUSER"}),
            junk,
            orjson.dumps({**good, "eventTime": "yesterday 25:61"}),
            b'"StopLogging"',  # valid JSON, but a string where an event belongs
        )
        envoy = orjson.dumps(
            records.envoy_access(
                rand,
                _at(51),
                client_ip="10.20.0.100",
                authority=AI_GATEWAY_HOST,
                method="POST",
                path="/v1/embeddings",
                status=200,
                bytes_received=900,
                bytes_sent=3000,
                duration_ms=240,
                upstream_cluster="outbound|443||api.openai.com",
                upstream_host="162.159.140.245",
                route_name="openai",
                user_agent="OpenAI/Python 1.54.4",
                gateway_ip=AI_GATEWAY_IP,
            )
        )
        dns = records.zeek_dns(
            rand, _at(52), "10.20.0.101", OFFICE_RESOLVER_IP, "slack.com", [host_address("slack.com")]
        )
        gateway = (
            envoy[: len(envoy) // 2],
            f'10.20.0.102 - - [{formats.clf_time(_at(53))}] "GET /wiki/Home HTT'.encode(),
            b"%%%% not a log line %%%%",
            junk[::-1] + b"\xc3\x28",
            orjson.dumps({**dns, "ts": {"sec": 12345}}),
            f"{formats.squid_time(_at(54))}      0 10.20.0.103 TCP_TUNNEL/200".encode(),
            b'{"level":"info","msg":"upstream connected","component":"sidecar"}',
        )
        kube = records.k8s_audit(
            rand,
            _at(56),
            user={
                "username": "system:kube-scheduler",
                "uid": "kube-scheduler",
                "groups": ["system:authenticated"],
            },
            verb="get",
            request_uri="/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler",
            source_ip=_CONTROL_PLANE_IP,
            user_agent=_SCHEDULER,
            code=200,
            object_ref={
                "resource": "leases",
                "namespace": "kube-system",
                "name": "kube-scheduler",
                "apiGroup": "coordination.k8s.io",
                "apiVersion": "v1",
            },
        )
        kube_bytes = orjson.dumps(kube)
        person = EMPLOYEE_BY_LOGIN["zoe.evans"]
        okta = records.okta_event(
            rand,
            _at(57),
            actor=records.okta_user_actor(person.okta_id, person.email, person.name),
            event_type="user.session.end",
            legacy_type="core.user_auth.logout_success",
            display_message="User logout from Okta",
            outcome={"result": "SUCCESS", "reason": None},
            client_ip=person.egress_ip,
            geo=person.geo,
            user_agent=_CHROME_MAC,
            targets=None,
        )
        gcp = records.gcp_audit(
            rand,
            _at(58),
            principal=f"etl-runner@{GCP_PROJECT}.iam.gserviceaccount.com",
            caller_ip="35.203.14.77",
            user_agent="apache-beam/2.60.0",
            service="storage.googleapis.com",
            method="storage.objects.get",
            resource_name="projects/_/buckets/globex-analytics-exports/objects/x.avro",
            resource_type="gcs_bucket",
            labels={},
            permission="storage.objects.get",
            data_access=True,
        )
        kube_time = {key: value for key, value in kube.items() if key != "stageTimestamp"}
        audit = (
            kube_bytes[: len(kube_bytes) * 2 // 3],
            orjson.dumps({**okta, "published": {"$date": 12345}}),
            junk[:20] + b"\x80\x80",
            orjson.dumps({**kube_time, "requestReceivedTimestamp": {"seconds": 12345}}),
            orjson.dumps({**gcp, "timestamp": "not-a-timestamp", "protoPayload": "truncated by shipper"}),
            orjson.dumps({"time": {"ticks": 12345}, "operationName": 42, "category": ["Administrative"]}),
        )
        for family, values in (("cloudtrail", cloudtrail), ("gateway", gateway), ("audit", audit)):
            assert len(values) == MALFORMED[family], family
            for value in values:
                self.emit(family, 0, value, MALFORMED_LABEL)  # placed at a random position by records()


_OKTA_EVENT_TEXT = {
    "user.session.start": ("core.user_auth.login_success", "User login to Okta"),
    "user.authentication.auth_via_mfa": (
        "core.user.factor.attempt_success",
        "Authentication of user via MFA",
    ),
    "user.authentication.sso": ("app.auth.sso", "User single sign on to app"),
    "user.session.end": ("core.user_auth.logout_success", "User logout from Okta"),
}


def _kubelet_user(node: str) -> dict:
    # EKS nodes authenticate with the node group's IAM role; the uid names that role's id.
    return {
        "username": f"system:node:{node}",
        "uid": f"aws-iam-authenticator:{AWS_ACCOUNT}:AROA{stable_alnum('role/eks-node-group', 17).upper()}",
        "groups": ["system:nodes", "system:authenticated"],
    }


def _node_ip(node: str) -> str:
    return node.removeprefix("ip-").removesuffix(".ec2.internal").replace("-", ".")


def _pod_spec(name: str, image: str, env: dict[str, str], secret_env: tuple[str, ...] = ()) -> dict:
    variables: list[dict] = [{"name": key, "value": value} for key, value in env.items()]
    variables += [
        {"name": key, "valueFrom": {"secretKeyRef": {"name": "llm-credentials", "key": key.lower()}}}
        for key in secret_env
    ]
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "namespace": "ml-batch",
            "labels": {"airflow-worker": "airflow-worker-0", "dag_id": name.rsplit("-", 1)[0]},
        },
        "spec": {
            "containers": [
                {
                    "name": "base",
                    "image": f"{AWS_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{image}",
                    "env": variables,
                    "resources": {"limits": {"cpu": "1", "memory": "2Gi"}},
                }
            ],
            "restartPolicy": "Never",
            "serviceAccountName": "batch-jobs",
        },
    }


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


def _notebook_response(name: str) -> dict:
    return {"notebookInstanceArn": f"arn:aws:sagemaker:us-east-1:{AWS_ACCOUNT}:notebook-instance/{name}"}
