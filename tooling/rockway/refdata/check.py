"""Validate a reference-data CSV against its column specs and write it as a bulk-load file; no database.

The CSV dialect: UTF-8 (a leading BOM is dropped), comma-separated, RFC 4180 double quotes (`""` inside a
quoted field), LF or CRLF line ends, a header line naming every column in order, and exactly one line per
row: a value may not contain a line break, a TAB or a NUL. An empty field is NULL. Types: integers
(`-?[0-9]+`, within the type's range), DECIMAL(p,s) (`-12.50`: at most p-s digits before and s after the
point), DATE `YYYY-MM-DD`, DATETIME `YYYY-MM-DD HH:MM[:SS[.ffffff]]` (`T` instead of the space is
accepted), BOOLEAN `true`/`false`/`1`/`0` (also TRUE/True/FALSE/False), VARCHAR(n) with at most n UTF-8
bytes (StarRocks counts bytes, MariaDB characters: bytes is the bound that holds on both). `\\N` is
reserved for NULL. A file with a header and no data rows is an error (a seed never empties a table).

Speed: the file is read in blocks of whole lines. When no values need rewriting, a block first goes
through csvfast (one bytes regex per block, a strict subset of this grammar) and only blocks it does not
accept take the exact path: lines without a quote are split with `str.split`, lines with one go through
the csv module, columns are sliced out of one flat list and checked with C-level passes (a possessive
regex over the LF-joined column, `map(int, …)`, `set(…) <= …`). Only when a fast check fails is a column
scanned value by value to name the first bad line. Physical line numbers are exact because every row is
one line (the header is line 1). Big files are checked by several processes (csvparallel).

Bulk file formats: `escaped` (TAB-separated, LF-terminated, `\\N` for NULL, booleans as 1/0, datetimes
with a space; for Stream Load), `plain` (TAB-separated, the values exactly as written, an empty field for
NULL; LOAD DATA converts in SET, see adapters/bulk_mysql) and `csv` (nothing is written when the whole
file is in csvfast's strict subset: the CSV itself is loaded; otherwise a `plain` file is written).
"""

from __future__ import annotations

import csv
import gc
import hashlib
import operator
import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from itertools import compress, repeat
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Sequence

from rockway.errors import InputError

__all__ = ["ColumnSpec", "CsvStats", "parse_type", "validate_csv", "line_end", "TYPE_NAMES", "NULL"]

TYPE_NAMES = ("TINYINT", "SMALLINT", "INT", "BIGINT", "DECIMAL(p,s)", "VARCHAR(n)", "DATE", "DATETIME", "BOOLEAN")
NULL = "\\N"
BLOCK_BYTES = 8 << 20
ESCAPED = "escaped"  # bulk file: `\\N` for NULL, booleans 1/0, datetimes with a space (Stream Load)
PLAIN = "plain"  # bulk file: the CSV's values as written, empty = NULL (LOAD DATA … ESCAPED BY '' … SET)
CSV = "csv"  # no bulk file when the CSV is in the strict subset csvfast accepts: load the CSV itself

_INT_BITS = {"TINYINT": 8, "SMALLINT": 16, "INT": 32, "BIGINT": 64}
_TYPE_RE = re.compile(r"^\s*([A-Za-z]+)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$")
_BOOLS = {"1": "1", "0": "0", "true": "1", "false": "0", "TRUE": "1", "FALSE": "0", "True": "1", "False": "0"}
_DATE = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
_DATETIME = "[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\\.[0-9]{1,6})?)?+"
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a reference table in portable terms."""

    name: str
    type: str  # canonical spelling: INT, DECIMAL(12,2), VARCHAR(18), DATE, …
    nullable: bool = True
    description: str = ""

    @property
    def base(self) -> str:
        return self.type.split("(", 1)[0]


def parse_type(text: object) -> str:
    """Canonical spelling of a portable type; ValueError naming the allowed ones otherwise."""
    m = _TYPE_RE.match(str(text))
    if not m:
        raise ValueError(f"unknown type {text!r}; use one of {', '.join(TYPE_NAMES)}")
    base, a, b = m.group(1).upper(), m.group(2), m.group(3)
    base = {"BOOL": "BOOLEAN", "INTEGER": "INT", "NUMERIC": "DECIMAL"}.get(base, base)
    if base in _INT_BITS or base in ("DATE", "DATETIME", "BOOLEAN"):
        if a is not None:
            raise ValueError(f"type {text!r}: {base} takes no length or precision here")
        return base
    if base == "VARCHAR":
        if a is None or b is not None or not 1 <= int(a) <= 1048576:
            raise ValueError(f"type {text!r}: write VARCHAR(n) with 1 <= n <= 1048576")
        return f"VARCHAR({int(a)})"
    if base == "DECIMAL":
        p = int(a) if a is not None else 10
        s = int(b) if b is not None else 0
        if not 1 <= p <= 38 or not 0 <= s <= p:
            raise ValueError(f"type {text!r}: DECIMAL(p,s) needs 1 <= p <= 38 and 0 <= s <= p")
        return f"DECIMAL({p},{s})"
    raise ValueError(f"unknown type {text!r}; use one of {', '.join(TYPE_NAMES)}")


@dataclass(frozen=True)
class CsvStats:
    """What a validated CSV holds."""

    rows: int
    bytes: int  # size of the CSV file
    sha256: str  # of the CSV file's bytes
    out_bytes: int = 0  # size of the bulk file written (0 if none)
    bulk_format: str = ""  # what was written to `out`; CSV: nothing, load the CSV file itself
    line_end: str = "\n"  # of the CSV file (from its header line)


class _NotDirect(Exception):
    """The CSV is valid but outside the strict subset that may be loaded as it is."""


class _Bad(Exception):
    """A problem at row `index` of the values a check was given."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.message = message


@dataclass(frozen=True)
class _Block:
    """Facts about a block of lines that let checks skip work."""

    tab: bool
    backslash: bool
    ascii: bool
    render: bool = True  # the escaped bulk format is being written: checks return converted values


# --- per-type checks ----------------------------------------------------------------------------
# A check gets the non-NULL values of one column of a block and returns the values for the bulk file
# (a list) or None when they go unchanged; it raises _Bad(index into values, message).

Check = Callable[[list[str], _Block], "list[str] | None"]


def _first(values: Sequence[object], ok: Callable[[object], bool]) -> int:
    for i, v in enumerate(values):
        if not ok(v):
            return i
    return 0


def _all_match(pattern: str) -> Callable[[list[str], str], bool]:
    """f(values, joined) -> True when every value fully matches pattern; joined is "\\n".join(values)."""
    try:  # one regex over the joined values; possessive repeats (3.11+) never backtrack into earlier values
        whole = re.compile(f"(?:(?:{pattern})\n)*+(?:{pattern})")
        return lambda values, joined: whole.fullmatch(joined) is not None
    except re.error:  # pragma: no cover - Python 3.10 has no possessive repeats
        one = re.compile(pattern.replace("?+", "?"))
        return lambda values, joined: all(map(one.fullmatch, values))


def _one(pattern: str) -> "re.Pattern[str]":
    return re.compile(pattern.replace("?+", "?"))


def _int_check(name: str, base: str) -> Check:
    bits = _INT_BITS[base]
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    ok, one = _all_match("-?[0-9]+"), _one("-?[0-9]+")

    def check(values: list[str], _block: _Block) -> list[str] | None:
        if not ok(values, "\n".join(values)):
            i = _first(values, lambda v: one.fullmatch(v) is not None)  # type: ignore[arg-type]
            raise _Bad(i, f"column {name}: {values[i]!r} is not an integer")
        nums = list(map(int, values))
        if min(nums) < lo or max(nums) > hi:
            i = _first(nums, lambda n: lo <= n <= hi)  # type: ignore[operator]
            raise _Bad(i, f"column {name}: {values[i]} is out of range for {base} ({lo}..{hi})")
        return None

    return check


def _decimal_check(name: str, type_: str) -> Check:
    p, s = (int(x) for x in type_[len("DECIMAL("):-1].split(","))
    whole = p - s
    frac = f"(?:\\.[0-9]{{1,{s}}})?+" if s else ""
    pattern = f"-?[0-9]{{1,{whole}}}{frac}" if whole else f"-?0?\\.[0-9]{{1,{s}}}"
    ok, one = _all_match(pattern), _one(pattern)

    def check(values: list[str], _block: _Block) -> list[str] | None:
        if not ok(values, "\n".join(values)):
            i = _first(values, lambda v: one.fullmatch(v) is not None)  # type: ignore[arg-type]
            raise _Bad(i, f"column {name}: {values[i]!r} is not a {type_} number (at most {whole} digits before"
                          f" and {s} after the decimal point)")
        return None

    return check


def _date_check(name: str) -> Check:
    ok, one = _all_match(_DATE), _one(_DATE)

    def valid(v: object) -> bool:
        try:
            return one.fullmatch(v) is not None and bool(date.fromisoformat(v))  # type: ignore[arg-type]
        except ValueError:
            return False

    def check(values: list[str], _block: _Block) -> list[str] | None:
        try:
            if ok(values, "\n".join(values)):
                for _ in map(date.fromisoformat, values):
                    pass
                return None
        except ValueError:
            pass
        i = _first(values, valid)
        raise _Bad(i, f"column {name}: {values[i]!r} is not a valid date (YYYY-MM-DD)")

    return check


def _datetime_check(name: str) -> Check:
    ok, one = _all_match(_DATETIME), _one(_DATETIME)

    def valid(v: object) -> bool:
        try:
            return one.fullmatch(v) is not None and bool(datetime.fromisoformat(v))  # type: ignore[arg-type]
        except ValueError:
            return False

    def check(values: list[str], block: _Block) -> list[str] | None:
        joined = "\n".join(values)
        try:
            if ok(values, joined):
                for _ in map(datetime.fromisoformat, values):
                    pass
                if block.render and "T" in joined:
                    return [v.replace("T", " ") for v in values]
                return None
        except ValueError:
            pass
        i = _first(values, valid)
        raise _Bad(i, f"column {name}: {values[i]!r} is not a valid datetime (YYYY-MM-DD HH:MM:SS)")

    return check


def _bool_check(name: str) -> Check:
    def check(values: list[str], block: _Block) -> list[str] | None:
        if not set(values) <= _BOOLS.keys():
            i = _first(values, lambda v: v in _BOOLS)
            raise _Bad(i, f"column {name}: {values[i]!r} is not a boolean (true/false/1/0)")
        return list(map(_BOOLS.__getitem__, values)) if block.render else None

    return check


def _varchar_check(name: str, type_: str) -> Check:
    n = int(type_[len("VARCHAR("):-1])

    def nbytes(v: object) -> int:
        return len(str(v).encode("utf-8"))

    def check(values: list[str], block: _Block) -> list[str] | None:
        if block.tab and any(map(operator.contains, values, repeat("\t"))):
            raise _Bad(_first(values, lambda v: "\t" not in v), f"column {name}: the value contains a TAB character")  # type: ignore[operator]
        if block.backslash and NULL in values:
            raise _Bad(values.index(NULL), f"column {name}: the value \\N is reserved for NULL (leave the field empty)")
        longest = max(map(len, values))
        if longest > n or (longest * 4 > n and not block.ascii and not "".join(values).isascii()
                           and max(map(len, map(str.encode, values))) > n):
            i = _first(values, lambda v: nbytes(v) <= n)
            raise _Bad(i, f"column {name}: the value is {nbytes(values[i])} bytes long, {type_} allows {n}")
        return None

    return check


def _check_for(col: ColumnSpec) -> Check:
    base = col.base
    if base in _INT_BITS:
        return _int_check(col.name, base)
    if base == "DECIMAL":
        return _decimal_check(col.name, col.type)
    if base == "DATE":
        return _date_check(col.name)
    if base == "DATETIME":
        return _datetime_check(col.name)
    if base == "BOOLEAN":
        return _bool_check(col.name)
    if base == "VARCHAR":
        return _varchar_check(col.name, col.type)
    raise ValueError(f"column {col.name}: unsupported type {col.type}")


def _column(values: list[str], col: ColumnSpec, check: Check, block: _Block) -> list[str] | None:
    """Check one column of a block; return its bulk-file values, or None when they are the input unchanged."""
    if "" not in values:
        return check(values, block)
    if not col.nullable:
        raise _Bad(values.index(""), f"column {col.name}: empty value (NULL) in a NOT NULL column")
    given = list(filter(None, values))
    try:
        out = check(given, block) if given else None
    except _Bad as bad:
        present = [i for i, v in enumerate(values) if v]
        raise _Bad(present[bad.index], bad.message) from None
    if not block.render:
        return None
    if out is None:
        return [v or NULL for v in values]
    it = iter(out)
    return [next(it) if v else NULL for v in values]


def _columns(cols: list[list[str]], columns: Sequence[ColumnSpec], checks: Sequence[Check],
             block: _Block) -> list[list[str] | None]:
    """Check every column of a block; on problems raise the one on the earliest line."""
    outs: list[list[str] | None] = []
    worst: _Bad | None = None
    for values, col, check in zip(cols, columns, checks):
        try:
            outs.append(_column(values, col, check, block))
        except _Bad as bad:
            if worst is None or bad.index < worst.index:
                worst = bad
            outs.append(None)
    if worst is not None:
        raise worst
    return outs


# --- reading ------------------------------------------------------------------------------------

def _blocks(fh: BinaryIO, block_bytes: int, limit: int, bof: bool,
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


def _decode(part: bytes, line_no: int, display: str) -> tuple[str, list[str]]:
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


def _parse_quoted(line: str) -> list[str]:
    """Fields of one line that contains a double quote (csv module, strict)."""
    reader = csv.reader((line,), strict=True)
    fields = next(reader)
    if next(reader, None) is not None:  # pragma: no cover - one line is one record
        raise csv.Error("more than one record")
    return fields


def _split(lines: list[str], text: str, ncols: int, first_line: int, display: str) -> list[list[str]]:
    """Columns of a block of data lines; InputError for malformed quoting or a wrong field count."""
    parked: set[int] = set()  # columns where a literal comma was parked as NUL
    if '"' in text:
        for i in compress(range(len(lines)), map(operator.contains, lines, repeat('"'))):
            try:
                fields = _parse_quoted(lines[i])
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
        i = _first(lines, lambda ln: ln.count(",") == ncols - 1)  # type: ignore[attr-defined]
        got = lines[i].count(",") + 1
        message = "blank line" if lines[i] == "" else f"expected {ncols} fields, found {got}"
        raise InputError(display, message, line=first_line + i)
    flat = ",".join(lines).split(",")
    cols = [flat[i::ncols] for i in range(ncols)]
    for j in parked:
        if j < ncols:
            cols[j] = [v.replace("\x00", ",") for v in cols[j]]
    return cols


def _file_digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


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


# --- the file -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Job:
    """Everything a scan needs (picklable, for worker processes)."""

    path: str
    display: str
    manifest: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]
    bulk_format: str
    block_bytes: int
    eol: bytes = b"\n"


def validate_csv(path: Path, columns: Sequence[ColumnSpec], key: Sequence[str], *, display: str | None = None,
                 manifest: str = "the manifest", out: BinaryIO | None = None, bulk_format: str = ESCAPED,
                 block_bytes: int = BLOCK_BYTES, workers: int | None = None,
                 on_plain: Callable[[], None] | None = None) -> CsvStats:
    """Check the whole file (and write the bulk file to `out`); InputError naming file:line on the first problem.

    Big files are split at line boundaries and checked by `workers` processes (csvparallel: default the
    usable CPUs, at most 4, for files of 48 MB or more; POSIX only). That path only ever accepts a file:
    on any problem the file is checked again from the start in this process, which names the first bad
    line exactly as a sequential check does. `out` must then be a seekable binary file.

    With bulk_format CSV, `on_plain` is called as soon as the file turns out not to be loadable as it is
    (a block outside csvfast's strict subset, or a bad one), before the plain bulk file is written; a
    caller that already started loading the CSV itself stops that load there.
    """
    if bulk_format not in (ESCAPED, PLAIN, CSV):
        raise ValueError(f"bulk_format must be one of {ESCAPED!r}, {PLAIN!r}, {CSV!r}")
    display = display or str(path)
    names = [c.name for c in columns]
    try:
        size = Path(path).stat().st_size
        eol = _line_end(Path(path))
    except OSError as exc:
        raise InputError(display, f"cannot read: {exc.strerror or exc}") from None
    if size == 0:
        raise InputError(display, f"the file is empty; expected the header line {','.join(names)} and data rows", line=1)
    job = _Job(str(path), display, manifest, tuple(columns), tuple(key), bulk_format, block_bytes, eol)
    from rockway.refdata.parallel import worker_count

    count = worker_count(size, workers)
    try:
        return _validate(job, size, count, out)
    except _NotDirect:  # valid so far, but not loadable as it is: write a plain bulk file instead
        if on_plain is not None:
            on_plain()
        if out is not None:
            out.seek(0)
            out.truncate()
        return _validate(replace(job, bulk_format=PLAIN), size, count, out)


def _validate(job: _Job, size: int, count: int, out: BinaryIO | None) -> CsvStats:
    if count > 1:
        from rockway.refdata.parallel import check_in_parallel

        done = check_in_parallel(job, size, count, out)
        if done is not None:
            return done
    digest = hashlib.sha256()
    rows, written = _scan(job, 0, size, out, set(), digest)
    return CsvStats(rows=rows, bytes=size, sha256=digest.hexdigest(), out_bytes=written,
                    bulk_format=job.bulk_format if out else "", line_end=job.eol.decode())


def line_end(path: Path) -> str:
    """The line ending a CSV is read with: CRLF when its header line ends with CR LF, else LF (OSError if unreadable)."""
    return _line_end(Path(path)).decode()


def _line_end(path: Path) -> bytes:
    """CRLF when the header line ends with CR LF, else LF."""
    with open(path, "rb") as fh:
        first = fh.readline(1 << 20)
    return b"\r\n" if first.endswith(b"\r\n") else b"\n"


def _scan(job: _Job, start: int, end: int, out: BinaryIO | None, seen: set,
          digest: "hashlib._Hash | None" = None) -> tuple[int, int]:
    """Check bytes [start, end) of the file (a header first when start is 0); return (rows, bytes written).

    Each block goes through csvfast first when no values need writing (only checking, or the CSV is to be
    loaded as it is); blocks it does not accept take the exact path, which names the first bad line.
    """
    from rockway.refdata.reader import FastRows

    columns = job.columns
    names = [c.name for c in columns]
    ncols = len(names)
    key_idx = [names.index(k) for k in job.key]
    checks = [_check_for(c) for c in columns]
    direct = job.bulk_format == CSV
    escaped = out is not None and job.bulk_format == ESCAPED
    fast = FastRows.build(columns, key_idx, job.eol, direct=direct) if out is None or direct else None
    display = job.display
    rows = 0
    written = 0
    header_seen = start > 0
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of short-lived lists and no cycles: the cyclic GC would only rescan them
    try:
        with open(job.path, "rb") as fh:
            fh.seek(start)
            for first_line, part, count in _blocks(fh, job.block_bytes, end - start, start == 0, digest):
                if not header_seen:
                    header_seen = True
                    head, sep, part = part.partition(b"\n")
                    if head.endswith(b"\r"):
                        head = head[:-1]
                    _check_header(_decode(head, 1, display)[1][0], names, job.manifest, display)
                    if not sep:
                        continue
                    first_line += 1
                    count -= 1
                keys = fast.keys(part, count) if fast is not None else None
                if keys is not None:
                    fresh = set(keys)
                    if len(fresh) == len(keys) and seen.isdisjoint(fresh) and _utf8(part):
                        seen |= fresh
                        rows += len(keys)
                        continue
                if direct:
                    raise _NotDirect()
                text, lines = _decode(part, first_line, display)
                block = _Block(tab="\t" in text, backslash="\\" in text, ascii=text.isascii(), render=escaped)
                cols = _split(lines, text, ncols, first_line, display)
                try:
                    outs = _columns(cols, columns, checks, block)
                    _check_keys(cols, key_idx, columns, seen)
                except _Bad as bad:
                    line = first_line + bad.index
                    message = bad.message
                    if message.startswith("duplicate key"):
                        message += f" (first on line {_first_key_line(Path(job.path), columns, key_idx, line)})"
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


def _utf8(part: bytes) -> bool:
    try:
        part.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _check_header(line: str, names: Sequence[str], manifest: str, display: str) -> None:
    try:
        header = _parse_quoted(line) if line else []
    except csv.Error as exc:
        raise InputError(display, f"malformed header: {exc}", line=1) from None
    if not header or header == [""]:
        raise InputError(display, f"no header line; expected {','.join(names)}", line=1)
    if header != list(names):
        raise InputError(display, _header_message(header, names, manifest), line=1)


def _key_part(values: list[str], col: ColumnSpec) -> list:
    """Key values as the database compares them: integers as numbers, booleans as 1/0, `T` as a space."""
    if col.base in _INT_BITS:
        return list(map(int, values))
    if col.base == "BOOLEAN":
        return list(map(_BOOLS.__getitem__, values))
    if col.base == "DATETIME":
        return [v.replace("T", " ") for v in values]
    return values


def _check_keys(cols: list[list[str]], key_idx: Sequence[int], columns: Sequence[ColumnSpec], seen: set) -> None:
    """Raise _Bad(duplicate key) for the first row whose key is already in seen or earlier in the block."""
    parts = [_key_part(cols[k], columns[k]) for k in key_idx]
    keys = parts[0] if len(parts) == 1 else list(zip(*parts))
    fresh = set(keys)
    if len(fresh) != len(keys) or not seen.isdisjoint(fresh):
        local: set = set()
        for i, k in enumerate(keys):
            if k in seen or k in local:
                shown = ", ".join(f"{columns[j].name}={cols[j][i]}" for j in key_idx)
                raise _Bad(i, f"duplicate key ({shown})")
            local.add(k)
    seen |= fresh


def _render(lines: list[str], cols: list[list[str]], outs: list[list[str] | None]) -> str:
    """The bulk-file text of one block."""
    if all(o is None for o in outs):
        body = "\n".join(lines).replace(",", "\t")
        if "\x00" in body:
            body = body.replace("\x00", ",")
        return body + "\n"
    final = [o if o is not None else c for o, c in zip(outs, cols)]
    return "\n".join(map("\t".join, zip(*final))) + "\n"


def _first_key_line(path: Path, columns: Sequence[ColumnSpec], key_idx: Sequence[int], dup_line: int) -> int:
    """Line of the first row with the same key as the row at dup_line (error path only)."""
    def key_of(fields: Sequence[str]) -> tuple:
        return tuple(_key_part([fields[j]], columns[j])[0] for j in key_idx)

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
