"""Log output: text (the default) or one JSON object per line (``AISPM_LOG_FORMAT=json``).

Settings hold credentials as secret strings, which print as ``**********``; on top of that every
message passes the installation-independent credential redactor before it is written, so a secret
that reaches a log call by accident (an exception carrying a URL with a password) is still masked.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson

__all__ = ["JsonFormatter", "logging_config"]

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", ...extra, "exception"}`` on one line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        from streams.normalize.redact import default_redactor

        self._redactor = default_redactor()

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": self._redactor.redact_text(record.getMessage()),
            "process": record.process,
            "thread": record.threadName,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool | None) else \
                    self._redactor.redact_text(str(value))
        if record.exc_info:
            entry["exception"] = self._redactor.redact_text(self.formatException(record.exc_info))
        return orjson.dumps(entry).decode()


def logging_config(log_format: str, level: str) -> dict | None:
    """A ``logging.config.dictConfig`` for ``log_format`` (None for text: each tool's own default)."""
    if log_format != "json":
        return None
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"level": level, "handlers": ["stderr"]},
    }
