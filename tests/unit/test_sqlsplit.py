"""Statement splitter: YAML case files plus direct tests."""

from __future__ import annotations

import time
from typing import Any

import pytest
import yaml
from hypothesis import given, strategies as st

from rockway.model import Statement
from rockway.sqlsplit import SplitError, comma_spans, masked, parse_directive, split
from tests.support.paths import CASES_DIR as CASES

CASES_DIR = CASES / "sqlsplit"


def _load_cases() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            params.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return params


CASES = _load_cases()


@pytest.mark.parametrize("case", CASES)
def test_case(case: dict[str, Any]) -> None:
    hash_comments = bool(case.get("hash_comments", False))
    if "error" in case:
        with pytest.raises(SplitError) as info:
            split(case["input"], hash_comments=hash_comments)
        assert case["error"]["contains"] in info.value.message
        assert info.value.line == case["error"]["line"]
        return
    got = split(case["input"], hash_comments=hash_comments)
    assert [s.sql for s in got] == [s["sql"] for s in case["statements"]]
    assert [s.line for s in got] == [s["line"] for s in case["statements"]]
    assert [s.index for s in got] == list(range(1, len(got) + 1))
    for statement, expected in zip(got, case["statements"]):
        if "directives" in expected:
            assert statement.directives == tuple(tuple(d) for d in expected["directives"])


def test_returns_statement_objects_with_directive_lookup() -> None:
    [statement] = split("-- rockway:async_timeout=60\nALTER TABLE t ADD COLUMN c INT")
    assert isinstance(statement, Statement)
    assert statement.directive("async_timeout") == "60"
    assert statement.directive("missing", "x") == "x"


def test_split_error_is_value_error_with_line() -> None:
    with pytest.raises(ValueError) as info:
        split("SELECT 1;\n\n'open")
    assert isinstance(info.value, SplitError)
    assert info.value.line == 3
    assert "line 3" in str(info.value)


def test_sql_has_no_surrounding_space_or_semicolon() -> None:
    text = "  \t SELECT 1 \t ;\n\n\tSELECT 2\n\n;  \n"
    for statement in split(text):
        assert statement.sql == statement.sql.strip()
        assert not statement.sql.endswith(";")


def test_parse_directive() -> None:
    assert parse_directive(" rockway:flag") == ("flag", "true")
    assert parse_directive(" rockway:key=") == ("key", "")
    assert parse_directive(" a plain comment") is None
    with pytest.raises(ValueError):
        parse_directive(" rockway:=x")


def test_unterminated_literal_after_many_statements_reports_its_line() -> None:
    text = "SELECT 1;\n" * 500 + "SELECT 'x\n"
    with pytest.raises(SplitError) as info:
        split(text)
    assert info.value.line == 501


def test_large_script_line_numbers() -> None:
    text = "".join(f"-- statement {i}\nINSERT INTO t VALUES ({i}, 'a;b');\n" for i in range(1, 1001))
    got = split(text)
    assert len(got) == 1000
    assert got[-1].line == 2000
    assert got[-1].sql == "INSERT INTO t VALUES (1000, 'a;b')"


def test_typical_file_splits_at_the_right_semicolons() -> None:
    text = (
        "-- create orders\n-- rockway:async_timeout=600\n"
        "CREATE TABLE IF NOT EXISTS orders (\n"
        "    id BIGINT NOT NULL COMMENT 'order id; primary',\n"
        "    amount DECIMAL(18,2) DEFAULT \"0\",\n"
        "    note VARCHAR(200) COMMENT 'it''s' -- trailing\n"
        ")\nPRIMARY KEY (id)\nDISTRIBUTED BY HASH(id)\n"
        "PROPERTIES (\"replication_num\" = \"1\");\n\n/* second */\n"
        "ALTER TABLE orders ADD COLUMN status VARCHAR(20) DEFAULT 'new';\n"
        "INSERT INTO orders VALUES (1, 3.5, 'a\\';b', 'x');\n"
        "CREATE VIEW v AS SELECT /*+ SET_VAR(query_timeout=10) */ id, `amount` FROM orders;\n"
        "SELECT 1;\nSELECT 2;\n"
    )
    got = split(text)
    assert [s.line for s in got] == [3, 13, 14, 15, 16, 17]
    assert got[0].sql.startswith("CREATE TABLE IF NOT EXISTS orders (") and got[0].sql.endswith('"1")')
    assert got[2].sql == "INSERT INTO orders VALUES (1, 3.5, 'a\\';b', 'x')"


def test_scanning_is_linear() -> None:
    unit = "SELECT 'a', \"b\", `c` /* d */ FROM t -- e\n;\n"
    split(unit * 100)
    small = _best_time(lambda: split(unit * 1000))
    large = _best_time(lambda: split(unit * 10000))
    assert large < small * 25, f"10x input took {large / small:.1f}x as long"


def _best_time(fn: Any) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


# --- top-level commas (comma_spans: column lists and ALTER clauses for lint, the rewrites fixer and the StarRocks
# statement classification) -------------------------------------------------------------------------------------

_TYPE = st.recursive(
    st.sampled_from(["INT", "STRING", "DECIMAL(18, 2)", "VARCHAR(10)"]),
    lambda inner: st.one_of(
        inner.map(lambda t: f"ARRAY<{t}>"),
        st.tuples(inner, inner).map(lambda kv: f"MAP<{kv[0]}, {kv[1]}>"),
        st.lists(inner, min_size=1, max_size=3).map(
            lambda ts: "STRUCT<" + ", ".join(f"f{i} {t}" for i, t in enumerate(ts)) + ">")),
    max_leaves=5)
_ATOM = st.one_of(
    st.sampled_from(["id", "1", "'a, b'", '"x,y"', "`c,d`", "/* , */", "-- ,\n", "a < b", "a > b", "my_array < 3",
                     "total_map<2", "COMMENT 'it''s, ok'", 'DEFAULT "1,2"']),
    _TYPE.map(lambda t: f"c {t}"))  # a column definition
_PIECE = st.recursive(_ATOM, lambda inner: st.one_of(
    st.lists(inner, min_size=1, max_size=3).map(lambda xs: "(" + ", ".join(xs) + ")"),
    st.lists(inner, min_size=1, max_size=3).map(lambda xs: "[" + ", ".join(xs) + ")"),  # VALUES [("a"), ("b"))
    st.lists(inner, min_size=2, max_size=3).map(" ".join)), max_leaves=8)


@given(st.lists(st.one_of(_PIECE, st.just("")), min_size=1, max_size=5))
def test_comma_spans_splits_only_on_top_level_commas(pieces: list[str]) -> None:
    text = ",".join(pieces)
    spans = comma_spans(masked(text))
    assert [text[a:b] for a, b in spans] == pieces
    assert spans[0][0] == 0 and spans[-1][1] == len(text)


def test_comma_spans_reads_a_range_and_a_type_as_one_piece() -> None:
    text = 'ADD PARTITION p VALUES [("1"), ("2")), ADD COLUMN s STRUCT<a INT, b MAP<INT, STRING>>, DROP COLUMN x_map'
    assert [text[a:b].strip() for a, b in comma_spans(masked(text))] == [
        'ADD PARTITION p VALUES [("1"), ("2"))', "ADD COLUMN s STRUCT<a INT, b MAP<INT, STRING>>", "DROP COLUMN x_map"]
    part = text.index("ADD COLUMN")
    assert comma_spans(masked(text), part, len(text))[0] == (part, text.index(", DROP"))
