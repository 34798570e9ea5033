"""Discovery: names, Flyway version rules, strict naming errors, checksums, ordering, speed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import example, given, strategies as st

from rockway.migrate.discovery import checksum_bytes, discover, next_version, parse_name
from rockway.errors import EXIT_USAGE, InputError
from rockway.model import Kind, Version


def _project(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return tmp_path


def _discover(project: Path) -> list:
    return discover(project / "migrations", project / "repeatable", project)


def _error(project: Path) -> InputError:
    with pytest.raises(InputError) as info:
        _discover(project)
    assert info.value.exit_code == EXIT_USAGE == 2
    return info.value


def test_finds_all_kinds_recursively_and_orders_them(tmp_path: Path) -> None:
    project = _project(tmp_path, {
        "migrations/V1.10__ten.sql": "SELECT 10;",
        "migrations/V1.9__nine.sql": "SELECT 9;",
        "migrations/sub/V1.2__two.sql": "SELECT 2;",
        "migrations/V2_1__underscore_version.sql": "SELECT 21;",
        "migrations/U1.9__undo_nine.sql": "SELECT -9;",
        "migrations/U1.10__undo_ten.sql": "SELECT -10;",
        "repeatable/R__b_view.sql": "SELECT 'b';",
        "repeatable/nested/R__a_view.sql": "SELECT 'a';",
        "migrations/README.md": "docs",
        "reference-data/x.csv": "a\n",
    })
    scripts = _discover(project)
    assert [s.display for s in scripts] == [
        "V1.2 two", "V1.9 nine", "V1.10 ten", "V2.1 underscore version",
        "U1.9 undo nine", "U1.10 undo ten", "R a view", "R b view",
    ]
    ten = next(s for s in scripts if s.description == "ten")
    assert ten.kind is Kind.VERSIONED
    assert ten.version == Version.parse("1.10") > Version.parse("1.9")
    assert ten.name == "migrations/V1.10__ten.sql"
    assert ten.path == project / "migrations" / "V1.10__ten.sql"
    assert ten.source == "SELECT 10;"
    assert [s.name for s in scripts if s.kind is Kind.REPEATABLE] == ["repeatable/nested/R__a_view.sql", "repeatable/R__b_view.sql"]


def test_missing_folders_contribute_nothing(tmp_path: Path) -> None:
    assert _discover(tmp_path) == []
    _project(tmp_path, {"repeatable/R__only.sql": "SELECT 1;"})
    assert [s.display for s in _discover(tmp_path)] == ["R only"]


def test_same_or_nested_folder_is_scanned_once(tmp_path: Path) -> None:
    project = _project(tmp_path, {"sql/V1__a.sql": "SELECT 1;", "sql/views/R__v.sql": "SELECT 2;"})
    same = discover(project / "sql", project / "sql", project)
    nested = discover(project / "sql", project / "sql" / "views", project)
    assert [s.display for s in same] == [s.display for s in nested] == ["V1 a", "R v"]


def test_name_falls_back_to_given_path_outside_project(tmp_path: Path) -> None:
    _project(tmp_path, {"elsewhere/V1__a.sql": "SELECT 1;"})
    (tmp_path / "project").mkdir()
    [script] = discover(tmp_path / "elsewhere", tmp_path / "none", tmp_path / "project")
    assert script.name == (tmp_path / "elsewhere" / "V1__a.sql").as_posix()


@pytest.mark.parametrize(("first", "second"), [
    ("V1__a.sql", "V1.0__b.sql"),
    ("V1__a.sql", "V001__b.sql"),
    ("V1.2__a.sql", "V1_2__b.sql"),
    ("V1.2__a.sql", "V1.2.0.0__b.sql"),
])
def test_equal_versions_are_duplicates(tmp_path: Path, first: str, second: str) -> None:
    project = _project(tmp_path, {f"migrations/{first}": "SELECT 1;", f"migrations/sub/{second}": "SELECT 2;"})
    error = _error(project)
    assert first in error.message and second in error.message
    assert error.path in (f"migrations/{first}", f"migrations/sub/{second}")


def test_same_version_different_kind_is_fine(tmp_path: Path) -> None:
    project = _project(tmp_path, {"migrations/V1__a.sql": "SELECT 1;", "migrations/U1.0__undo_a.sql": "SELECT 2;"})
    assert [s.display for s in _discover(project)] == ["V1 a", "U1 undo a"]


def test_duplicate_undo_versions(tmp_path: Path) -> None:
    project = _project(tmp_path, {"migrations/V1__a.sql": "", "migrations/U1__a.sql": "", "migrations/U01__b.sql": ""})
    error = _error(project)
    assert "U1__a.sql" in error.message and "U01__b.sql" in error.message


def test_undo_without_versioned(tmp_path: Path) -> None:
    project = _project(tmp_path, {"migrations/V1__a.sql": "", "migrations/U2__undo_b.sql": ""})
    error = _error(project)
    assert error.path == "migrations/U2__undo_b.sql"
    assert "V2" in error.message


def test_repeatables_with_same_description(tmp_path: Path) -> None:
    project = _project(tmp_path, {"repeatable/R__order_view.sql": "", "repeatable/old/R__order view.sql": ""})
    error = _error(project)
    assert "R__order_view.sql" in error.message and "R__order view.sql" in error.message


@pytest.mark.parametrize(("filename", "reason"), [
    ("v1__lower_prefix.sql", "upper case"),
    ("u1__lower_undo.sql", "upper case"),
    ("r__lower_repeatable.sql", "upper case"),
    ("V1_single_underscore.sql", "two underscores"),
    ("V1.sql", "description is missing"),
    ("V1__.sql", "description is empty"),
    ("V1_____.sql", "description is empty"),
    ("Vx__letters.sql", "version 'x'"),
    ("V1.a__mixed.sql", "version '1.a'"),
    ("V__no_version.sql", "version is missing"),
    ("R_x.sql", "R__<description>.sql"),
    ("R1__versioned_repeatable.sql", "no version"),
    ("R__.sql", "description is empty"),
    ("V1__upper_suffix.SQL", "lower-case '.sql'"),
    ("B1__baseline.sql", "not a script name"),
    ("create_tables.sql", "not a script name"),
    ("V1__x.sql.txt", "does not end in '.sql'"),
    ("V1__x.txt", "does not end in '.sql'"),
    ("R__view", "does not end in '.sql'"),
    ("U1__undo.bak", "does not end in '.sql'"),
])
def test_misnamed_files_are_errors(tmp_path: Path, filename: str, reason: str) -> None:
    project = _project(tmp_path, {"migrations/V1__fine.sql": "SELECT 1;", f"migrations/{filename}": "SELECT 2;"})
    error = _error(project)
    assert error.path == f"migrations/{filename}"
    assert error.message.startswith(f"migrations/{filename}: ")
    assert reason in error.message
    assert error.hint and "V<version>__<description>.sql" in error.hint


@pytest.mark.parametrize("filename", ["README.md", "notes.txt", "data.csv", "Vendors.csv", "Users.txt", ".V1__swap.sql.swp", ".hidden.sql"])
def test_other_files_are_ignored(tmp_path: Path, filename: str) -> None:
    project = _project(tmp_path, {"migrations/V1__fine.sql": "SELECT 1;", f"migrations/{filename}": "x"})
    assert [s.display for s in _discover(project)] == ["V1 fine"]


def test_first_problem_in_path_order_is_reported(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {f"migrations/{c}/v{i}__x.sql": "" for i, c in enumerate("zyxwvutsrq", 1)}
    files["migrations/m/V1_x.sql"] = ""
    assert _error(_project(tmp_path, files)).path == "migrations/m/V1_x.sql"
    files["migrations/c/V5__dup.sql"] = files["migrations/b/V5.0__dup.sql"] = ""
    assert _error(_project(tmp_path, files)).path == "migrations/c/V5__dup.sql"
    files["migrations/a/V9__bad.sql"] = b"\xff"
    assert _error(_project(tmp_path, files)).path == "migrations/a/V9__bad.sql"


def test_not_utf8_names_file_and_line(tmp_path: Path) -> None:
    project = _project(tmp_path, {"migrations/V1__latin1.sql": b"SELECT 1;\n-- caf\xe9\nSELECT 2;\n"})
    error = _error(project)
    assert error.path == "migrations/V1__latin1.sql"
    assert error.line == 2
    assert "UTF-8" in error.message and "0xe9" in error.message


def test_bom_is_removed_from_source_but_kept_in_checksum(tmp_path: Path) -> None:
    raw = b"\xef\xbb\xbfSELECT 1;\n"
    project = _project(tmp_path, {"migrations/V1__bom.sql": raw})
    [script] = _discover(project)
    assert script.source == "SELECT 1;\n"
    assert script.checksum == hashlib.sha256(raw).hexdigest()


def test_crlf_and_cr_checksums_equal_lf_checksum(tmp_path: Path) -> None:
    lf = b"SELECT 1;\nSELECT 2;\n"
    assert checksum_bytes(lf.replace(b"\n", b"\r\n")) == checksum_bytes(lf) == hashlib.sha256(lf).hexdigest()
    assert checksum_bytes(lf.replace(b"\n", b"\r")) == checksum_bytes(lf)
    assert checksum_bytes(b"SELECT 1;\n\n") != checksum_bytes(lf)
    project = _project(tmp_path, {"migrations/V1__crlf.sql": lf.replace(b"\n", b"\r\n"), "migrations/V2__lf.sql": lf})
    first, second = _discover(project)
    assert first.checksum == second.checksum == checksum_bytes(lf)
    assert first.source == second.source == lf.decode()


def test_repeatable_without_references_has_the_plain_checksum(tmp_path: Path) -> None:
    project = _project(tmp_path, {"repeatable/R__v.sql": "CREATE VIEW v AS SELECT {{ x }};\n"})
    [script] = _discover(project)
    assert script.checksum == checksum_bytes(b"CREATE VIEW v AS SELECT {{ x }};\n")


def test_repeatable_checksum_covers_included_templates(tmp_path: Path) -> None:
    project = _project(tmp_path, {
        "repeatable/R__v.sql": "{% include 'macros/cols.sql' %}\n",
        "macros/cols.sql": "{% include 'macros/inner.sql' %}",
        "macros/inner.sql": "id, name",
    })
    [before] = _discover(project)
    assert before.checksum != checksum_bytes(before.source.encode())
    (project / "macros" / "inner.sql").write_text("id, name, email")
    [after] = _discover(project)
    assert after.checksum != before.checksum
    (project / "macros" / "inner.sql").write_bytes(b"id, name\r\n"[:-2])
    assert _discover(project)[0].checksum == before.checksum


def test_repeatable_checksum_covers_load_csv_files(tmp_path: Path) -> None:
    project = _project(tmp_path, {
        "repeatable/R__seed_countries.sql": "{{ load_csv('countries.csv') }}\n",
        "reference-data/countries.csv": "code,name\nDE,Germany\n",
    })
    [before] = _discover(project)
    (project / "reference-data" / "countries.csv").write_text("code,name\nDE,Germany\nFR,France\n")
    [after] = _discover(project)
    assert after.checksum != before.checksum
    (project / "reference-data" / "countries.csv").write_bytes(b"code,name\r\nDE,Germany\r\n")
    assert _discover(project)[0].checksum == before.checksum


def test_versioned_checksum_is_only_the_file(tmp_path: Path) -> None:
    project = _project(tmp_path, {"migrations/V1__a.sql": "{% include 'macros/x.sql' %}", "macros/x.sql": "SELECT 1;"})
    [script] = _discover(project)
    assert script.checksum == checksum_bytes(b"{% include 'macros/x.sql' %}")


@pytest.mark.parametrize(("source", "missing"), [
    ("{{ load_csv('nope.csv') }}", "reference-data/nope.csv"),
    ("{% include 'macros/nope.sql' %}", "macros/nope.sql"),
])
def test_missing_referenced_file_names_script_and_file(tmp_path: Path, source: str, missing: str) -> None:
    project = _project(tmp_path, {"repeatable/R__seed.sql": source})
    error = _error(project)
    assert error.path == "repeatable/R__seed.sql"
    assert missing in error.message


def test_repeatable_template_syntax_error_is_input_error(tmp_path: Path) -> None:
    project = _project(tmp_path, {"repeatable/R__v.sql": "SELECT 1;\n{% if x %}\n"})
    error = _error(project)
    assert error.path == "repeatable/R__v.sql"
    assert error.line == 2


def test_parse_name() -> None:
    assert parse_name("V1_2__add_orders.sql") == (Kind.VERSIONED, "1_2", "add orders")
    assert parse_name("U010__drop_it.sql") == (Kind.UNDO, "010", "drop it")
    assert parse_name("R__ my view .sql") == (Kind.REPEATABLE, None, "my view")
    assert parse_name("V1__.sql") is None
    assert parse_name("V1__x.SQL") is None


def test_next_version(tmp_path: Path) -> None:
    assert next_version([]) == "1"
    project = _project(tmp_path, {"migrations/V1__a.sql": "", "migrations/V1.10__b.sql": "", "migrations/V2.5__c.sql": "",
                                  "migrations/U2.5__c.sql": "", "repeatable/R__v.sql": ""})
    assert next_version(_discover(project)) == "3"
    padded = _project(tmp_path / "padded", {"migrations/V001__a.sql": "", "migrations/V007_1__b.sql": ""})
    assert next_version(_discover(padded)) == "008"
    only_repeatable = _project(tmp_path / "repeatable_only", {"repeatable/R__v.sql": ""})
    assert next_version(_discover(only_repeatable)) == "1"


def test_two_thousand_files_in_nested_folders(tmp_path: Path) -> None:
    body = "CREATE TABLE t (id INT);\n-- comment\nINSERT INTO t VALUES (1);\n" * 5
    for i in range(1, 1901):
        folder = tmp_path / "migrations" / f"release{i // 100}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"V{i}__create_table_{i}.sql").write_text(body)
    (tmp_path / "repeatable").mkdir()
    for i in range(100):
        (tmp_path / "repeatable" / f"R__view_{i}.sql").write_text(f"CREATE VIEW v{i} AS SELECT {{{{ x }}}};\n")
    scripts = _discover(tmp_path)  # its speed is measured by bench/bench_info.py, not asserted here
    assert len(scripts) == 2000
    versions = [s.version for s in scripts if s.kind is Kind.VERSIONED]
    assert versions == sorted(versions) and len(versions) == 1900  # numeric order across 20 folders
    assert str(versions[8]) == "9" and str(versions[9]) == "10"


_PART = st.sampled_from(["a", "b", "..", ".", "p q", "ü", "V1__x.sql", ""])


@given(base=st.lists(_PART, max_size=3), rel=st.lists(_PART, min_size=1, max_size=3),
       root=st.sampled_from(["", "/", "//"]), under=st.booleans())
def test_display_names_are_what_relative_to_gives(base: list[str], rel: list[str], root: str, under: bool) -> None:
    """discovery._display_name reads a path under the project folder from its text; it must name it as
    `relative_to(...).as_posix()` does, and any other path as before."""
    from rockway.migrate.discovery import _display_name

    project = Path(root + "/".join(base) if root or base else ".")
    path = project.joinpath(*rel) if under else Path(root + "/".join(rel))
    try:
        expected = path.relative_to(project).as_posix()
    except ValueError:
        expected = None
    if expected is not None:
        assert _display_name(path, project) == expected


@example(a=[1], b=[1, 0])
@example(a=[1, 0, 1], b=[1, 1])
@given(a=st.lists(st.integers(0, 3), min_size=1, max_size=4), b=st.lists(st.integers(0, 3), min_size=1, max_size=4))
def test_versions_compare_as_if_padded_with_zeros(a: list[int], b: list[int]) -> None:
    """1.2 = 1.2.0 < 1.10; `<` also for Version objects made without Version.parse (trailing zeros kept)."""
    width = max(len(a), len(b))
    padded_a, padded_b = a + [0] * (width - len(a)), b + [0] * (width - len(b))
    assert (Version(tuple(a)) < Version(tuple(b))) == (padded_a < padded_b)
    x, y = Version.parse(".".join(map(str, a))), Version.parse(".".join(map(str, b)))
    assert (x < y, x > y, x <= y, x == y) == (padded_a < padded_b, padded_a > padded_b, padded_a <= padded_b,
                                             padded_a == padded_b)
