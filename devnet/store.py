"""The coordinator's key-value store: a dict, optionally mirrored to an append-only file in `--data-dir`.

Trie nodes are content-addressed and never change, so an append-only log is all persistence needs: on
start the log is read back into memory. Only the coordinator opens it; workers get state from the
coordinator.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from eth.db.backends.base import BaseDB

_HEADER = struct.Struct(">II")


class NodeStore(BaseDB):
    def __init__(self, path: Path | None = None) -> None:
        self._data: dict[bytes, bytes] = {}
        self._file: BinaryIO | None = None
        if path is not None:
            if path.exists():
                self._load(path)
            self._file = path.open("ab")

    def _load(self, path: Path) -> None:
        content = path.read_bytes()
        position = 0
        while position + _HEADER.size <= len(content):
            key_length, value_length = _HEADER.unpack_from(content, position)
            start = position + _HEADER.size
            end = start + key_length + value_length
            if end > len(content):
                break  # a torn last record from a crash: ignore it
            self._data[content[start : start + key_length]] = content[start + key_length : end]
            position = end

    def __getitem__(self, key: bytes) -> bytes:
        return self._data[key]

    def __setitem__(self, key: bytes, value: bytes) -> None:
        if self._data.get(key) == value:
            return
        self._data[key] = value
        if self._file is not None:
            self._file.write(_HEADER.pack(len(key), len(value)) + key + value)

    def _exists(self, key: bytes) -> bool:
        return key in self._data

    def __delitem__(self, key: bytes) -> None:
        # Old trie nodes stay: historical state roots must remain readable for eth_call at past blocks.
        pass

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
