"""Which S3 buckets hold AI data (training sets, fine-tuning data, RAG sources, model weights, prompt logs).

Two sources of knowledge:
- names: a bucket whose name has an AI/ML word in it (``acme-training-data``, ``rag-corpus``);
- what the account did: a bucket read by a SageMaker job, a Bedrock fine-tuning or import job, a
  knowledge-base data source, or used as the invocation-log destination is remembered for
  :data:`KEEP_MS` in the shared rule state under ``ai_data_buckets|<account>``.

The learned key is per account, not per principal (one principal trains, another opens the bucket):
in the stream, partition CloudTrail events by account so both land on the same table partition.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping

from streams.detect import state as rule_state
from streams.detect.aws import buckets_in
from streams.normalize.cloudtrail_record import ct

KEEP_MS = 90 * rule_state.DAY_MS
MAX_BUCKETS = 500
_REFRESH_MS = rule_state.DAY_MS  # re-write a known bucket at most once a day

# Calls whose S3 references are AI data: inputs and outputs of training, tuning, import, RAG, logs.
LEARN_FROM = frozenset({
    "CreateTrainingJob", "CreateProcessingJob", "CreateHyperParameterTuningJob", "CreateTransformJob",
    "CreateAutoMLJob", "CreateAutoMLJobV2", "CreateLabelingJob", "CreateModel", "CreateFeatureGroup",
    "CreateModelCustomizationJob", "CreateModelImportJob", "CreateCustomModel", "CreateEvaluationJob",
    "CreateModelInvocationJob", "CreateDataSource", "UpdateDataSource",
    "PutModelInvocationLoggingConfiguration",
})
_AI_SERVICES = frozenset({"sagemaker.amazonaws.com", "bedrock.amazonaws.com", "bedrock-agent.amazonaws.com"})
# The services of the calls buckets are learned from: rules that learn must read their events.
LEARNING_SERVICES: tuple[str, ...] = tuple(sorted(_AI_SERVICES))

_AI_WORDS = frozenset({
    "ai", "ml", "llm", "genai", "gpt", "bedrock", "sagemaker", "model", "models", "train", "training",
    "trainingdata", "dataset", "datasets", "finetune", "finetuning", "tuning", "rag", "corpus",
    "embedding", "embeddings", "vector", "vectors", "knowledge", "kb", "labeled", "labelled",
    "featurestore", "inference", "prompts", "weights", "checkpoints",
})
_WORD_SPLIT = re.compile(r"[-_.]+")


def looks_like_ai_bucket(bucket: str) -> bool:
    return any(word in _AI_WORDS for word in _WORD_SPLIT.split(bucket.lower()))


def _key(account: str) -> str:
    return f"ai_data_buckets|{account}"


def known_buckets(state: MutableMapping[str, dict], account: str, now_ms: int) -> dict[str, int]:
    value = rule_state.load(state, _key(account), now_ms)
    buckets = value.get("buckets")
    return buckets if isinstance(buckets, dict) else {}


def remember(state: MutableMapping[str, dict], account: str, buckets: set[str], now_ms: int) -> None:
    if not buckets:
        return
    known = known_buckets(state, account, now_ms)
    if all(now_ms - known.get(bucket, -_REFRESH_MS) < _REFRESH_MS for bucket in buckets):
        return
    merged = {name: seen for name, seen in known.items() if now_ms - seen <= KEEP_MS}
    merged.update(dict.fromkeys(buckets, now_ms))
    newest = dict(sorted(merged.items(), key=lambda item: item[1])[-MAX_BUCKETS:])
    rule_state.store(state, _key(account), {"buckets": newest}, now_ms, KEEP_MS)


def observe(event: dict, state: MutableMapping[str, dict]) -> None:
    """Learn the AI data buckets a successful training/tuning/RAG/logging call refers to."""
    if event["action"] not in LEARN_FROM or event["service"] not in _AI_SERVICES:
        return
    if event["outcome"] != "success":
        return
    remember(state, event["cloud_account"], buckets_in(ct(event).request_parameters), event["time"])


def is_ai_bucket(bucket: str, event: dict, state: MutableMapping[str, dict]) -> bool:
    if not bucket:
        return False
    return looks_like_ai_bucket(bucket) or bucket in known_buckets(state, event["cloud_account"], event["time"])


def is_ai_bucket_once(rule_id: str, bucket: str, event: dict, state: MutableMapping[str, dict]) -> bool:
    """``is_ai_bucket`` for a rule's verdict on ``event``, given once per event (see
    ``rule_state.first_decision``): a redelivered event is not judged against buckets learned since."""
    if not bucket or not rule_state.first_decision(state, f"{rule_id}|{event['cloud_account']}", event):
        return False
    return is_ai_bucket(bucket, event, state)


def why_ai_bucket(bucket: str, event: dict, state: MutableMapping[str, dict]) -> str:
    if bucket in known_buckets(state, event["cloud_account"], event["time"]):
        return "used by an AI training, tuning, RAG or invocation-logging job in this account"
    return "bucket name suggests AI/ML data"
