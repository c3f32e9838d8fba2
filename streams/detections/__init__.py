"""Detections over normalized events: pure functions, no Faust or Kafka imports."""

from streams.detections.finding import Finding, Severity

__all__ = ["Finding", "Severity"]
