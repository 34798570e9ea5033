"""Reading a reference-data CSV: blocks of whole lines, decoded and split into columns; no checks of values.

The CSV dialect: UTF-8 (a leading BOM is dropped), comma-separated, RFC 4180 double quotes (`""` inside a
quoted field), LF or CRLF line ends, a header line naming every column in order, and exactly one line per
row: a value may not contain a line break, a TAB or a NUL (a TAB is found by the VARCHAR check). Lines
without a quote are split with `str.split`, lines with one go through the csv module, and columns are
sliced out of one flat list. Physical line numbers are exact because every row is one line (the header
is line 1).
"""

from __future__ import annotations

import csv
import hashlib
import operator
from itertools import compress, repeat
from pathlib import Path
from typing import BinaryIO, Iterator, Sequence

from rockway.errors import InputError
from rockway.refdata.columns import ColumnSpec, KeyValue, key_values

__all__ = ["blocks_of_lines", "decode_block", "split_fields", "check_header", "parse_quoted_line", "line_end",
           "file_digest", "first_key_line"]

_BOM = b"\xef\xbb\xbf"


def blocks_of_lines(fh: BinaryIO, block_bytes: int, limit: int, bof: bool,
                    digest: "hashlib._Hash | None" = None) -> Iterator[tuple[int, bytes, int]]:
    """(line number of its first line, bytes, lines) for blocks of whole lines, without their last line break.

    Reads `limit` bytes from the current position; `bof` means that is the start of the file (BOM).
    """
    line_no = 1
    rest = b""
    first = bof
    while True:
        data = fh.read(min(block_bytes, limit)) if limit > 0 else b""
        limit -= len(data)
        if digest is not None:
            digest.update(data)
        if data:
            rest += data
            cut = rest.rfind(b"\n")
            if cut < 0:
                continue
            part, rest = rest[:cut], rest[cut + 1:]
            if part.endswith(b"\r"):
                part = part[:-1]  # CRLF at the cut
        elif rest:
            part, rest = rest, b""
        else:
            return
        if first:
            first = False
            if part.startswith(_BOM):
                part = part[len(_BOM):]
        count = part.count(b"\n") + 1
        yield line_no, part, count
        line_no += count


def decode_block(part: bytes, line_no: int, display: str) -> tuple[str, list[str]]:
    """Text and lines of a block; InputError for bad UTF-8, a stray CR or a NUL, naming the line."""
    try:
        text = part.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = line_no + part.count(b"\n", 0, exc.start)
        raise InputError(display, f"not valid UTF-8: byte 0x{part[exc.start]:02x} cannot be decoded", line=line,
                         hint="Save the file as UTF-8 (with or without BOM).") from None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            line = line_no + text.count("\n", 0, text.index("\r"))
            raise InputError(display, "carriage return inside a line (values may not contain line breaks)", line=line)
    if "\x00" in text:
        raise InputError(display, "NUL character in the file", line=line_no + text.count("\n", 0, text.index("\x00")))
    return text, text.split("\n")


def parse_quoted_line(line: str) -> list[str]:
    """Fields of one line that contains a double quote (csv module, strict)."""
    reader = csv.reader((line,), strict=True)
    fields = next(reader)
    if next(reader, None) is not None:  # pragma: no cover - one line is one record
        raise csv.Error("more than one record")
    return fields


def split_fields(lines: list[str], text: str, ncols: int, first_line: int, display: str) -> list[list[str]]:
    """Columns of a block of data lines; InputError for malformed quoting or a wrong field count."""
    parked: set[int] = set()  # columns where a literal comma was parked as NUL
    if '"' in text:
        for i in compress(range(len(lines)), map(operator.contains, lines, repeat('"'))):
            try:
                fields = parse_quoted_line(lines[i])
            except csv.Error as exc:
                detail = "an unterminated quoted value (values may not contain line breaks)" \
                    if "end of data" in str(exc) or "EOF" in str(exc) else str(exc)
                raise InputError(display, f"malformed CSV: {detail}", line=first_line + i) from None
            line = ",".join([f.replace(",", "\x00") for f in fields])
            if "\x00" in line:
                parked.update(j for j, f in enumerate(fields) if "," in f)
            lines[i] = line
    counts = set(map(str.count, lines, repeat(",")))
    if counts != {ncols - 1}:
        i = next((i for i, ln in enumerate(lines) if ln.count(",") != ncols - 1), 0)
        got = lines[i].count(",") + 1
        message = "blank line" if lines[i] == "" else f"expected {ncols} fields, found {got}"
        raise InputError(display, message, line=first_line + i)
    flat = ",".join(lines).split(",")
    cols = [flat[i::ncols] for i in range(ncols)]
    for j in parked:
        if j < ncols:
            cols[j] = [v.replace("\x00", ",") for v in cols[j]]
    return cols


def check_header(line: str, names: Sequence[str], manifest: str, display: str) -> None:
    """InputError (line 1) unless the header line names exactly the columns, in order."""
    try:
        header = parse_quoted_line(line) if line else []
    except csv.Error as exc:
        raise InputError(display, f"malformed header: {exc}", line=1) from None
    if not header or header == [""]:
        raise InputError(display, f"no header line; expected {','.join(names)}", line=1)
    if header != list(names):
        raise InputError(display, _header_message(header, names, manifest), line=1)


def _header_message(header: list[str], names: Sequence[str], manifest: str) -> str:
    expected = ",".join(names)
    for i, (got, want) in enumerate(zip(header, names), 1):
        if got != want:
            return f"header does not match {manifest}: column {i} is {got!r}, expected {want!r} (expected: {expected})"
    if len(header) < len(names):
        return (f"header does not match {manifest}: {len(header)} columns, expected {len(names)};"
                f" missing {', '.join(names[len(header):])}")
    return (f"header does not match {manifest}: {len(header)} columns, expected {len(names)};"
            f" unexpected {', '.join(header[len(names):])}")


def line_end(path: Path) -> str:
    """The line ending a CSV is read with: CRLF when its header line ends with CR LF, else LF (OSError if unreadable)."""
    with open(path, "rb") as fh:
        first = fh.readline(1 << 20)
    return "\r\n" if first.endswith(b"\r\n") else "\n"


def file_digest(path: Path) -> tuple[int, str]:
    """Size and sha256 of a file."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def first_key_line(path: Path, columns: Sequence[ColumnSpec], key_idx: Sequence[int], dup_line: int) -> int:
    """Line of the first row with the same key as the row at dup_line (error path only)."""
    def key_of(fields: Sequence[str]) -> tuple[KeyValue, ...]:
        return tuple(key_values([fields[j]], columns[j])[0] for j in key_idx)

    with open(path, "r", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    if dup_line - 1 >= len(rows):
        return dup_line
    wanted = key_of(rows[dup_line - 1])
    for line, fields in enumerate(rows[1:dup_line - 1], 2):
        try:
            if len(fields) == len(columns) and key_of(fields) == wanted:
                return line
        except (ValueError, KeyError):
            continue
    return dup_line
