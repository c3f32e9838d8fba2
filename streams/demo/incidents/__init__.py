"""The injected incidents, one module each: what it injects, and an ``Incident`` that finds its records.

``INCIDENTS`` lists them; ``inject_all`` puts them into a run. An incident's times are fixed in its
module and do not grow with the scale; only its ids and jitter come from the seed.
"""

from __future__ import annotations

from streams.demo.incidents import (
    agent_refund_lambda_admin,
    bedrock_llmjacking,
    bedrock_logging_and_guardrail_deleted,
    bulk_data_reads,
    ci_role_privilege_escalation,
    cloudtrail_stopped,
    fine_tune_bucket_opened,
    k8s_pod_calls_ai,
    lambda_denied_enumeration,
    notebook_on_training_role,
    okta_account_takeover,
    openai_key_in_gateway_logs,
    provisioned_model_unsanctioned_use,
    sagemaker_notebook_exposed,
    shadow_ai_ci_pod,
    shadow_ai_laptop,
    shadow_ai_over_vpn,
    shadow_ai_shared_desk,
)
from streams.demo.incidents.base import Incident, RecordSelector
from streams.demo.simulation import Simulation

INCIDENTS: tuple[Incident, ...] = (
    shadow_ai_laptop.INCIDENT,
    shadow_ai_ci_pod.INCIDENT,
    openai_key_in_gateway_logs.INCIDENT,
    bedrock_llmjacking.INCIDENT,
    bedrock_logging_and_guardrail_deleted.INCIDENT,
    sagemaker_notebook_exposed.INCIDENT,
    cloudtrail_stopped.INCIDENT,
    okta_account_takeover.INCIDENT,
    k8s_pod_calls_ai.INCIDENT,
    bulk_data_reads.INCIDENT,
    ci_role_privilege_escalation.INCIDENT,
    lambda_denied_enumeration.INCIDENT,
    fine_tune_bucket_opened.INCIDENT,
    agent_refund_lambda_admin.INCIDENT,
    provisioned_model_unsanctioned_use.INCIDENT,
    notebook_on_training_role.INCIDENT,
    shadow_ai_shared_desk.INCIDENT,
    shadow_ai_over_vpn.INCIDENT,
)

# Every step draws from the run's one random source, so this order is part of the output: reordering
# the steps changes every seed's records.
_STEPS = (
    shadow_ai_laptop.inject,
    shadow_ai_ci_pod.inject,
    openai_key_in_gateway_logs.inject,
    bedrock_llmjacking.inject_reconnaissance,
    bedrock_logging_and_guardrail_deleted.inject,
    bedrock_llmjacking.inject_invocations,
    sagemaker_notebook_exposed.inject,
    okta_account_takeover.inject,
    cloudtrail_stopped.inject,
    k8s_pod_calls_ai.inject,
    bulk_data_reads.inject,
    ci_role_privilege_escalation.inject,
    lambda_denied_enumeration.inject,
    fine_tune_bucket_opened.inject,
    agent_refund_lambda_admin.inject,
    provisioned_model_unsanctioned_use.inject,
    notebook_on_training_role.inject,
)


# Added later, with the records identity resolution learns from (streams.demo.network_identity): run by
# ``inject_identity`` inside that part's own random source, so the steps above kept their output.
_IDENTITY_STEPS = (
    shadow_ai_shared_desk.inject,
    shadow_ai_over_vpn.inject,
)


def inject_all(sim: Simulation) -> None:
    for step in _STEPS:
        step(sim)


def inject_identity(sim: Simulation) -> None:
    for step in _IDENTITY_STEPS:
        step(sim)


__all__ = ["INCIDENTS", "Incident", "RecordSelector", "inject_all", "inject_identity"]
