"""Normalization and AI enrichment in worker processes, off the ingest process's GIL.

In one process, normalizing (pure Python) competes for the GIL with landing and the Faust detection
agent, so the ingest stage tops out well below what one core could normalize. With
``AISPM_INGEST__NORMALIZE_PROCESSES=N`` (by default one per core) each batch is split across N spawned
processes, and the ingest thread consumes the next batch while they work. Processes are spawned, not forked: the worker runs
librdkafka and asyncio threads that a fork would copy in an undefined state.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from streams.normalize import Failure
from streams.normalize.dead_letters import RawMessage, dead_letter_row
from streams.normalize.files import (
    DEFAULT_MAX_FILE_BYTES,
    UnreadableFile,
    file_topic,
    open_bytes,
    split_records,
    written_ms,
)
from streams.normalize.redact import Redactor, default_redactor
from streams.runtime.gc_tuning import tune_for_streaming
from streams.runtime.ingest import BatchOutput, process_batch

__all__ = ["NormalizePool", "Pending", "normalize_file", "prepare_process"]

log = logging.getLogger(__name__)

_ORPHAN_CHECK_S = 1.0
_enrich = None  # set in each pool process by prepare_process
_redactor: Redactor | None = None  # likewise


def prepare_process(policy_file: str | None, fingerprint_key: bytes, parent_pid: int | None = None) -> None:
    global _enrich, _redactor  # one enricher and redactor per pool process, built once
    if parent_pid is not None:
        threading.Thread(target=_exit_when_orphaned, args=(parent_pid,), name="orphan-watch", daemon=True).start()
    from streams.detect.pipeline import Detectors
    from streams.enrich.policy import policy_source

    _enrich = Detectors.for_enrichment(policy_source(Path(policy_file) if policy_file else None)).enrich
    _redactor = Redactor(fingerprint_key)
    tune_for_streaming()


def _exit_when_orphaned(parent_pid: int) -> None:
    """Exit once the worker that started this process is gone. A SIGKILLed (or OOM-killed) worker never
    shuts its pool down, and an idle pool process waits on its pipe for ever: a run of the chaos tests
    left a dozen, ~150 MB each, until they were killed by hand."""
    while os.getppid() == parent_pid:
        time.sleep(_ORPHAN_CHECK_S)
    os._exit(0)


def _normalize(raw: list[tuple], max_record_bytes: int, raw_cap: int, redact_bodies: bool) -> BatchOutput:
    return process_batch([RawMessage(*fields) for fields in raw], max_record_bytes=max_record_bytes,
                         raw_cap=raw_cap, redact_bodies=redact_bodies, enrich=_enrich, redactor=_redactor)


def normalize_file(path: str, family: str, max_record_bytes: int, raw_cap: int, redact_bodies: bool,
                   max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> tuple[int, BatchOutput]:
    """A whole log file, read, split and normalized here: (records, output). Its messages are placed
    at (``file:<path>``, 0, index of the record), so a dead letter keeps its id whenever it is read. A
    file that cannot be read (a gzip file cut short, one over ``max_file_bytes``) is one record: its
    dead letter."""
    topic, written = file_topic(path), written_ms(path)
    try:
        records = list(split_records(open_bytes(Path(path), max_file_bytes)))
    except UnreadableFile as error:
        where = RawMessage(family, topic, 0, 0, b"", written)
        row = dead_letter_row(where, Failure(error.reason, error.detail, error.raw), 0, int(time.time() * 1000),
                              raw_cap, _redactor)
        return 1, BatchOutput(dead_letters=[row])
    messages = [RawMessage(family, topic, 0, index, value, written) for index, value in enumerate(records)]
    return len(records), process_batch(messages, max_record_bytes=max_record_bytes, raw_cap=raw_cap,
                                       redact_bodies=redact_bodies, enrich=_enrich, redactor=_redactor)


@dataclass(frozen=True, slots=True)
class Pending:
    """A batch being normalized: call it to wait for the output; ``done()`` says whether that waits."""

    result: Callable[[], BatchOutput]
    done: Callable[[], bool]

    def __call__(self) -> BatchOutput:
        return self.result()


class NormalizePool:
    def __init__(self, processes: int, *, max_record_bytes: int, raw_cap: int, redact_bodies: bool,
                 policy_file: Path | None, redactor: Redactor | None = None,
                 max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> None:
        """``redactor``: the installation's; by default this process's ``default_redactor()``, so that the
        pool's fingerprints are the ones normalizing here would make."""
        self.processes = processes
        self._options = (max_record_bytes, raw_cap, redact_bodies)
        self._max_file_bytes = max_file_bytes
        self._policy_file = str(policy_file) if policy_file else None
        # The key goes to the processes through the pool's pipe, once per process start.
        self._fingerprint_key = (redactor or default_redactor()).key
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=prepare_process,
                                   initargs=(self._policy_file, self._fingerprint_key, os.getpid()))

    def __call__(self, messages: list[RawMessage]) -> BatchOutput:
        """Normalized and enriched events and dead letters of ``messages``, in their order."""
        return self.submit(messages)()

    def submit(self, messages: list[RawMessage]) -> Pending:
        """Start normalizing ``messages``; the returned function waits for the result (raises
        ``BrokenProcessPool`` if a process died, after starting new ones: submit the batch again).
        The caller goes on meanwhile, e.g. consuming the next batch."""
        raw = [(m.family, m.topic, m.partition, m.offset, m.value, m.timestamp_ms) for m in messages]
        size = -(-len(raw) // self.processes) or 1
        pool = self._pool
        try:
            parts = [pool.submit(_normalize, raw[start:start + size], *self._options)
                     for start in range(0, len(raw), size)]
        except BrokenProcessPool:
            self._restart(pool)
            raise

        def result() -> BatchOutput:
            try:
                outputs = [part.result() for part in parts]
            except BrokenProcessPool:
                self._restart(pool)
                raise
            # The parts came as frames (see BatchOutput): merged as frames, no event dict is made here.
            frames = [output.frame for output in outputs if output.frame is not None]
            return BatchOutput(dead_letters=[row for output in outputs for row in output.dead_letters],
                               frame=pl.concat(frames, how="vertical") if frames else None)

        return Pending(result, lambda: all(part.done() for part in parts))

    def submit_file(self, path: Path, family: str) -> Callable[[], tuple[int, BatchOutput]]:
        """Start reading and normalizing a whole file in a process (the parse too, not only the records'
        normalization); the returned function waits for (records, output)."""
        future = self._pool.submit(normalize_file, str(path), family, *self._options, self._max_file_bytes)
        return future.result

    def _restart(self, broken: ProcessPoolExecutor) -> None:
        """A pool process died (e.g. killed for memory): start a new pool (once), the caller retries."""
        if self._pool is not broken:
            return
        log.error("a normalizing process died; starting new ones")
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
