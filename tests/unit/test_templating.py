"""Templating: context, includes, strict variables, errors with file and line, referenced files."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
from hypothesis import given, strategies as st

from rockway.migrate.discovery import checksum_bytes
from rockway.errors import EXIT_USAGE, InputError
from rockway.model import Kind, Script, Version
from rockway.templating import Renderer, referenced_files, template_search_path


def _script(project: Path, name: str, source: str, version: str | None = "1") -> Script:
    path = project / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    kind = Kind.REPEATABLE if version is None else Kind.VERSIONED
    return Script(kind=kind, version=None if version is None else Version.parse(version), description="x",
                  path=path, name=name, checksum=checksum_bytes(source.encode()), source=source)


def _write(project: Path, name: str, text: str) -> None:
    path = project / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _render_error(renderer: Renderer, script: Script) -> InputError:
    with pytest.raises(InputError) as info:
        renderer.render(script)
    assert info.value.exit_code == EXIT_USAGE
    return info.value


def test_context_variables_and_builtins(tmp_path: Path) -> None:
    renderer = Renderer(tmp_path, {"replicas": 3, "regions": ["eu", "us"], "flags": {"pii": True}, "suffix": "_v2"},
                        env_name="prod", engine="starrocks", database="dwh")
    source = ("-- {{ script }} {{ version }} {{ env }} {{ engine }} {{ database }}\n"
              "CREATE TABLE t{{ suffix }} (id INT) PROPERTIES (\"replication_num\" = \"{{ replicas }}\");\n"
              "{% for r in regions %}{{ r }}{% if not loop.last %},{% endif %}{% endfor %} {{ flags.pii }}\n")
    script = _script(tmp_path, "migrations/V1_2__t.sql", source, version="1_2")
    assert renderer.render(script) == (
        "-- migrations/V1_2__t.sql 1.2 prod starrocks dwh\n"
        "CREATE TABLE t_v2 (id INT) PROPERTIES (\"replication_num\" = \"3\");\n"
        "eu,us True\n")


def test_repeatable_has_no_version_and_trailing_newline_is_kept(tmp_path: Path) -> None:
    renderer = Renderer(tmp_path, {})
    script = _script(tmp_path, "repeatable/R__v.sql", "{{ version }}\n\n", version=None)
    assert renderer.render(script) == "None\n\n"


def test_no_autoescape(tmp_path: Path) -> None:
    renderer = Renderer(tmp_path, {"cond": "a < 'b' & c"})
    assert renderer.render_text("WHERE {{ cond }}", "jobs/x.sql") == "WHERE a < 'b' & c"


def test_include_and_import_relative_to_project_and_macros_folder(tmp_path: Path) -> None:
    _write(tmp_path, "macros/cols.sql", "{% macro cols(prefix) %}{{ prefix }}.id, {{ prefix }}.name{% endmacro %}")
    _write(tmp_path, "shared/header.sql", "-- header for {{ env }}\n")
    renderer = Renderer(tmp_path, {}, env_name="dev")
    source = ("{% include 'shared/header.sql' %}"
              "{% import 'macros/cols.sql' as m %}{% from 'cols.sql' import cols %}"
              "SELECT {{ m.cols('o') }}, {{ cols('c') }} FROM o, c;\n")
    script = _script(tmp_path, "migrations/V1__x.sql", source)
    assert renderer.render(script) == "-- header for dev\nSELECT o.id, o.name, c.id, c.name FROM o, c;\n"
    assert template_search_path(tmp_path) == [tmp_path, tmp_path / "macros"]


def test_globals_can_be_extended_even_after_rendering(tmp_path: Path) -> None:
    _write(tmp_path, "macros/seed.sql", "{% macro seed(n) %}{{ load_csv(n) }}{% endmacro %}")
    renderer = Renderer(tmp_path, {})
    script = _script(tmp_path, "repeatable/R__seed.sql", "{% from 'seed.sql' import seed %}{{ seed('c.csv') }}", None)
    assert "load_csv" in _render_error(renderer, script).message
    renderer.globals["load_csv"] = lambda name: f"INSERT INTO c SELECT * FROM FILES('{name}')"
    assert renderer.render(script) == "INSERT INTO c SELECT * FROM FILES('c.csv')"


def test_undefined_variable_names_file_and_line(tmp_path: Path) -> None:
    renderer = Renderer(tmp_path, {"known": 1})
    script = _script(tmp_path, "migrations/V3__x.sql", "SELECT {{ known }};\n-- fine\nSELECT {{ unknown_var }};\n")
    error = _render_error(renderer, script)
    assert error.path == "migrations/V3__x.sql"
    assert error.line == 3
    assert "undefined variable 'unknown_var'" in error.message
    assert error.message.startswith("migrations/V3__x.sql:3: ")


def test_undefined_attribute_and_inside_loop(tmp_path: Path) -> None:
    renderer = Renderer(tmp_path, {"cfg": {"a": 1}})
    script = _script(tmp_path, "migrations/V1__x.sql", "{% for i in [1, 2] %}\nSELECT {{ i }};\n{{ cfg.b }}\n{% endfor %}\n")
    error = _render_error(renderer, script)
    assert error.line == 3
    assert "has no attribute 'b'" in error.message


def test_undefined_in_included_template_names_both_files(tmp_path: Path) -> None:
    _write(tmp_path, "macros/body.sql", "SELECT 1;\n{{ nope }}\n")
    renderer = Renderer(tmp_path, {})
    script = _script(tmp_path, "repeatable/R__v.sql", "-- x\n-- y\n{% include 'macros/body.sql' %}\n", None)
    error = _render_error(renderer, script)
    assert error.path == "repeatable/R__v.sql"
    assert error.line == 3
    assert "undefined variable 'nope'" in error.message
    assert "macros/body.sql line 2" in error.message


def test_syntax_error_line(tmp_path: Path) -> None:
    renderer = Renderer(tmp_path, {"x": 1})
    script = _script(tmp_path, "migrations/V1__x.sql", "SELECT 1;\n\n{% if x %}\nSELECT 2;\n{% endfor %}\n")
    error = _render_error(renderer, script)
    assert error.path == "migrations/V1__x.sql"
    assert error.line == 5
    assert "syntax error" in error.message


def test_syntax_error_in_included_template(tmp_path: Path) -> None:
    _write(tmp_path, "macros/bad.sql", "ok\n{{ x +\n")
    renderer = Renderer(tmp_path, {"x": 1})
    script = _script(tmp_path, "migrations/V1__x.sql", "SELECT 1;\n{% include 'macros/bad.sql' %}\n")
    error = _render_error(renderer, script)
    assert error.path == "migrations/V1__x.sql"
    assert "syntax error" in error.message and "macros/bad.sql" in error.message


def test_missing_include(tmp_path: Path) -> None:
    renderer = Renderer(tmp_path, {})
    script = _script(tmp_path, "migrations/V1__x.sql", "SELECT 1;\n{% include 'macros/none.sql' %}\n")
    error = _render_error(renderer, script)
    assert error.line == 2
    assert "'macros/none.sql' not found" in error.message


def test_other_exception_has_line(tmp_path: Path) -> None:
    renderer = Renderer(tmp_path, {"n": 0})
    renderer.globals["explode"] = lambda: {}["key"]
    script = _script(tmp_path, "migrations/V1__x.sql", "SELECT 1;\nSELECT {{ 1 // n }};\n")
    error = _render_error(renderer, script)
    assert error.line == 2 and "ZeroDivisionError" in error.message
    script = _script(tmp_path, "migrations/V2__x.sql", "\n\n\n{{ explode() }}")
    error = _render_error(renderer, script)
    assert error.line == 4 and "KeyError" in error.message


def test_rockway_errors_from_globals_pass_through(tmp_path: Path) -> None:
    renderer = Renderer(tmp_path, {})

    def load_csv(name: str) -> str:
        raise InputError(f"reference-data/{name}", "bad row", line=7)

    renderer.globals["load_csv"] = load_csv
    script = _script(tmp_path, "repeatable/R__seed.sql", "{{ load_csv('c.csv') }}", None)
    error = _render_error(renderer, script)
    assert error.path == "reference-data/c.csv" and error.line == 7


def test_render_text_names_the_given_file(tmp_path: Path) -> None:
    renderer = Renderer(tmp_path, {})
    with pytest.raises(InputError) as info:
        renderer.render_text("SELECT 1\nFROM {{ missing_table }}", "jobs/orders/load.sql")
    assert info.value.path == "jobs/orders/load.sql" and info.value.line == 2


def test_statements_renders_then_splits(tmp_path: Path) -> None:
    renderer = Renderer(tmp_path, {"tables": ["a", "b"]})
    source = "-- rockway:wait=false\n{% for t in tables %}\nDROP TABLE IF EXISTS {{ t }};\n{% endfor %}\n"
    statements = renderer.statements(_script(tmp_path, "migrations/V1__x.sql", source))
    assert [s.sql for s in statements] == ["DROP TABLE IF EXISTS a", "DROP TABLE IF EXISTS b"]
    assert statements[0].directive("wait") == "false"


def test_statements_split_error_becomes_input_error(tmp_path: Path) -> None:
    renderer = Renderer(tmp_path, {})
    script = _script(tmp_path, "migrations/V1__x.sql", "SELECT 1;\nSELECT 'open;\n")
    with pytest.raises(InputError) as info:
        renderer.statements(script)
    assert info.value.path == "migrations/V1__x.sql" and info.value.line == 2
    assert "unterminated string literal" in info.value.message


def test_hash_comments_only_for_mysql(tmp_path: Path) -> None:
    script = _script(tmp_path, "migrations/V1__x.sql", "# note; here\nSELECT 1;\n")
    assert [s.sql for s in Renderer(tmp_path, {}, engine="mysql").statements(script)] == ["SELECT 1"]
    assert [s.sql for s in Renderer(tmp_path, {}).statements(script)] == ["# note", "here\nSELECT 1"]


def test_referenced_files(tmp_path: Path) -> None:
    _write(tmp_path, "macros/a.sql", "{% import 'macros/b.sql' as b %}{{ load_csv('geo/regions.csv') }}")
    _write(tmp_path, "macros/b.sql", "{% include 'macros/a.sql' %}")  # a cycle is harmless
    source = ("{% include 'macros/a.sql' %}{% include ['macros/none.sql', 'c.sql'] %}"
              "{% include 'optional.sql' ignore missing %}{% include dynamic_name %}"
              "{{ load_csv('countries.csv') }}{{ load_csv(var) }}{{ other('x.csv') }}")
    _write(tmp_path, "macros/c.sql", "")
    found = referenced_files(source, tmp_path / "repeatable" / "R__x.sql", tmp_path)
    assert found == [
        tmp_path / "macros" / "a.sql", tmp_path / "macros" / "b.sql", tmp_path / "macros" / "c.sql",
        tmp_path / "reference-data" / "countries.csv", tmp_path / "reference-data" / "geo" / "regions.csv",
    ]


def test_referenced_files_reports_missing_and_syntax_errors(tmp_path: Path) -> None:
    found = referenced_files("{% include 'macros/missing.sql' %}", tmp_path / "repeatable" / "R__x.sql", tmp_path)
    assert found == [tmp_path / "macros" / "missing.sql"]
    with pytest.raises(InputError) as info:
        referenced_files("x\n\n{% if %}", tmp_path / "repeatable" / "R__x.sql", tmp_path)
    assert info.value.path == "repeatable/R__x.sql" and info.value.line == 3


# --- text without template syntax is not given to Jinja, and comes out as Jinja would give it -------------
_PLAIN = st.lists(st.sampled_from([
    "CREATE TABLE t (id INT);", "SELECT '}', '%}', '#}', '$x';", "\n", "\r\n", "\r", " ", "\t", "-- note\n", "/* c */",
    "-- rockway:wait=false\n", "-- rockway:wait=maybe\n", "-- rockway:nap=1\n", "é", "}", "%", "#",
]) | st.text(max_size=4).filter(lambda s: "{" not in s), max_size=12).map("".join)


def _jinja(text: str) -> str:
    """text rendered by Jinja itself, set up as Renderer sets it up."""
    return jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                              autoescape=False).from_string(text).render()


def _outcome(renderer: Renderer, script: Script) -> object:
    try:
        return [(s.sql, s.line, s.index, s.directives) for s in renderer.statements(script)]
    except InputError as exc:
        # a split error in text Jinja changed says so; the comment changes the text, not its lines
        return (exc.path, exc.message.replace(" (line of the rendered script)", ""), exc.line)


@given(text=_PLAIN)
def test_text_without_template_syntax_renders_as_jinja_renders_it(text: str, tmp_path: Path) -> None:
    assert Renderer(tmp_path, {}).render_text(text, "jobs/x.sql") == _jinja(text)


@given(text=_PLAIN.map(lambda s: s.replace("\r\n", "\n").replace("\r", "\n")))  # as discovery reads a script
def test_a_script_gives_the_same_statements_with_or_without_a_template_comment(text: str, tmp_path: Path) -> None:
    renderer = Renderer(tmp_path, {})
    plain = _script(tmp_path, "migrations/V1__x.sql", text)
    commented = _script(tmp_path, "migrations/V1__x.sql", "{# rendered by Jinja #}" + text)
    assert _outcome(renderer, plain) == _outcome(renderer, commented)


@pytest.mark.parametrize("source, rendered", [
    ("SELECT 1; -- {{ engine }}\n", "SELECT 1; -- starrocks\n"),
    ("SELECT '{% if true %}a{% endif %}';\n", "SELECT 'a';\n"),
    ("SELECT 1;\n{# last #}", "SELECT 1;\n"),
    ("SELECT '{\"k\": 1}';\n", "SELECT '{\"k\": 1}';\n"),  # a brace that opens nothing: rendered, unchanged
])
def test_template_syntax_anywhere_is_rendered(source: str, rendered: str, tmp_path: Path) -> None:
    assert Renderer(tmp_path, {}).render(_script(tmp_path, "migrations/V1__x.sql", source)) == rendered
