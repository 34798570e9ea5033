"""Validate a reference-data CSV against its column specs and write it as a bulk-load file; no database.

The dialect is reader.py's, the types and value rules columns.py's, the bulk file formats part.py's. A file
with a header and no data rows is an error (a seed never empties a table). Big files are checked by several
processes (parallel.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO, Callable, Sequence

from rockway.errors import InputError
from rockway.refdata.columns import ColumnSpec, Key
from rockway.refdata.parallel import check_in_parallel, worker_count
from rockway.refdata.part import BLOCK_BYTES, CSV, ESCAPED, PLAIN, CheckJob, NotLoadableAsIs, check_part
from rockway.refdata.reader import line_end

__all__ = ["CsvStats", "validate_csv"]


@dataclass(frozen=True)
class CsvStats:
    """What a validated CSV holds."""

    rows: int
    bytes: int  # size of the CSV file
    sha256: str  # of the CSV file's bytes
    out_bytes: int = 0  # size of the bulk file written (0 if none)
    bulk_format: str = ""  # what was written to `out`; CSV: nothing, load the CSV file itself
    line_end: str = "\n"  # of the CSV file (from its header line)


def validate_csv(path: Path, columns: Sequence[ColumnSpec], key: Sequence[str], *, display: str | None = None,
                 manifest: str = "the manifest", out: BinaryIO | None = None, bulk_format: str = ESCAPED,
                 block_bytes: int = BLOCK_BYTES, workers: int | None = None,
                 on_plain: Callable[[], None] | None = None) -> CsvStats:
    """Check the whole file (and write the bulk file to `out`); InputError naming file:line on the first problem.

    Big files are split at line boundaries and checked by `workers` processes (parallel.py: default the
    usable CPUs, at most 4, for files of 48 MB or more; POSIX only). That path only ever accepts a file:
    on any problem the file is checked again from the start in this process, which names the first bad
    line exactly as a sequential check does. `out` must then be a seekable binary file.

    With bulk_format CSV, `on_plain` is called as soon as the file turns out not to be loadable as it is
    (a block outside the strict subset of strict_rows.py, or a bad one), before the plain bulk file is
    written; a caller that already started loading the CSV itself stops that load there.
    """
    if bulk_format not in (ESCAPED, PLAIN, CSV):
        raise ValueError(f"bulk_format must be one of {ESCAPED!r}, {PLAIN!r}, {CSV!r}")
    display = display or str(path)
    names = [c.name for c in columns]
    try:
        size = Path(path).stat().st_size
        eol = line_end(Path(path)).encode()
    except OSError as exc:
        raise InputError(display, f"cannot read: {exc.strerror or exc}") from None
    if size == 0:
        raise InputError(display, f"the file is empty; expected the header line {','.join(names)} and data rows", line=1)
    job = CheckJob(str(path), display, manifest, tuple(columns), tuple(key), bulk_format, block_bytes, eol)
    count = worker_count(size, workers)
    try:
        return _validate(job, size, count, out)
    except NotLoadableAsIs:  # valid so far, but not loadable as it is: write a plain bulk file instead
        if on_plain is not None:
            on_plain()
        if out is not None:
            out.seek(0)
            out.truncate()
        return _validate(replace(job, bulk_format=PLAIN), size, count, out)


def _validate(job: CheckJob, size: int, count: int, out: BinaryIO | None) -> CsvStats:
    bulk_format = job.bulk_format if out else ""
    if count > 1:
        done = check_in_parallel(job, size, count, out)
        if done is not None:
            return CsvStats(rows=done.rows, bytes=done.size, sha256=done.sha256, out_bytes=done.written,
                            bulk_format=bulk_format, line_end=job.eol.decode())
    digest = hashlib.sha256()
    seen: set[Key] = set()
    rows, written = check_part(job, 0, size, out, seen, digest)
    return CsvStats(rows=rows, bytes=size, sha256=digest.hexdigest(), out_bytes=written,
                    bulk_format=bulk_format, line_end=job.eol.decode())
