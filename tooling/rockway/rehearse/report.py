"""A Rehearsal as JUnit XML (CI test reports) and as Markdown (a pull-request comment, $GITHUB_STEP_SUMMARY).

JUnit: one <testsuite> per suite of model.SUITES that has cases, one <testcase> per case (classname
`rockway.rehearse.<suite>`), <failure message="…"> with the detail as text, <skipped message="…"/>; the
root <testsuites> carries the totals. Markdown: the verdict, the migrations with durations and the async jobs
waited for, the failures, the schema files' diff (--schema-dir), lint findings and the schema diff. Neither
carries a password: the server is shown as config.redact_dsn prints it, and every text passes
redaction.redact_secrets.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from rockway.observability.redaction import redact_secrets
from rockway.rehearse.model import SCHEMA_FILES, SUITES, Case, Rehearsal

_XML_INVALID = dict.fromkeys(c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D))


def _clean(text: str) -> str:
    """Text allowed in XML 1.0, secrets masked."""
    return redact_secrets(text).translate(_XML_INVALID)


def junit_xml(result: Rehearsal) -> str:
    root = ET.Element("testsuites", name="rockway rehearse", tests=str(len(result.cases)),
                      failures=str(len(result.failures)), errors="0",
                      skipped=str(sum(1 for c in result.cases if c.skipped)), time=f"{result.seconds:.3f}")
    for suite in SUITES:
        cases = [c for c in result.cases if c.suite == suite]
        if not cases:
            continue
        node = ET.SubElement(root, "testsuite", name=suite, tests=str(len(cases)),
                             failures=str(sum(1 for c in cases if c.failure)), errors="0",
                             skipped=str(sum(1 for c in cases if c.skipped)),
                             time=f"{sum(c.seconds for c in cases):.3f}")
        for case in cases:
            node.append(_case(case))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _case(case: Case) -> ET.Element:
    item = ET.Element("testcase", name=_clean(case.name), classname=f"rockway.rehearse.{case.suite.replace(' ', '_')}",
                      time=f"{case.seconds:.3f}")
    if case.failure:
        failure = ET.SubElement(item, "failure", message=_clean(case.failure), type=case.suite)
        failure.text = _clean(case.detail or case.failure)
    elif case.skipped:
        ET.SubElement(item, "skipped", message=_clean(case.skipped))
    elif case.detail:
        ET.SubElement(item, "system-out").text = _clean(case.detail)
    return item


def _cell(text: str) -> str:
    return redact_secrets(text).replace("|", "\\|").replace("\n", " ")


def markdown(result: Rehearsal) -> str:
    verdict = "passed" if result.passed else f"FAILED ({len(result.failures)} failure(s))"
    mode = "from empty, with the undo round trip" if result.mode == "from-empty" else "pending migrations only"
    lines = [f"## rockway rehearse: {verdict}", "",
             f"{result.engine or 'server'} `{redact_secrets(result.server)}`, {mode}"
             + (f", names prefixed `{result.prefix}`" if result.prefix else "") + f", {result.seconds:.1f} s.", ""]
    counts = {s: [c for c in result.cases if c.suite == s] for s in SUITES}
    lines += ["| check | passed | failed | skipped |", "|---|---:|---:|---:|"]
    for suite, cases in counts.items():
        if cases:
            lines.append(f"| {suite} | {sum(c.status == 'passed' for c in cases)} | "
                         f"{sum(c.status == 'failed' for c in cases)} | {sum(c.status == 'skipped' for c in cases)} |")
    if result.failures:
        lines += ["", "### Failures", ""]
        for case in result.failures:
            lines.append(f"- **{_cell(case.suite)}: {_cell(case.name)}**: {_cell(case.failure or '')}")
            if case.detail and case.detail != case.failure:
                lines += ["", "  ```text", *(f"  {line}" for line in redact_secrets(case.detail).splitlines()[:40]),
                          "  ```"]
    if result.applied:
        lines += ["", "### Migrations", "", "| phase | script | statements | seconds | async jobs waited for |",
                  "|---|---|---:|---:|---|"]
        for a in result.applied:
            lines.append(f"| {a.phase} | {_cell(a.script)} | {a.statements} | {a.seconds:.2f} | "
                         f"{_cell(', '.join(a.async_jobs)) or '-'} |")
    if result.schema_dir is not None:
        lines += ["", "### Schema files", ""]
        if result.schema_files_diff:
            lines += [f"`{_cell(result.schema_dir)}` differs from the migrated schema (`-` the files, `+` the server):",
                      "", "```diff", *redact_secrets(result.schema_files_diff).splitlines()[:400], "```"]
        elif any(c.suite == SCHEMA_FILES and c.failure for c in result.cases):
            lines.append(f"`{_cell(result.schema_dir)}` not compared (see the failures)")
        else:
            lines.append(f"`{_cell(result.schema_dir)}` matches the migrated schema")
    lines += ["", "### Lint findings", ""]
    lines += [f"- {_cell(f)}" for f in result.lint_findings] or ["none"]
    lines += ["", "### Schema diff", ""]
    if result.schema_diff:
        for d in result.schema_diff:
            lines.append(f"- {_cell(d.describe())}")
        lines += ["", "```diff", *redact_secrets("".join(d.diff for d in result.schema_diff)).splitlines()[:400], "```"]
    else:
        lines.append("none" if result.mode == "from-empty" else "the pending migrations change no object")
    if result.notes:
        lines += ["", "### Notes", "", *(f"- {_cell(n)}" for n in result.notes)]
    if result.prefix:
        lines += ["", f"Kept for inspection: everything named `{result.prefix}*`." if result.kept
                  else f"Dropped: {len(result.dropped)} database(s) and role(s) named `{result.prefix}*`."]
    return "\n".join(lines) + "\n"


def write(path: Path, text: str, *, append: bool = False) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if append else "w", encoding="utf-8") as fh:
        fh.write(text)
