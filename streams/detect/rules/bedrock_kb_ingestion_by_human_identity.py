"""Documents pushed into or deleted from a knowledge base directly, or a sync run by a person.

Pipelines ingest through roles; direct document writes and syncs by IAM users or root bypass the review
the pipeline applies to what the model will retrieve.
"""

from __future__ import annotations

from streams.detect.aws import is_bedrock, succeeded
from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import assumed_role, cloudtrail, iam_user
from streams.detect.remediation import aws, opt
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="bedrock_kb_ingestion_by_human_identity",
    title="Knowledge-base documents written outside the ingestion pipeline",
    severity="medium",
    status="experimental",
    description="IngestKnowledgeBaseDocuments or DeleteKnowledgeBaseDocuments succeeded (documents written "
                "straight into the index), or an IAM user or root started an ingestion job.",
    attack=("T1565.001",),
    atlas=("AML.T0070", "AML.T0071"),
    owasp_llm=("LLM04:2025", "LLM08:2025"),
    nist_ai_rmf=("MEASURE 2.7", "MANAGE 4.1"),
    references=("https://docs.aws.amazon.com/bedrock/latest/userguide/kb-direct-ingestion.html",),
    runbook="Identify which documents were written or removed and by whom; compare with the data source's "
            "content. Unexpected direct writes are a RAG poisoning attempt until shown otherwise.",
    remediation="Re-sync the knowledge base from its approved source and allow direct ingestion only to the "
                "pipeline role.",
    provider="aws-bedrock",
    services=("bedrock*.amazonaws.com",),
    actions=(
        aws("bedrock-agent", "StartIngestionJob", "start-ingestion-job", opt("--knowledge-base-id", "knowledge_base_id"),
            opt("--data-source-id", "data_source_id"),
            description="Re-sync the knowledge base from its approved data source, replacing what was "
                        "ingested directly.", risk="low", reversible=False),
    ),
)

_DIRECT_WRITES = frozenset({"IngestKnowledgeBaseDocuments", "DeleteKnowledgeBaseDocuments"})


def rule(event: dict) -> bool:
    action = event["action"]
    if action not in _DIRECT_WRITES and action != "StartIngestionJob":
        return False
    if not (is_bedrock(event) and succeeded(event)):
        return False
    return action in _DIRECT_WRITES or ct(event).is_human_identity


def context(event: dict) -> dict:
    record = ct(event)
    documents = record.param("documents")
    return {"knowledge_base_id": record.param("knowledgeBaseId") or "",
            "data_source_id": record.param("dataSourceId") or "", "call": event["action"],
            "documents": len(documents) if isinstance(documents, list) else None}


_KB = {"knowledgeBaseId": "KB98765", "dataSourceId": "DS1"}
EXAMPLES = [
    positive("documents written directly", cloudtrail("IngestKnowledgeBaseDocuments",
                                                      source="bedrock-agent.amazonaws.com",
                                                      params={**_KB, "documents": [{}, {}]})),
    positive("sync started by an IAM user", cloudtrail("StartIngestionJob", params=_KB, identity=iam_user("dev1"))),
    negative("sync started by the pipeline role",
             cloudtrail("StartIngestionJob", params=_KB, identity=assumed_role("rag-pipeline", "nightly"))),
    negative("ingestion jobs listed", cloudtrail("ListIngestionJobs", params=_KB, identity=iam_user("dev1"))),
]
