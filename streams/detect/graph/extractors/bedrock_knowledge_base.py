"""Bedrock knowledge bases (RAG): the embedding model and role of each, and their S3 data sources."""

from __future__ import annotations

from streams.detect.examples import ACCOUNT, cloudtrail
from streams.detect.graph.base import (
    Call,
    ExtractorMeta,
    Fact,
    bucket_node,
    execution_role,
    expect,
    model_node,
)

META = ExtractorMeta(
    id="bedrock_knowledge_base", title="Bedrock knowledge bases and data sources",
    services=("bedrock.amazonaws.com",),
    actions=("CreateKnowledgeBase", "DeleteKnowledgeBase", "CreateDataSource", "UpdateDataSource",
             "DeleteDataSource"),
    kinds=("bedrock_knowledge_base", "bedrock_data_source"),
)
KB, SOURCE = "bedrock_knowledge_base", "bedrock_data_source"


def kb_arn(call: Call, kb_id: object) -> str:
    return call.arn("bedrock", f"knowledge-base/{kb_id}") if isinstance(kb_id, str) and kb_id else ""


def extract(event: dict) -> list[Fact]:
    call = Call.of(event)
    action = event["action"]
    if action in ("CreateKnowledgeBase", "DeleteKnowledgeBase"):
        kb = (call.text(call.response, "knowledgeBase", "knowledgeBaseArn")
              or kb_arn(call, call.response("knowledgeBase", "knowledgeBaseId") or call.param("knowledgeBaseId")))
        if not kb:
            return []
        if action == "DeleteKnowledgeBase":
            return [call.asset(kb, KB, "delete")]
        facts: list[Fact] = [call.asset(kb, KB, "create", name=call.text(call.param, "name"), provider="aws-bedrock")]
        embedding, kind = model_node(call, call.param("knowledgeBaseConfiguration", "vectorKnowledgeBaseConfiguration",
                                                      "embeddingModelArn"))
        if embedding:
            facts.append(call.edge(kb, KB, "embeds_with", embedding, kind))
        facts += execution_role(call, "roleArn", kb, KB)
        return facts
    kb = kb_arn(call, call.param("knowledgeBaseId"))
    source_id = call.response("dataSource", "dataSourceId") or call.param("dataSourceId")
    if not kb or not isinstance(source_id, str) or not source_id:
        return []
    source = f"{kb}/data-source/{source_id}"
    if action == "DeleteDataSource":
        return [call.asset(source, SOURCE, "delete")]
    kms = call.param("serverSideEncryptionConfiguration", "kmsKeyArn")
    facts = [call.asset(source, SOURCE, "create" if action.startswith("Create") else "update",
                        name=call.text(call.param, "name"), provider="aws-bedrock",
                        flags_on=() if kms else ("no_kms_key",), flags_off=("no_kms_key",) if kms else ()),
             call.edge(source, SOURCE, "feeds", kb, KB)]
    bucket = bucket_node(call.param("dataSourceConfiguration", "s3Configuration", "bucketArn"))
    if bucket:
        facts.append(call.edge(bucket, "s3_bucket", "kb_data", source, SOURCE, slot=f"kb_data|{source}"))
    return facts


_KB = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:knowledge-base/KB1"
_SOURCE = f"{_KB}/data-source/DS1"
_TITAN = "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"
EXAMPLES = [
    expect("a knowledge base with its embedding model",
           cloudtrail("CreateKnowledgeBase", params={
               "name": "docs", "roleArn": f"arn:aws:iam::{ACCOUNT}:role/kb",
               "knowledgeBaseConfiguration": {"vectorKnowledgeBaseConfiguration": {"embeddingModelArn": _TITAN}}},
               response={"knowledgeBase": {"knowledgeBaseArn": _KB, "knowledgeBaseId": "KB1"}}),
           ("asset", "create", KB, _KB), ("edge", "open", _KB, "embeds_with", _TITAN),
           ("edge", "open", f"arn:aws:iam::{ACCOUNT}:role/kb", "execution_role", _KB)),
    expect("an S3 data source",
           cloudtrail("CreateDataSource", params={
               "knowledgeBaseId": "KB1", "name": "wiki",
               "dataSourceConfiguration": {"type": "S3", "s3Configuration": {"bucketArn": "arn:aws:s3:::wiki-export"}}},
               response={"dataSource": {"dataSourceId": "DS1", "knowledgeBaseId": "KB1"}}),
           ("asset", "create", SOURCE, _SOURCE, "no_kms_key"), ("edge", "open", _SOURCE, "feeds", _KB),
           ("edge", "open", "arn:aws:s3:::wiki-export", "kb_data", _SOURCE)),
    expect("knowledge base deleted", cloudtrail("DeleteKnowledgeBase", params={"knowledgeBaseId": "KB1"}),
           ("asset", "delete", KB, _KB)),
    expect("no id in a response, nothing made", cloudtrail("CreateDataSource", params={"name": "wiki"})),
]
