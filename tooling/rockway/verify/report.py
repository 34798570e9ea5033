"""JSON and CSV reports of one verification run (the file side of the audit trail)."""

from __future__ import annotations

import csv
import json
import math
from datetime import datetime
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Mapping

from rockway import __version__
from rockway.interfaces import VerificationOutcome
from rockway.verify.compiler import Plan
from rockway.verify.evaluate import CheckResult

CSV_COLUMNS = ("checked_at", "run_id", "trace_id", "pipeline", "check_name", "table_name", "check_scope", "scope_label",
               "check_type", "severity", "status", "observed_value", "expected", "message", "sql_hash", "file", "line")


@dataclass(frozen=True)
class VerifyRun:
    """Everything one verification did: the plan, what ran, the results and where they were written."""

    run_id: str
    trace_id: str | None
    pipeline: str | None
    checked_at: datetime  # UTC, naive
    engine: str
    scope: Mapping[str, Any]
    plan: Plan
    results: tuple[CheckResult, ...]
    executed: tuple[str, ...] = ()  # ids of statements sent to the server
    query_errors: Mapping[str, str] = field(default_factory=dict)
    timings: Mapping[str, float] = field(default_factory=dict)
    recorded: bool = False
    reports: tuple[Path, ...] = ()

    @property
    def outcome(self) -> VerificationOutcome:
        return VerificationOutcome(tuple(r.summary() for r in self.results))


def _number(value: float | None) -> float | None:
    return None if value is None or math.isinf(value) or math.isnan(value) else value


def _stamp(when: datetime) -> str:
    return when.isoformat(timespec="seconds") + "Z"


def to_dict(run: VerifyRun) -> dict[str, Any]:
    """The JSON report: run identity, statements (with hashes) and one entry per check."""
    by_status: dict[str, int] = {}
    for r in run.results:
        by_status[r.status] = by_status.get(r.status, 0) + 1
    worst = run.outcome.worst_failed
    return {
        "report": "rockway verify", "version": 1, "rockway_version": __version__,
        "run_id": run.run_id, "trace_id": run.trace_id, "pipeline": run.pipeline, "checked_at": _stamp(run.checked_at),
        "engine": run.engine, "scope": {k: str(v) for k, v in run.scope.items()},
        "summary": {"checks": len(run.results), **by_status, "worst_failed": worst.value if worst else None,
                    "blocks": run.outcome.blocks},
        "recorded": run.recorded,
        "statements": [{"id": q.id, "kind": q.kind, "table": q.table, "scope": q.scope, "sql_hash": q.sql_hash,
                        "sql": q.sql, "params": [str(p) for p in q.params], "checks": list(q.checks),
                        "status": "error" if q.id in run.query_errors else ("run" if q.id in run.executed else "not run"),
                        "seconds": round(run.timings.get(q.id, 0.0), 4)}
                       for q in run.plan.queries],
        "results": [{"check_name": r.name, "table_name": r.table, "check_type": r.kind, "check_scope": r.where,
                     "scope_label": r.scope, "severity": r.severity.value, "status": r.status,
                     "observed_value": _number(r.value), "expected": r.bounds, "message": r.message,
                     "sql_hash": list(r.sql_hashes), "file": r.file, "line": r.line} for r in run.results],
    }


def write_reports(run: VerifyRun, folder: Path) -> tuple[Path, Path]:
    """Write `verify_<UTC time>_<run_id>.json` and `.csv` into folder; return both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"verify_{run.checked_at.strftime('%Y%m%dT%H%M%SZ')}_{run.run_id}"
    json_path, csv_path = folder / f"{stem}.json", folder / f"{stem}.csv"
    n = 1
    while json_path.exists() or csv_path.exists():  # several verifications of one run in the same second
        n += 1
        json_path, csv_path = folder / f"{stem}_{n}.json", folder / f"{stem}_{n}.csv"
    json_path.write_text(json.dumps(to_dict(run), indent=2, default=str) + "\n", encoding="utf-8")
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for r in run.results:
            value = _number(r.value)
            writer.writerow([_stamp(run.checked_at), run.run_id, run.trace_id or "", run.pipeline or "", r.name, r.table,
                             r.where or "", r.scope, r.kind, r.severity.value, r.status,
                             "" if value is None else repr(value), r.bounds, r.message, " ".join(r.sql_hashes), r.file,
                             r.line])
    return json_path, csv_path
