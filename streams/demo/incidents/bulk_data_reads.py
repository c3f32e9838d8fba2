"""Bulk data reads: an employee's CLI session downloads hundreds of customer files in ten minutes.

Her usual address and tooling; the volume, the data-plane calls and the number of objects are what is
unusual. A typical insider or stolen-session exfiltration that no posture rule describes.
"""

from __future__ import annotations

from streams.demo import cloudtrail
from streams.demo.incidents.base import Incident, RecordSelector, event_names
from streams.demo.simulation import Simulation, at_minute
from streams.demo.world import AWS_ACCOUNT, EMPLOYEE_BY_LOGIN

_READER = "priya.nair"
_BUCKET = "globex-datalake-curated"
_OBJECTS = 240

INCIDENT = Incident(
    "bulk_data_reads",
    "Bulk reads of customer data by one employee session",
    f"{_READER}'s AWS CLI session lists {_BUCKET} and downloads {_OBJECTS} customer files with GetObject "
    "(08:52-09:02), from her usual office address.",
    (RecordSelector("cloudtrail", (f"/{_READER}@",), event_names("GetObject", "ListObjects")),),
    attack=("T1530",),
    caught_by="anomaly",
    anomalous_access=True,
)


def inject(sim: Simulation) -> None:
    person = EMPLOYEE_BY_LOGIN[_READER]
    at = at_minute(52)
    host = f"{_BUCKET}.s3.us-east-1.amazonaws.com"
    cloudtrail.sso_event(sim, person, at, "s3.amazonaws.com", "ListObjects", console=False, read_only=True,
                         params={"bucketName": _BUCKET, "prefix": "curated/customers/", "Host": host},
                         label=INCIDENT.id)
    for part in range(_OBJECTS):
        at += sim.rand.between(1_000_000, 4_000_000)
        key = f"curated/customers/part-{part:05d}.parquet"
        cloudtrail.sso_event(
            sim, person, at, "s3.amazonaws.com", "GetObject", console=False, read_only=True,
            params={"bucketName": _BUCKET, "key": key, "Host": host},
            resources=[{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{_BUCKET}/{key}"},
                       {"accountId": AWS_ACCOUNT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{_BUCKET}"}],
            label=INCIDENT.id,
        )
