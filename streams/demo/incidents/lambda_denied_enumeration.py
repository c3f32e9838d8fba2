"""Mass denied calls: a compromised Lambda's role probes what else it may do, and is refused.

From the function's own address and SDK; dozens of calls outside its narrow job, nearly all denied.
"""

from __future__ import annotations

from streams.demo import cloudtrail
from streams.demo.incidents.base import Incident, RecordSelector
from streams.demo.simulation import Simulation, at_minute

_PROBES = (
    ("iam.amazonaws.com", "ListRoles"), ("iam.amazonaws.com", "ListUsers"), ("iam.amazonaws.com", "GetAccountSummary"),
    ("secretsmanager.amazonaws.com", "ListSecrets"), ("s3.amazonaws.com", "ListBuckets"),
    ("ec2.amazonaws.com", "DescribeInstances"), ("ec2.amazonaws.com", "DescribeSnapshots"),
    ("kms.amazonaws.com", "ListKeys"), ("lambda.amazonaws.com", "ListFunctions"),
    ("rds.amazonaws.com", "DescribeDBInstances"), ("ssm.amazonaws.com", "DescribeParameters"),
    ("sts.amazonaws.com", "GetCallerIdentity"),
)

INCIDENT = Incident(
    "lambda_denied_enumeration",
    "A Lambda role enumerating the account, mostly denied",
    "The orders-api-lambda role, from its usual address, calls IAM, Secrets Manager, S3, EC2, KMS, Lambda, RDS "
    "and SSM list and describe APIs 45 times in about five minutes; all but GetCallerIdentity fail with "
    "AccessDenied (09:40-09:45).",
    (RecordSelector("cloudtrail", ("assumed-role/orders-api-lambda/", '"errorCode":"AccessDenied')),
     RecordSelector("cloudtrail", ("assumed-role/orders-api-lambda/", '"eventName":"GetCallerIdentity"'))),
    attack=("T1087.004", "T1526"),
    caught_by="anomaly",
    anomalous_access=True,
)


def inject(sim: Simulation) -> None:
    at = at_minute(100)
    for round_ in range(4):
        for source, name in _PROBES:
            at += sim.rand.between(2_000_000, 9_000_000)
            denied = name != "GetCallerIdentity"
            if not denied and round_:
                continue
            cloudtrail.role_event(
                sim, "orders-api-lambda", at, source, name, read_only=True, params={},
                error=("AccessDenied", f"User is not authorized to perform: {source.split('.')[0]}:{name}")
                if denied else None,
                label=INCIDENT.id,
            )
