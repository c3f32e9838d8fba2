"""A write-back view of a mapping, flushed once per batch.

Every write to a Faust table sends one changelog message. Detections update state per finding (a
burst counter, an alert's count), often many times per key in one batch; through this view each
changed key is written to the table once per batch instead.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

_DELETED = object()


class WriteBack(MutableMapping[str, Any]):
    def __init__(self, backing: MutableMapping[str, Any]) -> None:
        self.backing = backing
        self._pending: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key in self._pending:
            value = self._pending[key]
            if value is _DELETED:
                raise KeyError(key)
            return value
        return self.backing[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._pending[key] = value

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._pending[key] = _DELETED

    def __contains__(self, key: object) -> bool:
        if key in self._pending:
            return self._pending[key] is not _DELETED
        return key in self.backing

    def __iter__(self) -> Iterator[str]:
        seen = set()
        for key, value in self._pending.items():
            seen.add(key)
            if value is not _DELETED:
                yield key
        for key in list(self.backing):
            if key not in seen:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def pending(self) -> dict[str, Any]:
        """The changes not flushed yet: key -> new value, or None for a deleted key."""
        return {key: (None if value is _DELETED else value) for key, value in self._pending.items()}

    def flush(self) -> int:
        """Write every changed key to the backing mapping once; returns how many were written."""
        written = len(self._pending)
        for key, value in self._pending.items():
            if value is _DELETED:
                if key in self.backing:
                    del self.backing[key]
            else:
                self.backing[key] = value
        self._pending.clear()
        return written
