"""The zip container of PyTorch's checkpoints, laid out byte for byte as PyTorch's writer (miniz)
lays it out, plus one thing PyTorch does not write: the archive comment holds a SHA-256 of every
byte before it, so a flipped bit anywhere in a glassgrad checkpoint (headers included) is caught.

PyTorch's reader ignores the comment; files PyTorch wrote have none and are checked record by
record (each record's CRC-32), as PyTorch checks them.
"""

from __future__ import annotations

import hashlib
import struct
import zlib

ALIGNMENT = 64  # PyTorch aligns every record's data to 64 bytes (its ``.storage_alignment``)
ZIP64_LIMIT = 0xFFFFFFFF  # sizes and offsets from here on need zip64 fields (a constant for tests)
TAG = b"glassgrad-sha256:"
_CHUNK = 1 << 20
_LOCAL = struct.Struct("<IHHHHHIIIHH")  # local file header, 30 bytes
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")  # central directory header, 46 bytes
_END = struct.Struct("<IHHHHIIH")  # end of central directory, 22 bytes
_END64 = struct.Struct("<IQHHIIQQQQ")  # zip64 end of central directory, 56 bytes
_LOCATOR = struct.Struct("<IIQI")  # zip64 end of central directory locator, 20 bytes


class CorruptArchive(RuntimeError):
    """The archive's structure or a checksum does not hold: nothing of it may be used."""


# -- writing ---------------------------------------------------------------------------------
class ZipWriter:
    """Writes records to a binary stream as PyTorch's ``PyTorchStreamWriter`` does."""

    def __init__(self, handle, archive: str) -> None:
        self.handle = handle
        self.prefix = archive + "/"
        self.offset = 0
        self.central: list[bytes] = []
        self.digest = hashlib.sha256()

    def _emit(self, data) -> None:
        self.handle.write(data)
        self.digest.update(data)
        self.offset += memoryview(data).nbytes

    def write_record(self, name: str, data) -> int:
        """Append one stored record; returns its CRC-32."""
        view = memoryview(data).cast("B")
        size, crc, cursor = view.nbytes, zlib.crc32(view), self.offset
        path = (self.prefix + name).encode()
        big_size, big_cursor = size >= ZIP64_LIMIT, cursor >= ZIP64_LIMIT
        local64 = b""
        if big_size or big_cursor:
            fields = (struct.pack("<QQ", size, size) if big_size else b"") + (
                struct.pack("<Q", cursor) if big_cursor else b""
            )
            local64 = struct.pack("<HH", 1, len(fields)) + fields
        start = cursor + _LOCAL.size + len(path) + len(local64) + 4
        pad = -start % ALIGNMENT
        extra = local64 + b"FB" + struct.pack("<H", pad) + b"Z" * pad
        flags = 0x0808 if size else 0x0800  # UTF-8 names; a data descriptor after non-empty data
        self._emit(_LOCAL.pack(0x04034B50, 0, flags, 0, 0, 0, 0, 0, 0, len(path), len(extra)))
        self._emit(path + extra)
        self._emit(view)
        if size:
            layout = "<IIQQ" if big_size or big_cursor else "<IIII"
            self._emit(struct.pack(layout, 0x08074B50, crc, size, size))
        central64 = (struct.pack("<QQ", size, size) if big_size else b"") + (
            struct.pack("<Q", cursor) if big_cursor else b""
        )
        central64 = struct.pack("<HH", 1, len(central64)) + central64 if central64 else b""
        small_size = min(size, ZIP64_LIMIT)
        header = _CENTRAL.pack(
            0x02014B50, 0, 0, flags, 0, 0, 0, crc, small_size, small_size,
            len(path), len(central64), 0, 0, 0, 0, min(cursor, ZIP64_LIMIT),
        )  # fmt: skip
        self.central.append(header + path + central64)
        return crc

    def finish(self) -> None:
        """The central directory, PyTorch's zip64 end records, the end record and the checksum."""
        start, count = self.offset, len(self.central)
        for header in self.central:
            self._emit(header)
        size, end64 = self.offset - start, self.offset
        self._emit(_END64.pack(0x06064B50, 44, 0x031E, 0x002D, 0, 0, count, count, size, start))
        self._emit(_LOCATOR.pack(0x07064B50, 0, end64, 1))
        comment_size = len(TAG) + 64
        small = min(count, 0xFFFF), min(size, ZIP64_LIMIT), min(start, ZIP64_LIMIT)
        self._emit(
            _END.pack(0x06054B50, 0, 0, small[0], small[0], small[1], small[2], comment_size)
        )
        comment = TAG + self.digest.hexdigest().encode()
        self.handle.write(comment)


# -- reading ---------------------------------------------------------------------------------
class ZipReader:
    """Reads PyTorch checkpoints from a seekable binary stream, refusing anything inconsistent."""

    def __init__(self, handle, size: int, base: int = 0) -> None:
        # ``base``: where the archive starts in the stream (PyTorch reads from the position
        # a stream is at; the archive's offsets count from there)
        self.handle, self.size, self.base = handle, size, base
        self.records: dict[str, tuple[int, int, int]] = {}  # name: (data offset, size, crc)
        self.prefix = ""
        self._parse()

    def _read_at(self, offset: int, size: int) -> bytes:
        self.handle.seek(self.base + offset)
        data = self.handle.read(size)
        if len(data) != size:
            raise CorruptArchive("the file is truncated")
        return data

    def _end_record(self):
        tail_size = min(self.size, _END.size + 0xFFFF)
        tail = self._read_at(self.size - tail_size, tail_size)
        at = tail.rfind(b"PK\x05\x06")
        while at >= 0:
            fields = _END.unpack_from(tail, at) if at + _END.size <= len(tail) else None
            if fields and at + _END.size + fields[7] == len(tail):
                return self.size - tail_size + at, fields, tail[at + _END.size :]
            at = tail.rfind(b"PK\x05\x06", 0, at)
        raise CorruptArchive("failed finding central directory")

    def _parse(self) -> None:
        end_at, fields, comment = self._end_record()
        if comment:
            if len(comment) != len(TAG) + 64 or not comment.startswith(TAG):
                raise CorruptArchive("the archive comment is not a glassgrad checksum")
            self._check_digest(end_at + _END.size, comment[len(TAG) :].decode("latin-1"))
        count, cd_size, cd_start = fields[4], fields[5], fields[6]
        if end_at >= _LOCATOR.size + _END64.size:
            locator = _LOCATOR.unpack(self._read_at(end_at - _LOCATOR.size, _LOCATOR.size))
            if locator[0] == 0x07064B50:
                record = _END64.unpack(self._read_at(locator[2], _END64.size))
                if record[0] != 0x06064B50:
                    raise CorruptArchive("the zip64 end of central directory is malformed")
                count, cd_size, cd_start = record[7], record[8], record[9]
        if cd_start + cd_size > end_at:
            raise CorruptArchive("the central directory lies outside the file")
        directory = self._read_at(cd_start, cd_size)
        self._parse_directory(directory, count, cd_start)

    def _check_digest(self, covered: int, expected: str) -> None:
        digest = hashlib.sha256()
        self.handle.seek(self.base)
        left = covered
        while left:
            chunk = self.handle.read(min(_CHUNK, left))
            if not chunk:
                raise CorruptArchive("the file is truncated")
            digest.update(chunk)
            left -= len(chunk)
        if digest.hexdigest() != expected:
            raise CorruptArchive("the file does not match its SHA-256 checksum")

    def _parse_directory(self, directory: bytes, count: int, cd_start: int) -> None:
        at = 0
        for _ in range(count):
            if at + _CENTRAL.size > len(directory):
                raise CorruptArchive("the central directory is truncated")
            head = _CENTRAL.unpack_from(directory, at)
            if head[0] != 0x02014B50:
                raise CorruptArchive("a central directory entry is malformed")
            name_end = at + _CENTRAL.size + head[10]
            extra_end = name_end + head[11]
            path = directory[at + _CENTRAL.size : name_end].decode("utf-8", "replace")
            size, csize, offset = head[9], head[8], head[16]
            size, csize, offset = _zip64(directory[name_end:extra_end], size, csize, offset)
            at = extra_end + head[12]
            if head[5] != 0 or csize != size:
                raise CorruptArchive(f"record {path} is compressed (PyTorch stores records)")
            self._add(path, offset, size, head[7], cd_start)
        if at != len(directory):
            raise CorruptArchive("the central directory has trailing bytes")

    def _add(self, path: str, offset: int, size: int, crc: int, cd_start: int) -> None:
        local = _LOCAL.unpack(self._read_at(offset, _LOCAL.size))
        if local[0] != 0x04034B50:
            raise CorruptArchive(f"the local header of record {path} is malformed")
        name = self._read_at(offset + _LOCAL.size, local[9]).decode("utf-8", "replace")
        if name != path:
            raise CorruptArchive(f"record {path} is named {name} in its local header")
        data = offset + _LOCAL.size + local[9] + local[10]
        if data + size > cd_start:
            raise CorruptArchive(f"record {path} runs past the end of the data")
        if not self.records:
            self.prefix = path[: path.find("/") + 1]
        if not path.startswith(self.prefix) or path in self.records:
            raise CorruptArchive(f"record {path} is out of place")
        self.records[path[len(self.prefix) :]] = (data, size, crc)

    def has_record(self, name: str) -> bool:
        return name in self.records

    def record_size(self, name: str) -> int:
        return self._entry(name)[1]

    def data_offset(self, name: str) -> int:
        return self._entry(name)[0]

    def _entry(self, name: str):
        try:
            return self.records[name]
        except KeyError:
            raise CorruptArchive(f"file not found: {self.prefix}{name}") from None

    def get_record(self, name: str) -> bytes:
        offset, size, crc = self._entry(name)
        data = self._read_at(offset, size)
        check_crc(name, data, crc)
        return data

    def read_into(self, name: str, buffer) -> None:
        """Reads a record straight into ``buffer`` (no intermediate copy), checking its CRC."""
        offset, size, crc = self._entry(name)
        view = memoryview(buffer).cast("B")
        self.handle.seek(self.base + offset)
        done = 0
        while done < size:
            got = self.handle.readinto(view[done : done + _CHUNK * 64])
            if not got:
                raise CorruptArchive("the file is truncated")
            done += got
        check_crc(name, view, crc)


def check_crc(name: str, data, crc: int) -> None:
    if zlib.crc32(data) != crc:
        raise CorruptArchive(f"crc32 mismatch for archive/{name}")


def _zip64(extra: bytes, size: int, csize: int, offset: int):
    at = 0
    while at + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, at)
        if tag == 1:
            try:
                values = iter(struct.unpack_from(f"<{length // 8}Q", extra, at + 4))
                size = next(values) if size == ZIP64_LIMIT else size
                csize = next(values) if csize == ZIP64_LIMIT else csize
                offset = next(values) if offset == ZIP64_LIMIT else offset
            except (struct.error, StopIteration):
                raise CorruptArchive("a zip64 extra field is malformed") from None
        at += 4 + length
    return size, csize, offset
