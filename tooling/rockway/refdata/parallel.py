"""Checking big files in parallel: the file is cut at line starts and the parts are checked by forked processes.

Only a clean result is taken from the workers. Any problem — a bad line, a key that repeats across
parts, a worker that died — returns None, and check.py checks the whole file again in its own process,
so error messages name the first bad line exactly as a sequential check does. Forked workers run only
this module's code and leave with os._exit (no atexit handlers of the parent run in them); spawn is not
used because it re-imports the caller's __main__, which a library must not do.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from rockway.refdata.columns import Key
from rockway.refdata.part import CheckJob, check_part
from rockway.refdata.reader import file_digest

__all__ = ["PARALLEL_MIN_BYTES", "CheckedParts", "worker_count", "split_points", "check_in_parallel"]

PARALLEL_MIN_BYTES = 48 << 20  # files at least this big are checked by several processes
_PART_MIN_BYTES = 24 << 20


@dataclass(frozen=True)
class CheckedParts:
    """What the parallel check of a whole file found."""

    rows: int
    written: int  # bytes written to the bulk file
    size: int  # of the CSV file
    sha256: str  # of the CSV file's bytes


def worker_count(size: int, workers: int | None) -> int:
    """How many processes check a file of `size` bytes (workers: the caller's wish, None for the default)."""
    if workers is None:
        if size < PARALLEL_MIN_BYTES:
            return 1
        try:
            cpus = len(os.sched_getaffinity(0))  # type: ignore[attr-defined,unused-ignore]  # not on macOS, Windows
        except (AttributeError, OSError):
            cpus = os.cpu_count() or 1
        workers = min(cpus, 4)
    return max(1, min(workers, size // _PART_MIN_BYTES or 1))


def split_points(path: str, size: int, count: int, first_share: float = 1.0) -> list[int]:
    """Byte offsets [0, …, size] that cut the file into `count` parts at line starts.

    first_share < 1 makes the first part that much smaller than the others (this process reads the
    whole file once more for its sha256 while the workers check theirs).
    """
    first = size * first_share / (count - 1 + first_share)
    points = [0]
    with open(path, "rb") as fh:
        for k in range(1, count):
            fh.seek(max(points[-1], int(first + (size - first) * (k - 1) / (count - 1))))
            fh.readline()
            pos = fh.tell()
            if points[-1] < pos < size:
                points.append(pos)
    points.append(size)
    return points


def _worker(job: CheckJob, start: int, end: int, out_path: str | None) -> tuple[bool, int, int, set[Key]]:
    """Check one part in a worker process: (ok, rows, bytes written, keys)."""
    seen: set[Key] = set()
    try:
        if out_path is None:
            rows, written = check_part(job, start, end, None, seen)
        else:
            with open(out_path, "wb") as out:
                rows, written = check_part(job, start, end, out, seen)
    except Exception:  # noqa: BLE001 - the caller re-checks the file sequentially for the exact message
        return False, 0, 0, set()
    return True, rows, written, seen


def check_in_parallel(job: CheckJob, size: int, count: int, out: BinaryIO | None) -> CheckedParts | None:
    """Check the parts in parallel; None when anything is wrong (then the caller checks sequentially)."""
    points = split_points(job.path, size, count, first_share=0.9)
    if len(points) < 3:
        return None
    with tempfile.TemporaryDirectory(prefix="rockway-csvcheck-") as tmp:
        paths = [None if out is None else os.path.join(tmp, f"part{k}.tsv") for k in range(len(points) - 1)]
        if "fork" not in multiprocessing.get_all_start_methods():
            return None  # spawn would re-import the caller's __main__: not something a library may do
        try:  # forked workers only run this module's code and leave with os._exit (no atexit handlers)
            pool = ProcessPoolExecutor(len(points) - 2, mp_context=multiprocessing.get_context("fork"))
        except (OSError, ValueError, NotImplementedError):
            return None
        with pool:
            try:
                futures = [pool.submit(_worker, job, points[k], points[k + 1], paths[k]) for k in range(1, len(points) - 1)]
            except Exception:  # noqa: BLE001 - no worker processes here: check sequentially
                return None
            seen: set[Key] = set()
            start = out.tell() if out is not None else 0
            rows, written = check_part(job, 0, points[1], out, seen)  # errors in the first part are the first errors
            digest_size, sha = file_digest(Path(job.path))
            try:
                results = [f.result() for f in futures]
            except Exception:  # noqa: BLE001 - a worker died: check sequentially
                results = [(False, 0, 0, set())]
        ok = all(r[0] for r in results)
        for r in results:
            if not ok:
                break
            if not seen.isdisjoint(r[3]):
                ok = False  # a key repeats across parts: the sequential check names both lines
            seen |= r[3]
        if not ok:
            if out is not None:
                out.seek(start)
                out.truncate()
            return None
        for k, r in enumerate(results, 1):
            rows += r[1]
            written += r[2]
            part_path = paths[k]
            if out is not None and part_path is not None:
                with open(part_path, "rb") as part:
                    shutil.copyfileobj(part, out, 1 << 20)
    return CheckedParts(rows=rows, written=written, size=digest_size, sha256=sha)
