"""The made-up company the demo traffic comes from: people, roles, networks, hosts.

Everything here is fixed (independent of the seed) so that incident descriptions can name their actors;
the seed only decides timing, ids and which background action happens when.

Addresses: the office, pods and servers use private ranges; the company's public egress and outside
parties use the documentation ranges (RFC 5737), so no real host is ever named as an attacker.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import NamedTuple

COMPANY_DOMAIN = "globex.example"
AWS_ACCOUNT = "493817264053"
AWS_HOME_REGION = "us-east-1"
GCP_PROJECT = "globex-analytics-prod"
AZURE_SUBSCRIPTION = "6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e"
AZURE_TENANT = "0b9e8d7c-6f5a-4e3d-9c2b-1a0f9e8d7c6b"
OKTA_ORG = "https://globex.okta.com"

OFFICE_CIDR = "10.20.0.0/22"
POD_CIDR = "10.244.0.0/16"
SERVER_CIDR = "10.30.0.0/16"
OFFICE_NAT_IP = "198.51.100.24"  # the office's public egress address
VPC_NAT_IP = "198.51.100.80"  # the production VPC's NAT gateway
OFFICE_RESOLVER_IP = "10.20.0.2"
SQUID_IP = "10.30.0.5"
NGINX_TOOLS_IP = "10.30.0.8"
AI_GATEWAY_IP = "10.30.0.10"
AI_GATEWAY_HOST = "ai-gateway.globex.internal"
TOOLS_HOST = "tools.globex.internal"
KONG_HOST = "api.globex.internal"
KONG_WORKSPACE = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"

# Incident actors and addresses (see streams.demo.incidents).
SHADOW_AI_LAPTOP_IP = "10.20.1.57"
KEY_LEAK_LAPTOP_IP = "10.20.2.14"
CI_POD_IP = "10.244.7.23"
SUMMARIZER_POD_IP = "10.244.3.17"
LLMJACKING_IP = "203.0.113.77"
ACCOUNT_TAKEOVER_IP = "203.0.113.45"
LEAKED_KEY_USER = "svc-legacy-reporting"
SHARED_DESK_IP = "10.20.3.250"  # a hot desk's workstation in the office, used by whoever sits there
SHARED_DESK_USERS = ("zoe.evans", "ava.thompson")
OFFICE_DHCP_SERVER_IP = "10.20.0.1"
ZPA_CUSTOMER = "globex.example"
# Remote workers reach the company through Zscaler Private Access; the ZPA client's address inside
# (ZPA's PrivateIP) comes from this pool, and their web traffic leaves through the office proxy.
REMOTE_ACCESS_CIDR = "10.70.0.0/16"
REMOTE_ACCESS_IPS = {"ben.carter": "10.70.0.23", "liam.walsh": "10.70.0.31", "mateo.cruz": "10.70.0.44"}
VPN_SHADOW_AI_USER = "ben.carter"


def device_name(login: str) -> str:
    """A person's laptop as DHCP names it: ``nina-petrova-mbp``."""
    return login.replace(".", "-") + "-mbp"


def device_mac(name: str) -> str:
    digest = hashlib.sha256(name.encode()).digest()
    return "3c:22:fb:" + ":".join(f"{byte:02x}" for byte in digest[:3])


@dataclass(frozen=True, slots=True)
class Geo:
    city: str
    state: str
    country: str
    postal_code: str
    lat: float
    lon: float


OFFICE_GEO = Geo("Austin", "Texas", "United States", "78701", 30.2711, -97.7437)
TAKEOVER_GEO = Geo("Bucharest", "Bucuresti", "Romania", "010011", 44.4268, 26.1025)
HOME_GEOS = (
    Geo("Denver", "Colorado", "United States", "80202", 39.7392, -104.9903),
    Geo("Chicago", "Illinois", "United States", "60601", 41.8857, -87.6181),
    Geo("Seattle", "Washington", "United States", "98101", 47.6101, -122.3344),
)


class Browser(NamedTuple):
    """A browser as Okta reports it: the User-Agent header, and the OS and browser Okta reads from it."""

    user_agent: str
    os: str
    name: str


# What the company's laptops run.
CHROME_MAC = Browser(
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mac OS X",
    "CHROME",
)


@dataclass(frozen=True, slots=True)
class Employee:
    login: str
    name: str
    group: str
    laptop_ip: str
    egress_ip: str
    geo: Geo
    permission_set: str  # AWS IAM Identity Center permission set; '' = no AWS access

    @property
    def email(self) -> str:
        return f"{self.login}@{COMPANY_DOMAIN}"

    @property
    def okta_id(self) -> str:
        return "00u" + stable_alnum(self.login, 17)


# group -> (AWS permission set, people). Order is fixed: indexes decide laptop addresses.
_PEOPLE: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("data-science", "DataScientist", ("li.wang", "sara.khan", "diego.alvarez", "priya.nair", "jonas.berg")),
    (
        "engineering",
        "PowerUserAccess",
        (
            "nina.petrova",
            "omar.haddad",
            "ethan.cole",
            "mei.tanaka",
            "lucas.moreau",
            "ana.silva",
            "kofi.mensah",
            "julia.novak",
            "raj.patel",
            "emma.schmidt",
            "noah.kim",
            "olivia.brown",
            "hugo.lambert",
            "fatima.zahra",
            "leo.rossi",
            "chloe.martin",
        ),
    ),
    (
        "platform",
        "AdministratorAccess",
        ("tom.becker", "ivan.horvat", "grace.liu", "sam.okafor", "maria.garcia"),
    ),
    ("security", "SecurityAudit", ("alex.reyes", "hannah.weiss")),
    ("sales", "", ("ben.carter", "zoe.evans", "liam.walsh", "ava.thompson", "mateo.cruz", "isla.murphy")),
    ("finance", "Billing", ("peter.jones", "amira.saleh", "david.cohen", "laura.fischer")),
    ("product", "", ("sofia.rossi", "kenji.sato")),
)

_FIXED_LAPTOPS = {"nina.petrova": SHADOW_AI_LAPTOP_IP, "omar.haddad": KEY_LEAK_LAPTOP_IP}


def stable_alnum(text: str, length: int) -> str:
    """Letters and digits derived from ``text``: ids that stay the same for every seed."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    digest = hashlib.sha256(text.encode()).digest()
    return "".join(alphabet[byte % len(alphabet)] for byte in digest[:length])


def _build_employees() -> tuple[Employee, ...]:
    people = []
    index = 0
    for group, permission_set, logins in _PEOPLE:
        for login in logins:
            name = " ".join(part.capitalize() for part in login.split("."))
            laptop = _FIXED_LAPTOPS.get(login) or f"10.20.{index % 4}.{100 + index}"
            remote = group == "sales" and index % 2 == 0
            egress = f"192.0.2.{40 + index}" if remote else OFFICE_NAT_IP
            geo = HOME_GEOS[index % len(HOME_GEOS)] if remote else OFFICE_GEO
            people.append(Employee(login, name, group, laptop, egress, geo, permission_set))
            index += 1
    assert len({person.laptop_ip for person in people}) == len(people), "laptop addresses must be unique"
    return tuple(people)


EMPLOYEES: tuple[Employee, ...] = _build_employees()
EMPLOYEE_BY_LOGIN = {person.login: person for person in EMPLOYEES}
DATA_SCIENTISTS = tuple(person for person in EMPLOYEES if person.group == "data-science")
AWS_USERS = tuple(person for person in EMPLOYEES if person.permission_set)

# IAM Identity Center appends a fixed per-permission-set suffix to the role name.
SSO_ROLE_SUFFIX = {
    "DataScientist": "8c41e7b2a9d05f36",
    "PowerUserAccess": "3f0a6c9d2e18b475",
    "AdministratorAccess": "d27e5b1c8a4f9063",
    "SecurityAudit": "5a9c3e7f1b0d4286",
    "Billing": "b6f2d8a04c3e7195",
}


@dataclass(frozen=True, slots=True)
class ServiceRole:
    name: str
    session: str  # role session name as AWS shows it (instance id, function name, ...)
    source_ip: str
    user_agent: str
    approved_for_bedrock: bool = False


_BOTO = (
    "Boto3/1.35.36 md/Botocore#1.35.36 ua/2.0 os/linux#5.10.227-219.884.amzn2.x86_64 md/arch#x86_64 "
    "lang/python#3.11.10 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.36"
)
_JAVA_SDK = (
    "aws-sdk-java/2.25.60 Linux/5.10.227-219.884.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.12+7-LTS "
    "Java/17.0.12"
)
_GO_SDK = "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.173.0"

SERVICE_ROLES: tuple[ServiceRole, ...] = (
    ServiceRole("ai-gateway", "i-0a7c3e91d4b2f6a15", "10.30.0.10", _BOTO, approved_for_bedrock=True),
    ServiceRole("data-pipeline", "i-04e1b7c9a2d35f681", "10.30.2.21", _JAVA_SDK),
    ServiceRole("orders-api-lambda", "orders-api-handler", "10.30.6.44", _BOTO),
    ServiceRole("eks-node-group", "i-09d2c4e6f8a1b3c57", "10.40.12.7", _GO_SDK),
    ServiceRole("ci-deployer", "GitHubActions", "198.51.100.140", _BOTO),
    ServiceRole("monitoring-readonly", "cspm-scan", "10.30.3.9", _GO_SDK),
    ServiceRole("backup-runner", "backup-nightly", "10.30.2.40", _BOTO),
    ServiceRole("terraform-apply", "terraform", "10.30.1.15", _GO_SDK),
    ServiceRole("etl-glue", "GlueJobRunManager", "10.30.2.60", _JAVA_SDK),
    ServiceRole("sagemaker-execution", "SageMaker", "10.30.5.12", _BOTO),
)
ROLE_BY_NAME = {role.name: role for role in SERVICE_ROLES}

ALL_AWS_REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "sa-east-1",
)

# Everyday SaaS and cloud hosts (weights ~ how often a laptop talks to them). Near misses for AI
# detection on purpose: other *.googleapis.com hosts, AWS endpoints, CDNs.
SAAS_HOSTS: tuple[tuple[str, int], ...] = (
    ("slack.com", 9),
    ("edgeapi.slack.com", 6),
    ("wss-primary.slack.com", 5),
    ("github.com", 7),
    ("api.github.com", 5),
    ("objects.githubusercontent.com", 3),
    ("www.google.com", 6),
    ("mail.google.com", 6),
    ("docs.google.com", 5),
    ("accounts.google.com", 3),
    ("fonts.googleapis.com", 3),
    ("www.googleapis.com", 2),
    ("storage.googleapis.com", 2),
    ("update.googleapis.com", 1),
    ("outlook.office365.com", 4),
    ("login.microsoftonline.com", 3),
    ("teams.microsoft.com", 3),
    ("zoom.us", 3),
    ("globex.zoom.us", 2),
    ("globex.atlassian.net", 6),
    ("www.notion.so", 3),
    ("www.figma.com", 2),
    ("globex.my.salesforce.com", 3),
    ("signin.aws.amazon.com", 2),
    ("console.aws.amazon.com", 3),
    ("s3.amazonaws.com", 2),
    ("sts.amazonaws.com", 1),
    ("globex.okta.com", 4),
    ("app.datadoghq.com", 3),
    ("www.gstatic.com", 4),
)

AI_GATEWAY_UPSTREAMS = {
    "openai": ("api.openai.com", "162.159.140.245"),
    "bedrock": ("bedrock-runtime.us-east-1.amazonaws.com", "52.94.225.63"),
}

# Shadow-AI destinations and the addresses they resolve to in this simulation.
AI_HOST_ADDRESSES = {
    "api.anthropic.com": "160.79.104.10",
    "generativelanguage.googleapis.com": "142.250.72.138",
    "api.deepseek.com": "116.205.40.120",
    "api.openai.com": "162.159.140.245",
    "api.mistral.ai": "51.159.171.20",
}


def host_address(host: str) -> str:
    """A stable public-looking address for a background host (not a real lookup)."""
    if host in AI_HOST_ADDRESSES:
        return AI_HOST_ADDRESSES[host]
    digest = hashlib.sha256(host.encode()).digest()
    first = (13, 23, 34, 35, 52, 104, 140, 151)[digest[0] % 8]
    return f"{first}.{digest[1]}.{digest[2]}.{1 + digest[3] % 254}"
