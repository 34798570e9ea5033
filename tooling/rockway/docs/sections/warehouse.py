"""The warehouse itself: its tables and views (`table-catalog`), their live row counts (`live-snapshot`, the one
section that reads a database and the clock, only under `docs update --live`) and its migrations
(`migration-history`)."""

from __future__ import annotations

from typing import Any

from rockway.cron import rockway_argv
from rockway.docs.context import DocsContext
from rockway.docs.sections.markdown import code, fence, table
from rockway.model import Kind, Version

__all__ = ["table_catalog", "live_snapshot", "migration_history"]


def _key(e: Any) -> str:
    return f"{e.key_model} ({e.key_columns})" if e.key_model else ""


def table_catalog(ctx: DocsContext) -> str:
    rows = [(code(t.name), code(t.database), code(_key(t)) if t.key_model else "", code(t.partitioning) if t.partitioning else "-",
             code(t.distribution) if t.distribution else "", t.purpose, t.source, t.refresh, t.owner) for t in ctx.tables]
    out = (f"From each migration's header comment and its DDL rendered for StarRocks (environment "
           f"`{ctx.env or 'default'}`):\n\n")
    out += table(["Table", "Database", "Key model", "Partitioning", "Distribution", "Description", "Source",
                  "Refresh", "Owner"], rows)
    if ctx.views:
        out += "\nViews and materialized views (repeatable/):\n\n"
        out += table(["Name", "Database", "Kind", "Description", "Source", "Refresh", "Owner"],
                     [(code(v.name), code(v.database), v.kind, v.purpose, v.source, v.refresh, v.owner) for v in ctx.views])
    return out


def live_snapshot(ctx: DocsContext) -> str:
    live = ctx.live
    if live is None:
        return ("Not taken yet: `rockway docs update --live" + ctx.env_flag() + "` writes row counts and the next cron "
                "runs here (`rockway docs check` never queries a database and keeps this section as it is).\n")
    stamp = live.taken_at.strftime("%Y-%m-%d %H:%M UTC")
    out = f"Taken {stamp} from environment `{live.env or 'default'}` by `rockway docs update --live`.\n\n"
    if live.error:
        out += f"Row counts unavailable: {live.error}\n\n"
    else:
        out += table(["Table", "Rows"], [(code(k), f"{v:,}" if isinstance(v, int) else v) for k, v in live.row_counts.items()])
    if live.next_runs:
        rows = []
        for f in ctx.cron_files:
            for e in f.entries:
                argv = rockway_argv(e.command)
                runs = live.next_runs.get((f.path, e.line), [])
                rows.append((code(" ".join(argv) if argv else e.command), ", ".join(t.strftime("%a %Y-%m-%d %H:%M %Z") for t in runs)))
        out += "\nNext runs:\n\n" + table(["Job", "Next runs"], rows)
    return out


# --- migration history --------------------------------------------------------------------------------
def migration_history(ctx: DocsContext) -> str:
    v, u, r = (ctx.scripts_of(k) for k in (Kind.VERSIONED, Kind.UNDO, Kind.REPEATABLE))
    v = sorted(v, key=lambda s: s.version or Version.parse("0"))  # a V script always has a version
    undone = {s.version for s in u}
    newest = v[-1] if v else None
    missing_undo = [s for s in v if s.version not in undone]
    env = ctx.env_flag()
    rows = [("Versioned (V)", len(v), f"newest: `V{newest.version}` {newest.description}" if newest else "-"),
            ("Undo (U)", len(u), "every V has its U" if v and not missing_undo else
             ("without U: " + ", ".join(f"V{s.version}" for s in missing_undo)) if missing_undo else "-"),
            ("Repeatable (R)", len(r), ", ".join(s.description for s in r) or "-")]
    out = table(["Scripts", "Count", "Notes"], rows)
    if v:
        out += "\nVersions: " + " · ".join(f"`V{s.version}` {s.description}" for s in v) + "\n"
    previous = v[-2].version if len(v) >= 2 else None
    out += ("\nHow a reviewer audits a release: `migrate history` lists every applied script with who ran it, when, "
            "from which host, how long it took, its status, the sha256 checksum of the file, the git commit and the "
            "OpenTelemetry trace id (open the trace in SigNoz to see each statement and async job); `--since` and "
            "`--until` (UTC) keep one period, `--last N` the newest rows. `migrate validate` exits 1 when a file no "
            "longer matches its recorded checksum.\n\n")
    cmds = [f"rockway migrate history{env} --since 2026-01-01 --until 2026-04-01 --csv > audit-q1.csv",
            f"rockway migrate info{env}", f"rockway migrate validate{env}"]
    if previous is not None:
        cmds.append(f"rockway migrate rollback --to {previous}{env} --dry-run    # what undoing the newest release would run")
    out += fence("\n".join(cmds))
    return out
