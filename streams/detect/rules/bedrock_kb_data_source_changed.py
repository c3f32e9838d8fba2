"""A knowledge-base data source created, changed or removed: what the RAG index learns from changed."""

from __future__ import annotations

from typing import Any

from streams.detect.aws import bucket_of, is_bedrock, succeeded
from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import OTHER_ACCOUNT, cloudtrail
from streams.detect.remediation import manual
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="bedrock_kb_data_source_changed",
    title="Bedrock knowledge-base data source changed",
    severity="medium",
    status="experimental",
    description="CreateDataSource, UpdateDataSource or DeleteDataSource succeeded on a knowledge base. "
                "Pointing a knowledge base at a web crawl or another account's bucket lets outsiders write "
                "what the model retrieves (RAG poisoning).",
    attack=("T1565.001",),
    atlas=("AML.T0070", "AML.T0071"),
    owasp_llm=("LLM04:2025", "LLM08:2025"),
    nist_ai_rmf=("MAP 4.1", "MEASURE 2.7"),
    references=("https://docs.aws.amazon.com/bedrock/latest/userguide/knowledge-base-ds.html",),
    runbook="Check the source type and location (context). Web crawlers and buckets owned by another account "
            "deserve a look at who controls the content; deletions remove facts the application relies on.",
    remediation="Revert the data source, re-sync the knowledge base from the approved source, and restrict "
                "bedrock:*DataSource to the RAG pipeline role.",
    provider="aws-bedrock",
    services=("bedrock*.amazonaws.com",),
    actions=(
        manual("bedrock-agent", "UpdateDataSource", "knowledge_base_id", "region",
               optional=("data_source_id", "bucket"),
               description="Revert the data source to its approved definition, then re-sync the knowledge base "
                           "(StartIngestionJob).", risk="medium"),
    ),
)

_ACTIONS = frozenset({"CreateDataSource", "UpdateDataSource", "DeleteDataSource"})


def rule(event: dict) -> bool:
    return event["action"] in _ACTIONS and is_bedrock(event) and succeeded(event)


def _source(event: dict) -> dict[str, Any]:
    config = ct(event).param("dataSourceConfiguration")
    if not isinstance(config, dict):
        return {}
    s3 = config.get("s3Configuration") if isinstance(config.get("s3Configuration"), dict) else {}
    owner = s3.get("bucketOwnerAccountId") or ""
    return {"type": config.get("type", ""), "bucket": bucket_of(s3.get("bucketArn", "")),
            "external_owner": owner if owner and owner != event["cloud_account"] else ""}


def title(event: dict) -> str:
    source = _source(event)
    if source.get("type") == "WEB":
        return "Knowledge base now crawls the web"
    if source.get("external_owner"):
        return f"Knowledge base reads a bucket of account {source['external_owner']}"
    return META.title


def context(event: dict) -> dict:
    return {"knowledge_base_id": ct(event).param("knowledgeBaseId") or "", "call": event["action"], **_source(event)}


EXAMPLES = [
    positive("bucket of another account", cloudtrail(
        "CreateDataSource",
        params={"knowledgeBaseId": "KB98765", "name": "docs",
                "dataSourceConfiguration": {"type": "S3", "s3Configuration": {
                    "bucketArn": "arn:aws:s3:::partner-docs", "bucketOwnerAccountId": OTHER_ACCOUNT}}})),
    positive("web crawler source", cloudtrail(
        "UpdateDataSource",
        params={"knowledgeBaseId": "KB98765", "dataSourceId": "DS1", "name": "docs",
                "dataSourceConfiguration": {"type": "WEB", "webConfiguration": {"sourceConfiguration": {
                    "urlConfiguration": {"seedUrls": [{"url": "https://example.com/"}]}}}}})),
    positive("data source removed", cloudtrail("DeleteDataSource", params={"knowledgeBaseId": "KB98765",
                                                                           "dataSourceId": "DS1"})),
    negative("data sources listed", cloudtrail("ListDataSources", params={"knowledgeBaseId": "KB98765"})),
]
