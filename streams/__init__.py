"""aispm streaming pipeline: Faust app, topics, ingest service, sinks and CLI."""
