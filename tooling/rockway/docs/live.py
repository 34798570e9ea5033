"""What `rockway docs update --live` adds to the README: facts of the caller's environment and of "now".

Row counts of the catalog's tables (one `COUNT(*)` each, docs/catalog.py) and the next three runs of every
cron.d entry. Only this module of docs/ connects to a database or reads the clock (docs/context.py says why).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from rockway.adapters import connect
from rockway.config import Settings
from rockway.cron import next_runs
from rockway.docs.catalog import row_counts
from rockway.docs.context import DocsContext, LiveData

__all__ = ["read_live"]

NEXT_RUNS = 3


def read_live(project: Path, settings: Settings, now: datetime | None = None) -> LiveData:
    """The live facts of `settings`' environment at `now` (default: the clock, UTC)."""
    context = DocsContext(project, settings)
    now = now or datetime.now(timezone.utc)
    runs = {(f.path, e.line): next_runs(e, NEXT_RUNS, now) for f in context.cron_files for e in f.entries}
    adapter = connect(settings)
    try:
        counts = row_counts(context.tables, adapter.query, adapter.quote_ident)
    finally:
        adapter.close()
    return LiveData(env=settings.env, taken_at=now, row_counts=counts, next_runs=runs)
