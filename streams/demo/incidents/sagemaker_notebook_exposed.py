"""A SageMaker notebook instance created with direct internet access and root access."""

from __future__ import annotations

from streams.demo import cloudtrail
from streams.demo.incidents.base import Incident, RecordSelector
from streams.demo.simulation import Simulation, at_minute
from streams.demo.world import EMPLOYEE_BY_LOGIN

INCIDENT = Incident(
    "sagemaker_notebook_exposed",
    "SageMaker notebook with direct internet access and root access",
    "li.wang creates a SageMaker notebook instance from the console with DirectInternetAccess Enabled "
    "and RootAccess Enabled (08:55). sara.khan's notebook earlier that morning has both Disabled.",
    (
        RecordSelector(
            "cloudtrail", ('"eventName":"CreateNotebookInstance"', '"directInternetAccess":"Enabled"')
        ),
    ),
)


def inject(sim: Simulation) -> None:
    cloudtrail.notebook_created(
        sim,
        EMPLOYEE_BY_LOGIN["li.wang"],
        at_minute(55, sim.rand.between(0, 59)),
        "li-llm-experiments",
        exposed=True,
        looked_at_within_s=120,
        label=INCIDENT.id,
    )
