"""Cut a stream of JSON rows into request bodies under the Logs Ingestion size limit.

A body is a JSON array ``[row,row,...]`` of compact JSON rows. Its uncompressed
size stays at or under ``max_bytes`` (the service limit is 1 MB per call, and it
applies before compression too). A single row larger than the limit becomes a body
of its own, which the uploader dead-letters without sending.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

MAX_REQUEST_BYTES = 1_000_000  # under both 10^6 and 2^20: "1 MB" in the docs


@dataclass(frozen=True)
class Chunk:
    """One request body and the number of rows in it."""

    index: int
    rows: int
    body: bytes

def iter_chunks(rows: Iterable[bytes], max_bytes: int = MAX_REQUEST_BYTES) -> Iterator[Chunk]:
    """Group compact JSON rows (UTF-8 bytes, no newline) into :class:`Chunk` bodies in order."""
    if max_bytes < 64:
        raise ValueError("max_bytes must be at least 64")
    batch: list = []
    size = 2  # the brackets
    index = 0
    for row in rows:
        extra = len(row) + (1 if batch else 0)
        if batch and size + extra > max_bytes:
            yield Chunk(index, len(batch), b"[" + b",".join(batch) + b"]")
            index += 1
            batch, size, extra = [], 2, len(row)
        batch.append(row)
        size += extra
    if batch:
        yield Chunk(index, len(batch), b"[" + b",".join(batch) + b"]")
