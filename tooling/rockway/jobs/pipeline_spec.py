"""Pipelines (jobs/pipelines.yaml): the spec of each pipeline, its ordered steps, and their validation.

    pipelines:
      evening:
        steps:
          - backup: {retain: 7}                 # engine backup of [jobs.backup] databases; failure stops the rest
          - jobs: [dim_customer, dim_material]  # concurrently (depends_on; dimensions before facts)
          - notify: {}
      morning:
        steps:
          - jobs: [stg_billing_item, fact_sales]
          - refresh: ["{{ dw_db }}.mv_sales_daily"]   # StarRocks: REFRESH … WITH SYNC MODE; MySQL: nothing
          - sql: sql/dim_sales_group.sql        # business-logic statements (templates)
          - verify: [fact_sales_reconciles]     # checks through the Verifier; CRITICAL failure fails the run
          - drift: {severity: warning}          # schema changed outside migrations (schema/api.py drift_check)
          - mv: {severity: warning}             # inactive or stale MVs, as `rockway mv status` reads them (mv/status.py)
          - notify: {}                          # RunSummary to the Notifier (runs even after a failure)

Running them: rockway/jobs/pipeline.py; the bodies of the steps other than `jobs` and `notify`:
rockway/jobs/pipeline_steps.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from rockway.jobs.spec import JobSpec
from rockway.yamlsrc import Doc, Problem, load_doc

__all__ = ["STEP_KINDS", "PipelineStep", "PipelineSpec", "parse_pipelines", "load_pipelines"]

STEP_KINDS = ("backup", "jobs", "refresh", "sql", "verify", "drift", "mv", "notify")


@dataclass(frozen=True)
class PipelineStep:
    kind: str
    args: Any
    line: int | None = None


@dataclass(frozen=True)
class PipelineSpec:
    name: str
    steps: tuple[PipelineStep, ...]
    description: str = ""


def parse_pipelines(doc: Doc, specs: Mapping[str, JobSpec], jobs_dir: Path) -> tuple[dict[str, PipelineSpec], list[Problem]]:
    """Validate pipelines.yaml: known step kinds, known jobs, existing SQL files."""
    problems: list[Problem] = []
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("pipelines"), dict):
        return {}, [doc.problem("expected `pipelines:` mapping pipeline names to {steps: [...]}", "pipelines")]
    out: dict[str, PipelineSpec] = {}
    for name, body in data["pipelines"].items():
        where = ("pipelines", name)
        if not isinstance(body, dict) or not isinstance(body.get("steps"), list) or not body["steps"]:
            problems.append(doc.problem("needs steps: a list of backup/jobs/refresh/sql/verify/notify", *where))
            continue
        for key in body:
            if key not in ("steps", "description"):
                problems.append(doc.problem("unknown field (known: description, steps)", *where, key))
        steps = []
        for i, raw in enumerate(body["steps"]):
            path = (*where, "steps", i)
            if not isinstance(raw, dict) or len(raw) != 1:
                problems.append(doc.problem(f"a step is one of {', '.join(STEP_KINDS)}: {{kind: args}}", *path))
                continue
            kind, args = next(iter(raw.items()))
            if kind not in STEP_KINDS:
                problems.append(doc.problem(f"unknown step {kind!r} (known: {', '.join(STEP_KINDS)})", *path, kind))
                continue
            if kind in ("jobs", "refresh", "verify"):
                if not isinstance(args, list) or not all(isinstance(a, str) for a in args) or not args:
                    problems.append(doc.problem("must be a non-empty list of names", *path, kind))
                    continue
                if kind == "jobs":
                    for j, job in enumerate(args):
                        if job not in specs:
                            problems.append(doc.problem(f"unknown job {job!r}", *path, kind, j))
            elif kind == "sql":
                if not isinstance(args, str) or not (jobs_dir / args).is_file():
                    problems.append(doc.problem(f"SQL file {args!r} not found in {jobs_dir.name}/", *path, kind))
                    continue
            elif args is not None and not isinstance(args, dict):
                problems.append(doc.problem("must be a mapping (or {})", *path, kind))
                continue
            elif kind == "backup" and args:
                bad = set(args) - {"retain", "databases"}
                if bad:
                    problems.append(doc.problem(f"unknown field(s) {', '.join(sorted(bad))} (known: retain, databases)",
                                                *path, kind))
            elif kind == "drift" and args:
                problems += _drift_problems(doc, args, path)
            elif kind == "mv" and args:
                problems += _mv_problems(doc, args, path)
            steps.append(PipelineStep(kind, args or ({} if kind in ("backup", "drift", "notify") else args), doc.line(*path)))
        out[str(name)] = PipelineSpec(str(name), tuple(steps), str(body.get("description") or ""))
    return out, problems


def _drift_problems(doc: Doc, args: dict[str, Any], path: tuple[Any, ...]) -> list[Problem]:
    """`drift: {severity: warning|critical}` (schema/api.py drift_check)."""
    from rockway.schema.api import DRIFT_SEVERITIES

    bad = set(args) - {"severity"}
    if bad:
        return [doc.problem(f"unknown field(s) {', '.join(sorted(bad))} (known: severity)", *path, "drift")]
    if "severity" in args and str(args["severity"]).lower() not in DRIFT_SEVERITIES:
        return [doc.problem(f"severity must be one of {', '.join(DRIFT_SEVERITIES)}", *path, "drift", "severity")]
    return []


def _mv_problems(doc: Doc, args: Any, path: tuple[Any, ...]) -> list[Problem]:
    """`mv: {severity: warning|critical}` (mv/status.py status_check)."""
    from rockway.mv.status import MV_CHECK_SEVERITIES

    if not isinstance(args, dict):
        return [doc.problem("mv takes {severity: warning|critical} or {}", *path, "mv")]
    bad = set(args) - {"severity"}
    if bad:
        return [doc.problem(f"unknown field(s) {', '.join(sorted(bad))} (known: severity)", *path, "mv")]
    if "severity" in args and str(args["severity"]).lower() not in MV_CHECK_SEVERITIES:
        return [doc.problem(f"severity must be one of {', '.join(MV_CHECK_SEVERITIES)}", *path, "mv", "severity")]
    return []


def load_pipelines(jobs_dir: Path, specs: Mapping[str, JobSpec], display: str) -> tuple[dict[str, PipelineSpec], list[Problem]]:
    path = jobs_dir / "pipelines.yaml"
    if not path.is_file():
        return {}, []
    return parse_pipelines(load_doc(path, display), specs, jobs_dir)
