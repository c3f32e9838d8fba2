"""Backfill: history from files into ClickHouse through the stream's own normalization and detections.

``files`` finds the log files (CloudTrail's S3 export layout pruned by its folder dates, or any files
and folders), ``digest`` checks CloudTrail log files against their digest files, ``run`` lands them:
resumable (finished files are recorded in ClickHouse) and exactly once (events, dead letters and
alert counts are deduplicated by id, whatever was landed before).
"""
