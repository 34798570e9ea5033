"""Planner cases from tests/cases/planner/*.yaml: pure, no database."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rockway.migrate.discovery import parse_name
from rockway.model import AppliedRow, Kind, RowStatus, RowType, Script, Version
from rockway.migrate.planner import Options, describe, plan_rollback, plan_up
from tests.support.paths import CASES_DIR

CASES = CASES_DIR / "planner"


def _load(name: str) -> list[dict]:
    return yaml.safe_load((CASES / name).read_text())


def _script(stem: str) -> Script:
    parsed = parse_name(stem + ".sql")
    assert parsed, stem
    kind, version, description = parsed
    return Script(kind, Version.parse(version) if version else None, description, Path(stem + ".sql"), stem + ".sql",
                  f"c-{stem}", "")


def _rows(specs: list[dict], scripts: list[Script]) -> list[AppliedRow]:
    rows = []
    for rank, spec in enumerate(specs, start=1):
        version = Version.parse(spec["version"]) if "version" in spec else None
        match = next((s for s in scripts if s.kind in (Kind.VERSIONED, Kind.REPEATABLE) and s.version == version
                      and (version is not None or s.description == spec["description"])), None)
        checksum = spec.get("checksum", match.checksum if match else "c-gone")
        status = RowStatus(spec.get("status", "success"))
        rows.append(AppliedRow(
            installed_rank=rank, version=version, description=spec["description"], type=RowType(spec.get("type", "SQL")),
            script=match.name if match else "gone.sql", checksum=checksum, installed_by="t", installed_on=None,
            execution_time=0, success=spec.get("success", True), status=status,
            statements_total=spec.get("statements_total", 1), statements_applied=spec.get("statements_applied", 1),
            pending_statement=spec.get("pending_statement"), error=spec.get("error"),
            error_statement=spec.get("error_statement")))
    return rows


def _label(kind: Kind, version: Version | None, description: str) -> str:
    return f"R {description}" if version is None else f"{kind.value}{version}"


def _step(step) -> str:  # type: ignore[no-untyped-def]
    label = _label(step.script.kind, step.script.version, step.script.description)
    text = f"{step.action.value} {label}"
    return text + (f" at {step.start_at}" if step.action.value == "continue" else "")


def _check(case: dict, plan, scripts) -> None:  # type: ignore[no-untyped-def]
    assert [_step(s) for s in plan.steps] == case.get("steps", []), case["name"]
    states = {_label(i.kind, i.version, i.description): i.state.value for i in plan.infos}
    for label, state in case.get("states", {}).items():
        assert states.get(label) == state, (case["name"], label, states)
    mismatched = sorted(_label(i.kind, i.version, i.description) for i in plan.infos if i.checksum_mismatch)
    assert mismatched == sorted(case.get("mismatch", [])), case["name"]
    expected = case.get("blockers", [])
    if expected:
        text = "\n".join(plan.blockers)
        for fragment in expected:
            assert fragment in text, (case["name"], text)
    else:
        assert plan.blockers == (), (case["name"], plan.blockers)


@pytest.mark.parametrize("case", _load("up.yaml"), ids=lambda c: c["name"])
def test_plan_up(case: dict) -> None:
    scripts = [_script(s) for s in case["scripts"]]
    rows = _rows(case["history"], scripts)
    opts = case.get("options", {})
    options = Options(target=Version.parse(opts["target"]) if opts.get("target") else None,
                      out_of_order=opts.get("out_of_order", False), resume=opts.get("resume", False))
    _check(case, plan_up(scripts, rows, options), scripts)


@pytest.mark.parametrize("case", _load("rollback.yaml"), ids=lambda c: c["name"])
def test_plan_rollback(case: dict) -> None:
    scripts = [_script(s) for s in case["scripts"]]
    rows = _rows(case["history"], scripts)
    rb = case.get("rollback", {})
    plan = plan_rollback(scripts, rows, steps=rb.get("steps"), to=Version.parse(rb["to"]) if "to" in rb else None)
    _check(case, plan, scripts)


def test_describe_lists_each_version_once() -> None:
    scripts = [_script(s) for s in ["V1__one", "V2__two", "U2__two"]]
    rows = _rows([{"version": "1", "description": "one"}, {"version": "2", "description": "two"},
                  {"version": "2", "description": "two", "type": "UNDO_SQL"}, {"version": "2", "description": "two"}],
                 scripts)
    infos = describe(scripts, rows)
    versioned = [i for i in infos if i.kind is Kind.VERSIONED]
    assert [(str(i.version), i.state.value) for i in versioned] == [("1", "applied"), ("2", "applied")]
