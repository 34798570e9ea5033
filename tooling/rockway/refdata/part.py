"""Checking one part of a reference-data CSV (a byte range: the whole file, or one of parallel.py's parts)
and writing its rows to the bulk file.

The file is read in blocks of whole lines. When no values need rewriting, a block first goes through
strict_rows.py (one bytes regex per block, a strict subset of the dialect) and only blocks it does not
accept take the exact path (reader.py splits them, columns.py checks them). Only when a column's check
fails is it scanned value by value to name the first bad line.

Bulk file formats: `escaped` (TAB-separated, LF-terminated, `\\N` for NULL, booleans as 1/0, datetimes
with a space; for Stream Load), `plain` (TAB-separated, the values exactly as written, an empty field for
NULL; LOAD DATA converts in SET, see adapters/mysql/bulk.py) and `csv` (nothing is written when the whole
file is in the strict subset: the CSV itself is loaded; otherwise a `plain` file is written).
"""

from __future__ import annotations

import gc
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from rockway.errors import InputError
from rockway.refdata.columns import BadValue, BlockFacts, ColumnSpec, Key, check_columns, check_keys, column_check
from rockway.refdata.reader import blocks_of_lines, check_header, decode_block, first_key_line, split_fields
from rockway.refdata.strict_rows import StrictRows

__all__ = ["ESCAPED", "PLAIN", "CSV", "BLOCK_BYTES", "CheckJob", "NotLoadableAsIs", "check_part"]

ESCAPED = "escaped"  # bulk file: `\\N` for NULL, booleans 1/0, datetimes with a space (Stream Load)
PLAIN = "plain"  # bulk file: the CSV's values as written, empty = NULL (LOAD DATA … ESCAPED BY '' … SET)
CSV = "csv"  # no bulk file when the CSV is in the strict subset (strict_rows.py): load the CSV itself
BLOCK_BYTES = 8 << 20


@dataclass(frozen=True)
class CheckJob:
    """Everything a check of a part needs (picklable, for worker processes)."""

    path: str
    display: str
    manifest: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]
    bulk_format: str
    block_bytes: int
    eol: bytes = b"\n"


class NotLoadableAsIs(Exception):
    """The CSV is valid so far but outside the strict subset that may be loaded as it is."""


def check_part(job: CheckJob, start: int, end: int, out: BinaryIO | None, seen: set[Key],
               digest: "hashlib._Hash | None" = None) -> tuple[int, int]:
    """Check bytes [start, end) of the file (a header first when start is 0); return (rows, bytes written).

    Each block goes through the strict subset first when no values need writing (only checking, or the CSV
    is to be loaded as it is); blocks it does not accept take the exact path, which names the first bad line.
    seen: the keys of the rows before this part; this part's keys are added.
    """
    columns = job.columns
    names = [c.name for c in columns]
    ncols = len(names)
    key_idx = [names.index(k) for k in job.key]
    checks = [column_check(c) for c in columns]
    direct = job.bulk_format == CSV
    escaped = out is not None and job.bulk_format == ESCAPED
    strict = StrictRows.build(columns, key_idx, job.eol, direct=direct) if out is None or direct else None
    display = job.display
    rows = 0
    written = 0
    header_seen = start > 0
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of short-lived lists and no cycles: the cyclic GC would only rescan them
    try:
        with open(job.path, "rb") as fh:
            fh.seek(start)
            for first_line, part, count in blocks_of_lines(fh, job.block_bytes, end - start, start == 0, digest):
                if not header_seen:
                    header_seen = True
                    head, sep, part = part.partition(b"\n")
                    if head.endswith(b"\r"):
                        head = head[:-1]
                    check_header(decode_block(head, 1, display)[1][0], names, job.manifest, display)
                    if not sep:
                        continue
                    first_line += 1
                    count -= 1
                keys = strict.keys(part, count) if strict is not None else None
                if keys is not None:
                    fresh = set(keys)
                    if len(fresh) == len(keys) and seen.isdisjoint(fresh) and _is_utf8(part):
                        seen |= fresh
                        rows += len(keys)
                        continue
                if direct:
                    raise NotLoadableAsIs()
                text, lines = decode_block(part, first_line, display)
                block = BlockFacts(tab="\t" in text, backslash="\\" in text, ascii=text.isascii(), render=escaped)
                cols = split_fields(lines, text, ncols, first_line, display)
                try:
                    outs = check_columns(cols, columns, checks, block)
                    check_keys(cols, key_idx, columns, seen)
                except BadValue as bad:
                    line = first_line + bad.index
                    message = bad.message
                    if message.startswith("duplicate key"):
                        message += f" (first on line {first_key_line(Path(job.path), columns, key_idx, line)})"
                    raise InputError(display, message, line=line) from None
                rows += len(lines)
                if out is not None:
                    data = _render(lines, cols, outs if escaped else [None] * ncols).encode("utf-8")
                    out.write(data)
                    written += len(data)
    except OSError as exc:
        raise InputError(display, f"cannot read: {exc.strerror or exc}") from None
    finally:
        if gc_was_enabled:
            gc.enable()
    if start == 0 and rows == 0 and end >= Path(job.path).stat().st_size:
        raise InputError(display, "no data rows after the header (a seed never empties a table)", line=2)
    return rows, written


def _is_utf8(part: bytes) -> bool:
    try:
        part.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _render(lines: list[str], cols: list[list[str]], outs: list[list[str] | None]) -> str:
    """The bulk-file text of one block."""
    if all(o is None for o in outs):
        body = "\n".join(lines).replace(",", "\t")
        if "\x00" in body:
            body = body.replace("\x00", ",")
        return body + "\n"
    final = [o if o is not None else c for o, c in zip(outs, cols)]
    return "\n".join(map("\t".join, zip(*final))) + "\n"
