"""A small, real Verifier and Notifier for the job tests (loaded through [jobs] verifier/notifier = "module:factory").

The Verifier runs one SQL query per named check against the database the job is connected to (MariaDB
here): the query counts offending rows; the check passes when the count is 0. A check name it does not know
is an `error` (CRITICAL), never a silent pass. Every call is appended to ROCKWAY_TEST_VERIFY_LOG (JSON lines)
so tests can see what ran and with which scope. The Notifier appends each RunSummary to
ROCKWAY_TEST_NOTIFY_FILE. Extra checks can be added by tests through ROCKWAY_TEST_EXTRA_CHECKS (a JSON
object name -> [severity, sql]).
"""

from __future__ import annotations

import json
import os
from typing import Any, Mapping, Sequence

from rockway.interfaces import CheckSummary, RunSummary, Severity, VerificationOutcome

CHECKS: dict[str, tuple[str, str]] = {
    "fact_sales_unique_items": (
        "CRITICAL",
        "SELECT COUNT(*) FROM (SELECT billing_document, billing_item FROM {dw}.fact_sales "
        "GROUP BY billing_document, billing_item HAVING COUNT(*) > 1) AS d"),
    "fact_sales_customer_known": (
        "CRITICAL",
        "SELECT COUNT(*) FROM {dw}.fact_sales AS f WHERE f.billing_date >= '{window_start}' "
        "AND f.billing_date < '{window_end}' AND NOT EXISTS (SELECT 1 FROM {dw}.dim_customer AS c "
        "WHERE c.customer_id = f.customer_id AND c.is_current = TRUE)"),
    "dim_customer_one_current_version": (
        "CRITICAL",
        "SELECT COUNT(*) FROM (SELECT customer_id FROM {dw}.dim_customer WHERE is_current = TRUE "
        "GROUP BY customer_id HAVING COUNT(*) > 1) AS d"),
}


class SqlVerifier:
    def __init__(self, variables: Mapping[str, Any]) -> None:
        self.variables = {"dw": variables.get("dw_db"), "raw": variables.get("raw_db"), "etl": variables.get("etl_db")}
        self.checks = dict(CHECKS)
        extra = os.environ.get("ROCKWAY_TEST_EXTRA_CHECKS")
        if extra:
            self.checks.update({k: tuple(v) for k, v in json.loads(extra).items()})  # type: ignore[misc]
        self.log = os.environ.get("ROCKWAY_TEST_VERIFY_LOG")

    def verify(self, adapter: Any, *, checks: Sequence[str], scope: Mapping[str, Any], run_id: str,
               pipeline: str | None = None) -> VerificationOutcome:
        results = []
        for name in checks:
            if name not in self.checks:
                results.append(CheckSummary(name, None, Severity.CRITICAL, "error", message="unknown check"))
                continue
            severity, sql = self.checks[name]
            text = sql.format(**self.variables, **{k: v for k, v in scope.items() if v is not None})
            count = int(adapter.query(text)[0][0])
            results.append(CheckSummary(name, None, Severity(severity), "pass" if count == 0 else "fail",
                                        value=float(count), bounds="[0, 0]",
                                        message="" if count == 0 else f"{count} offending row(s)"))
        if self.log:
            with open(self.log, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({"checks": list(checks), "scope": dict(scope), "run_id": run_id, "pipeline": pipeline,
                                     "results": [[r.name, r.status] for r in results]}, default=str) + "\n")
        return VerificationOutcome(tuple(results))


class FileNotifier:
    def __init__(self, path: str | None) -> None:
        self.path = path

    def notify(self, summary: RunSummary) -> None:
        if not self.path:
            return
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"pipeline": summary.pipeline, "status": summary.status, "run_id": summary.run_id,
                                 "jobs": dict(summary.jobs), "rows": dict(summary.rows), "error": summary.error,
                                 "failed_checks": [c.name for c in summary.checks.failed]}) + "\n")


def make_verifier(settings: Any) -> SqlVerifier:
    return SqlVerifier(settings.vars)


def make_notifier(settings: Any) -> FileNotifier:
    return FileNotifier(os.environ.get("ROCKWAY_TEST_NOTIFY_FILE"))
