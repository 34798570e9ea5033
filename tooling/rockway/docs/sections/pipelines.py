"""Running the pipelines: historical, incremental and backfill loads with verification (`running-pipelines`) and
the cron.d schedule in words (`cron-schedule`)."""

from __future__ import annotations

from rockway.cron import rockway_argv
from rockway.docs.context import DocsContext
from rockway.docs.cron import describe_schedule
from rockway.docs.sections.markdown import code, fence, table

__all__ = ["running_pipelines", "cron_schedule"]


BACKFILL_FROM, BACKFILL_TO = "2025-01-01", "2025-12-31"


def running_pipelines(ctx: DocsContext) -> str:
    env = ctx.env_flag()
    out: list[str] = []
    if ctx.pipelines:
        rows = []
        for name, p in ctx.pipelines.items():
            steps = []
            for s in p.get("steps") or []:
                if not isinstance(s, dict) or not s:
                    continue
                kind, value = next(iter(s.items()))
                if isinstance(value, list) and value:
                    steps.append(f"{kind} ({', '.join(ctx.render_name(str(x)) for x in value)})")
                elif isinstance(value, str):
                    steps.append(f"{kind} ({value})")
                else:
                    steps.append(kind)
            rows.append((code(name), p.get("description", ""), " → ".join(steps)))
        out.append("Pipelines of jobs/pipelines.yaml:\n\n" + table(["Pipeline", "What it does", "Steps"], rows))
    if ctx.jobs:
        job_rows = []
        for name, j in ctx.jobs.items():
            wm = j.get("watermark") or {}
            job_rows.append((code(name), j.get("kind", ""), j.get("source", ""), code(ctx.render_name(str(j.get("target", "")))),
                         j.get("mode", ""), f"{wm.get('column', '')} ({wm.get('type', '')})" if wm else "",
                         ", ".join(ctx.pipelines_of(name)) or "-"))
        out.append("Jobs of jobs/*.yaml:\n\n" + table(["Job", "Kind", "Source", "Target", "Mode", "Watermark", "Pipelines"], job_rows))
    incremental = [n for n, j in ctx.jobs.items() if j.get("mode") == "incremental"]
    verify_pipelines = [name for name, p in ctx.pipelines.items()
                        if any(isinstance(s, dict) and "verify" in s for s in p.get("steps") or [])]
    dated = [n for n in incremental if (ctx.jobs[n].get("watermark") or {}).get("type") in ("date", "datetime")]
    if dated:
        cmds = [f"rockway job backfill {n} --from {BACKFILL_FROM} --to {BACKFILL_TO}{env}" for n in _dependency_order(ctx, dated)]
        out.append("**Historical load.** Load a date range in chunks (the spec's `chunk`, or `--chunk day|month`); chunks "
                   "recorded as done are skipped, so an interrupted backfill is resumed by running it again. Load the "
                   "jobs in dependency order:\n\n" + fence("\n".join(cmds)))
    if ctx.pipelines or incremental:
        cmds = [f"rockway run {name}{env}" for name in ctx.pipelines]
        if incremental:
            cmds.append(f"rockway job run {incremental[0]}{env}    # one job: the next window after its watermark")
        cmds += [f"rockway job status{env}", f"rockway job watermarks{env}"]
        out.append("**Incremental load.** Each job loads the window after its watermark (minus its lookback) and moves "
                   "the watermark only after the load committed and its CRITICAL checks passed:\n\n" + fence("\n".join(cmds)))
    if dated:
        n = next((x for x in dated if ctx.jobs[x].get("kind") == "fact"), dated[0])
        check = ""
        if ctx.check_files and verify_pipelines:
            check = (f"\nrockway verify --pipeline {verify_pipelines[0]} --scope window_start=2026-03-01 "
                     f"--scope window_end=2026-03-04{env}")
        out.append("**Backfill** a few days again (after a source correction), then re-check them:\n\n"
                   + fence(f"rockway job render {n} --engine starrocks --from 2026-03-01 --to 2026-03-03    # the SQL, no database\n"
                           f"rockway job backfill {n} --from 2026-03-01 --to 2026-03-03{env}" + check))
    if ctx.check_files:
        lines = []
        scope = "--scope window_start=2026-03-01 --scope window_end=2026-03-02"
        for name in verify_pipelines:
            lines.append(f"rockway verify --pipeline {name} {scope}{env}")
        lines.append("rockway verify --explain --scope window_start=2026-03-01 --scope window_end=2026-03-02    # the SQL, no database")
        files = ", ".join(f for f, _ in ctx.check_files)
        out.append(f"**Verification.** The checks of {files} run as one aggregate query per table and scope; a "
                   "CRITICAL failure exits 1 and blocks the pipeline's later steps:\n\n" + fence("\n".join(lines)))
    return "\n".join(out)


def _dependency_order(ctx: DocsContext, names: list[str]) -> list[str]:
    order: list[str] = []
    kind_rank = {"staging": 0, "dimension": 1, "fact": 2}

    def visit(n: str, stack: tuple[str, ...] = ()) -> None:
        if n in order or n in stack or n not in names:
            return
        for d in ctx.jobs[n].get("depends_on") or []:
            visit(d, stack + (n,))
        order.append(n)

    for n in sorted(names, key=lambda x: (kind_rank.get(str(ctx.jobs[x].get("kind")), 1), x)):
        visit(n)
    return order


# --- cron schedule ------------------------------------------------------------------------------------
def cron_schedule(ctx: DocsContext) -> str:
    if not ctx.cron_files:
        return "No cron.d files.\n"
    out = []
    for f in ctx.cron_files:
        rows = []
        for e in f.entries:
            argv = rockway_argv(e.command)
            job = code(" ".join(argv)) if argv else code(e.command)
            purpose = e.comment
            if not purpose and argv and len(argv) > 2 and argv[1] == "run":
                purpose = str(ctx.pipelines.get(argv[2], {}).get("description", ""))
            rows.append((job, code(e.schedule), describe_schedule(e.schedule), e.time_zone or "system time zone",
                         e.user, purpose or "-"))
        text = f"`{f.path}`"
        if f.env.get("CRON_TZ"):
            text += f" (schedules read in `CRON_TZ={f.env['CRON_TZ']}`)"
        out.append(text + ":\n\n" + table(["Job", "Schedule", "When", "Time zone", "User", "Purpose"], rows))
        if f.problems:
            out.append("Problems: " + "; ".join(map(str, f.problems)) + "\n")
    out.append("Next run times depend on the clock, so they are not written here: `rockway schedule` lists them "
               "(and checks each line and command).\n")
    return "\n".join(out)
