"""Runtime: everything that runs and connects — the Faust app and its agent, the ingest loop, Kafka
and the embedded broker, the ClickHouse store, the query endpoint, the worker."""
