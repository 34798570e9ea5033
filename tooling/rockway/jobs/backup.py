"""The evening backup: back up the warehouse databases, then keep only the newest N backups.

The engine does the work (adapters/*_jobs.py): StarRocks `BACKUP SNAPSHOT db.rw_<db>_<stamp> TO <repo>`
waited for with SHOW BACKUP; MySQL/MariaDB `mariadb-dump` files. A failed backup raises, and the
pipeline stops before the dimension loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from rockway.adapters.base import Adapter
from rockway.adapters.job_ops import BackupInfo, BackupRequest
from rockway.adapters.registry import job_ops
from rockway.clock import utcnow
from rockway.jobs.settings import BackupSettings


@dataclass
class BackupReport:
    made: list[BackupInfo] = field(default_factory=list)
    retention: list[str] = field(default_factory=list)  # what retention did, one line per backup

    def summary(self) -> str:
        made = ", ".join(f"{b.name} ({b.detail})" if b.detail else b.name for b in self.made)
        return f"backed up: {made or 'nothing'}" + (f"; retention: {'; '.join(self.retention)}" if self.retention else "")


def backup_request(cfg: BackupSettings, databases: Sequence[str], project_dir: Path, *, retain: int | None = None,
                   stamp: str | None = None) -> tuple[BackupRequest, int]:
    folder = Path(cfg.folder)
    if not folder.is_absolute():
        folder = project_dir / folder
    req = BackupRequest(stamp=stamp or utcnow().strftime("%Y%m%dT%H%M%S"), databases=tuple(databases), folder=folder,
                        repository=cfg.repository, location=cfg.location, dump_command=cfg.dump_command,
                        delete_command=cfg.delete_command, timeout=cfg.timeout, poll_interval=cfg.poll_interval)
    return req, retain if retain is not None else cfg.retain


def run_backup(adapter: Adapter, req: BackupRequest, retain: int, on_event: Callable[[str], Any] = lambda m: None) -> BackupReport:
    """Back up every database in req, then delete all but the newest `retain` backups of each."""
    ops = job_ops(adapter)
    report = BackupReport(made=ops.backup(req, on_event))
    for database in req.databases:
        existing = ops.list_backups(req, database)
        for old in existing[: max(0, len(existing) - retain)]:
            report.retention.append(ops.delete_backup(req, old))
    return report
