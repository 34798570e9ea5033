"""Reference data without a server: CSV validation (file:line errors), the template global, the pending load, and
the StarRocks path (Stream Load against a fake FE/BE pair answering recorded bodies; SQL against replay). The LOAD
CSV seed on MariaDB: tests/mariadb/test_refdata.py.

Decision: a CSV with a header and no data rows is an error (line 2): a seed never empties a table.
"""

from __future__ import annotations

import base64
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from rockway.refdata import check as csvcheck
from rockway.refdata import loader as refdata
from rockway.refdata import parallel as csvparallel
from rockway.adapters import Timeouts
from rockway.adapters.bulk import LoadCancelled, PendingLoad
from rockway.adapters.starrocks.base import StarRocksAdapter
from rockway.adapters.starrocks.stream_load import StreamLoadClient, StreamLoadError, stream_load
from rockway.config import Settings, parse_dsn
from rockway.errors import DatabaseError, InputError
from rockway.model import Statement
from rockway.templating import Renderer
from tests.support.refdata import MANIFEST, HEADER, GOOD, SEED, write_ref
from tests.support.starrocks_replay import ReplayConnection, Step, q


# --- helpers -------------------------------------------------------------------------------------

def validate(root: Path, data: str | bytes, **kw: Any) -> csvcheck.CsvStats:
    path = write_ref(root, data)
    manifest = refdata.load_manifest(path, root)
    return csvcheck.validate_csv(path, manifest.columns, manifest.key, display="reference-data/dim_x.csv",
                                 manifest=manifest.display, **kw)


def bad(root: Path, data: str | bytes, line: int, *fragments: str, **kw: Any) -> InputError:
    """The same InputError from the fast path (checking only) and the exact path (writing a bulk file)."""
    messages = []
    for mode in ("check", "escaped", "csv"):
        with pytest.raises(InputError) as info:
            if mode == "check":
                validate(root, data, **kw)
            else:
                with open(root / "out.tsv", "wb") as fh:
                    validate(root, data, out=fh, bulk_format=mode, **kw)
        err = info.value
        assert err.exit_code == 2
        assert str(err).startswith(f"reference-data/dim_x.csv:{line}: "), (mode, str(err))
        for fragment in fragments:
            assert fragment in str(err), (mode, str(err))
        messages.append(str(err))
    assert len(set(messages)) == 1, messages
    return err


def bulk_text(root: Path, data: str, *, bulk_format: str = "escaped", **kw: Any) -> str:
    out = root / "out.tsv"
    with open(out, "wb") as fh:
        stats = validate(root, data, out=fh, bulk_format=bulk_format, **kw)
    text = out.read_text(encoding="utf-8")
    assert stats.out_bytes == len(text.encode("utf-8"))
    return text


# --- validation: good files ----------------------------------------------------------------------

def test_good_csv_counts_rows_and_writes_the_bulk_file(tmp_path: Path) -> None:
    stats = validate(tmp_path, GOOD)
    assert stats.rows == 3 and stats.bytes == len(GOOD.encode("utf-8")) and len(stats.sha256) == 64
    assert bulk_text(tmp_path, GOOD) == (
        "1\tAlpha\t10.50\t2024-01-31\t2024-02-01 10:00:00\t1\n"
        "2\tBeta, the second\t\\N\t2023-12-01\t2024-02-01 11:30:00\t0\n"
        '3\tGämma "γ"\t0.99\t\\N\t\\N\t1\n')
    assert bulk_text(tmp_path, GOOD, bulk_format="plain") == (
        "1\tAlpha\t10.50\t2024-01-31\t2024-02-01 10:00:00\ttrue\n"
        "2\tBeta, the second\t\t2023-12-01\t2024-02-01T11:30:00\tfalse\n"
        '3\tGämma "γ"\t0.99\t\t\t1\n')


def test_strict_csv_is_loaded_as_it_is_and_anything_else_gets_a_plain_bulk_file(tmp_path: Path) -> None:
    out = tmp_path / "bulk"
    for data, expected, eol in ((GOOD, "csv", "\n"), ("\ufeff" + GOOD.replace("\n", "\r\n"), "csv", "\r\n"),
                                (GOOD + "4,NULL,,,,1\n", "plain", "\n"),          # MySQL would read a bare NULL as NULL
                                (GOOD + "4,C:\\N,,,,1\n", "plain", "\n"),         # \N is outside the fast subset
                                (GOOD + '4,"5",,,,1\n', "csv", "\n"),             # a quoted value in a text column is fine…
                                (GOOD.replace("1,Alpha", '"1",Alpha'), "plain", "\n"),  # …a quoted integer is not strict
                                (GOOD + "4,d,,2024-02-29,,1\n", "csv", "\n"),     # leap days are calendar dates
                                (GOOD + "2147483647,d,,,,1\n", "plain", "\n"),   # 10 digits: the exact path checks
                                (GOOD.replace("\n", "\r\n", 2), "plain", "\r\n")):  # mixed line endings
        with open(out, "wb") as fh:
            stats = validate(tmp_path, data, out=fh, bulk_format="csv")
        assert (stats.bulk_format, stats.line_end) == (expected, eol), data
        assert stats.rows == data.count("\n") - 1
        assert (out.stat().st_size == 0) == (expected == "csv")


def test_the_fast_path_accepts_what_the_exact_path_accepts(tmp_path: Path) -> None:
    data = GOOD + "4,x,-0.5,2024-02-28,2024-12-31 23:59:59.123456,TRUE\n5,,,,,0\n".replace("5,,", "5,y,")
    assert validate(tmp_path, data).rows == 5
    with open(tmp_path / "o", "wb") as fh:
        assert validate(tmp_path, data, out=fh).rows == 5


def test_fast_rows_accept_strict_blocks_and_leave_the_rest_to_the_exact_check(tmp_path: Path) -> None:
    from rockway.refdata.strict_rows import StrictRows

    path = write_ref(tmp_path, GOOD)
    m = refdata.load_manifest(path, tmp_path)
    fast = StrictRows(m.columns, [0], b"\n", direct=True)
    block = GOOD.split("\n", 1)[1].rstrip("\n").encode()
    assert fast.keys(block, 3) == [1, 2, 3]
    assert fast.keys(b"7,a,,2024-02-29,,1", 1) == [7]
    for rejected in (b"7,a,,2023-02-29,,1", b"7,a,,2024-04-31,,1", b"7,a,,0000-01-01,,1", b"7,,,,,1",
                     b"1234567890,a,,,,1", b'"7",a,,,,1', b"7,a,1.234,,,1", b"7,a,,,2024-01-01 24:00,1",
                     b"7,a,,,,yes", b"7,NULL,,,,1", b"7,a\\N,,,,1", b"7," + "é".encode() * 11 + b",,,,1",
                     b"7,a,,,,1,", b"7,a\r,,,,1", b'7,a"b,,,,1'):
        assert fast.keys(rejected, 1) is None, rejected
    assert StrictRows(m.columns, [0], b"\n", direct=False).keys(b"7,NULL,,,,1", 1) == [7]


def test_fast_and_exact_checks_agree_on_random_files(tmp_path: Path) -> None:
    import random

    rng = random.Random(20240501)
    tokens = {
        0: ["1", "2", "007", "-5", "2147483647", "2147483648", "", "x", " 3", '"4"', "1e3"],
        1: ["a", "Ärger", "é" * 10, "é" * 11, "", '"q, u"', '"say ""hi"""', "NULL", "null", "\\N", "a\\b", "sp ace",
            '""', "a\"b", "x" * 20, "x" * 21],
        2: ["", "0.5", "-1.25", "123456.78", "1234567.8", "1.234", ".5", "1.", "+1"],
        3: ["", "2024-02-29", "2023-02-29", "2024-04-31", "1999-12-31", "0001-01-01", "2024-1-01", "2024/01/01"],
        4: ["", "2024-01-01 00:00", "2024-01-01T23:59:59", "2024-01-01 24:00:00", "2024-01-01 10:00:00.1234567",
            "2024-01-01 10:00:00.123456", "2024-01-01 10:00:60"],
        5: ["1", "0", "true", "FALSE", "True", "yes", "", "2"],
    }
    for trial in range(250):
        n = rng.randint(1, 6)
        lines = []
        for i in range(n):
            fields = [rng.choice(tokens[c]) if rng.random() < 0.35 else ["%d" % (i + 1), "v%d" % i, "1.50",
                      "2024-03-01", "2024-03-01 12:00:00", "true"][c] for c in range(6)]
            lines.append(",".join(fields))
        data = HEADER + "\n".join(lines) + rng.choice(["\n", ""])
        outcomes = []
        for mode in ("check", "escaped"):
            try:
                if mode == "check":
                    stats = validate(tmp_path, data)
                else:
                    with open(tmp_path / "o", "wb") as fh:
                        stats = validate(tmp_path, data, out=fh)
                outcomes.append(("ok", stats.rows))
            except InputError as exc:
                outcomes.append(("error", str(exc)))
        assert outcomes[0] == outcomes[1], (trial, data, outcomes)


def test_bom_and_crlf_are_accepted_and_give_the_same_rows(tmp_path: Path) -> None:
    plain = bulk_text(tmp_path, GOOD)
    with_bom = bulk_text(tmp_path, "\ufeff" + GOOD.replace("\n", "\r\n"))
    assert with_bom == plain


def test_backslashes_stay_as_written_in_both_formats(tmp_path: Path) -> None:
    data = HEADER + "1,C:\\temp\\n,1,,,true\n"
    for fmt in ("escaped", "plain"):
        assert bulk_text(tmp_path, data, bulk_format=fmt).splitlines()[0].split("\t")[1] == "C:\\temp\\n"


def test_integer_keys_compare_as_numbers(tmp_path: Path) -> None:
    bad(tmp_path, HEADER + "7,a,,,,1\n007,b,,,,1\n", 3, "duplicate key (code=007)", "first on line 2")


def test_errors_in_later_blocks_name_the_exact_line(tmp_path: Path) -> None:
    rows = "".join(f"{i},n{i},1.00,2024-01-01,,true\n" for i in range(1, 400))
    data = HEADER + rows + "400,n400,1.00,2024-13-01,,true\n"
    bad(tmp_path, data, 401, "column since", "'2024-13-01'", block_bytes=256)
    assert validate(tmp_path, HEADER + rows, block_bytes=256).rows == 399


def test_the_earliest_bad_line_of_a_block_is_reported(tmp_path: Path) -> None:
    data = HEADER + "1,a,1,2024-02-30,,true\n2,b,x,,,true\n"
    bad(tmp_path, data, 2, "column since", "not a valid date")


# --- validation: bad files (each must name file:line and exit 2) ---------------------------------

def test_wrong_header(tmp_path: Path) -> None:
    bad(tmp_path, HEADER.replace("price", "prize") + "1,a,,,,1\n", 1, "column 3 is 'prize', expected 'price'",
        "reference-data/dim_x.yaml")
    bad(tmp_path, "code,name\n1,a\n", 1, "missing price, since, changed_at, active")
    bad(tmp_path, HEADER.strip() + ",extra\n1,a,,,,1,x\n", 1, "unexpected extra")


def test_wrong_column_count(tmp_path: Path) -> None:
    bad(tmp_path, HEADER + "1,a,,,,1\n2,b,,,1\n", 3, "expected 6 fields, found 5")
    bad(tmp_path, HEADER + "1,a,,,,1,9\n", 2, "expected 6 fields, found 7")
    bad(tmp_path, HEADER + "1,a,,,,1\n\n2,b,,,,1\n", 3, "blank line")


def test_bad_dates_and_datetimes(tmp_path: Path) -> None:
    bad(tmp_path, HEADER + "1,a,,2024-01-01,,1\n2,b,,2024-02-30,,1\n", 3, "column since: '2024-02-30' is not a valid date")
    bad(tmp_path, HEADER + "1,a,,2024/01/01,,1\n", 2, "column since")
    bad(tmp_path, HEADER + "1,a,,20240101,,1\n", 2, "column since")
    bad(tmp_path, HEADER + "1,a,,,2024-01-01 25:00:00,1\n", 2, "column changed_at", "not a valid datetime")
    bad(tmp_path, HEADER + "1,a,,,2024-01-01 10:00:00+02:00,1\n", 2, "column changed_at")


def test_bad_integers_and_decimals(tmp_path: Path) -> None:
    bad(tmp_path, HEADER + "1,a,,,,1\n2x,b,,,,1\n", 3, "column code: '2x' is not an integer")
    bad(tmp_path, HEADER + "+5,a,,,,1\n", 2, "column code")
    bad(tmp_path, HEADER + " 5,a,,,,1\n", 2, "column code")
    bad(tmp_path, HEADER + "2147483648,a,,,,1\n", 2, "out of range for INT")
    bad(tmp_path, HEADER + "1,a,1.234,,,1\n", 2, "column price", "DECIMAL(8,2)")
    bad(tmp_path, HEADER + "1,a,1234567.5,,,1\n", 2, "column price")
    bad(tmp_path, HEADER + "1,a,1e5,,,1\n", 2, "column price")
    bad(tmp_path, HEADER + "1,a,,,,yes\n", 2, "column active: 'yes' is not a boolean")


def test_null_in_not_null_column(tmp_path: Path) -> None:
    bad(tmp_path, HEADER + "1,a,,,,1\n2,,,,,1\n", 3, "column name: empty value (NULL) in a NOT NULL column")
    bad(tmp_path, HEADER + ",a,,,,1\n", 2, "column code")


def test_duplicate_keys(tmp_path: Path) -> None:
    bad(tmp_path, HEADER + "1,a,,,,1\n2,b,,,,1\n3,c,,,,1\n2,d,,,,1\n", 5, "duplicate key (code=2)", "first on line 3")


def test_duplicate_composite_keys(tmp_path: Path) -> None:
    manifest = MANIFEST.replace("key: [code]", "key: [code, name]")
    path = write_ref(tmp_path, HEADER + "1,a,,,,1\n1,b,,,,1\n1,a,,,,0\n", manifest)
    m = refdata.load_manifest(path, tmp_path)
    with pytest.raises(InputError, match=r"dim_x.csv:4: duplicate key \(code=1, name=a\) \(first on line 2\)"):
        csvcheck.validate_csv(path, m.columns, m.key, display="reference-data/dim_x.csv")


def test_empty_file_and_header_only(tmp_path: Path) -> None:
    bad(tmp_path, b"", 1, "the file is empty")
    bad(tmp_path, b"\xef\xbb\xbf", 1, "no header line")
    bad(tmp_path, HEADER, 2, "no data rows")


def test_non_utf8(tmp_path: Path) -> None:
    data = (HEADER + "1,a,,,,1\n").encode() + "2,Caf\u00e9,,,,1\n".encode("latin-1")
    bad(tmp_path, data, 3, "not valid UTF-8", "0xe9")
    bad(tmp_path, "\ufeff".encode("utf-16"), 1, "not valid UTF-8")


def test_text_values_must_fit_and_stay_on_one_line(tmp_path: Path) -> None:
    bad(tmp_path, HEADER + "1,abcdefghijklmnopqrstu,,,,1\n", 2, "column name", "21 bytes long")
    bad(tmp_path, HEADER + "1," + "ü" * 11 + ",,,,1\n", 2, "22 bytes long, VARCHAR(20) allows 20")
    assert validate(tmp_path, HEADER + "1," + "ü" * 10 + ",,,,1\n").rows == 1
    bad(tmp_path, HEADER + '1,"two\nlines",,,,1\n', 2, "unterminated quoted value")
    bad(tmp_path, HEADER + "1,a\tb,,,,1\n", 2, "TAB")
    bad(tmp_path, HEADER + "1,\\N,,,,1\n", 2, "reserved for NULL")
    bad(tmp_path, HEADER + "1,a,,,,1\r2,b,,,,1\n", 2, "carriage return")


# --- parallel check of big files -----------------------------------------------------------------

def _many(n: int) -> str:
    return HEADER + "".join(f"{i},name {i},{i % 997}.25,2024-01-{i % 28 + 1:02d},,{'true' if i % 3 else 'false'}\n"
                            for i in range(1, n + 1))


def test_parallel_check_gives_the_sequential_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csvparallel, "_PART_MIN_BYTES", 1024)
    data = _many(3000)
    for fmt in ("escaped", "plain"):
        sequential = bulk_text(tmp_path, data, workers=1, block_bytes=4096, bulk_format=fmt)
        parallel = bulk_text(tmp_path, data, workers=3, block_bytes=4096, bulk_format=fmt)
        assert parallel == sequential and parallel.count("\n") == 3000
    assert validate(tmp_path, data, workers=3).sha256 == validate(tmp_path, data, workers=1).sha256


def test_parallel_check_reports_cross_part_duplicates_and_late_errors_exactly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csvparallel, "_PART_MIN_BYTES", 1024)
    lines = _many(3000).splitlines(keepends=True)
    dup = lines[:2990] + ["5,again,,,,true\n"] + lines[2991:]
    bad(tmp_path, "".join(dup), 2991, "duplicate key (code=5)", "first on line 6", workers=3)
    late = lines[:2500] + ["2500,x,,2024-02-31,,true\n"] + lines[2501:]
    bad(tmp_path, "".join(late), 2501, "2024-02-31", workers=3)


# --- manifest, statement, template ---------------------------------------------------------------

def test_manifest_problems_name_the_manifest(tmp_path: Path) -> None:
    path = write_ref(tmp_path, GOOD, MANIFEST.replace("type: INT", "type: INTEGR"))
    with pytest.raises(InputError, match=r"reference-data/dim_x.yaml: columns\[1\] \(code\): unknown type 'INTEGR'"):
        refdata.load_manifest(path, tmp_path)
    path = write_ref(tmp_path, GOOD, MANIFEST.replace("key: [code]", "key: [nope]"))
    with pytest.raises(InputError, match="key column 'nope' is not one of the columns"):
        refdata.load_manifest(path, tmp_path)
    path = write_ref(tmp_path, GOOD, MANIFEST.replace("source: unit tests\n", ""))
    with pytest.raises(InputError, match="missing field.*source"):
        refdata.load_manifest(path, tmp_path)
    (tmp_path / "reference-data" / "dim_x.yaml").unlink()
    with pytest.raises(InputError, match="dim_x.yaml: manifest missing"):
        refdata.load_manifest(path, tmp_path)


def test_key_columns_are_not_null(tmp_path: Path) -> None:
    manifest = MANIFEST.replace("key: [code]", "key: [code, price]")
    path = write_ref(tmp_path, HEADER + "1,a,,,,1\n", manifest)
    m = refdata.load_manifest(path, tmp_path)
    with pytest.raises(InputError, match="column price: empty value"):
        csvcheck.validate_csv(path, m.columns, m.key)


def test_statement_round_trip_and_template_global(tmp_path: Path) -> None:
    write_ref(tmp_path, GOOD)
    manifest, stats = refdata.check_csv(tmp_path, "dim_x.csv")
    assert stats.rows == 3
    sql = refdata.load_statement("dim_x.csv", manifest)
    assert sql == "ROCKWAY LOAD CSV 'dim_x.csv' INTO dim_x"
    assert refdata.parse_statement(sql) == ("dim_x.csv", None, "dim_x")
    assert refdata.parse_statement("rockway load csv 'a/b.csv' into `db`.`t`;") == ("a/b.csv", "db", "t")
    from rockway.extensions import template_globals

    renderer = Renderer(tmp_path, {}, engine="mysql")
    renderer.globals.update(template_globals(Settings(project_dir=tmp_path), "mysql"))
    assert renderer.render_text(SEED, "repeatable/R__seed_x.sql") == sql + "\n"
    assert renderer.render_text("{{ load_csv('dim_x.csv', database='sales_dw') }}", "repeatable/R__seed_x.sql") == \
        "ROCKWAY LOAD CSV 'dim_x.csv' INTO sales_dw.dim_x"
    with pytest.raises(InputError, match="must be a relative path"):
        renderer.render_text("{{ load_csv('../secret.csv') }}", "repeatable/R__x.sql")


def test_pending_load_repeats_a_kill_that_came_too_early() -> None:
    kills: list[str] = []
    stop = threading.Event()

    def run(pending: PendingLoad) -> Any:
        pending.running("session-1")
        stop.wait(10)  # a statement that ignored the first KILL (it arrived before the statement began)
        pending.finished()
        raise DatabaseError("(1317) Query execution was interrupted")

    def kill(session: Any) -> None:
        kills.append(session)
        if len(kills) >= 2:
            stop.set()

    pending = PendingLoad(run, kill=kill).start()
    while pending._session is None:
        threading.Event().wait(0.01)
    pending.abandon(poll=0.05)
    assert pending.done() and kills[:2] == ["session-1", "session-1"]

    def never(p: PendingLoad) -> Any:
        p.running("session-2")
        raise AssertionError("the statement was sent after cancel()")

    early = PendingLoad(never, kill=kill)
    early.cancel()  # before the worker started: it never sends its statement, and nothing is killed
    early.start()
    with pytest.raises(LoadCancelled):
        early.wait()
    assert "session-2" not in kills


# --- StarRocks: Stream Load against a fake FE (307) and BE ----------------------------------------

# Stream Load bodies. Success with 1 filtered row: https://docs.starrocks.io/docs/quick_start/shared-nothing/.
SUCCESS_FILTERED = """{
    "TxnId": 2,
    "Label": "crashdata-0",
    "Status": "Success",
    "Message": "OK",
    "NumberTotalRows": 423726,
    "NumberLoadedRows": 423725,
    "NumberFilteredRows": 1,
    "NumberUnselectedRows": 0,
    "LoadBytes": 96227746,
    "LoadTimeMs": 1013,
    "BeginTxnTimeMs": 21,
    "StreamLoadPlanTimeMs": 63,
    "ReadDataTimeMs": 563,
    "WriteDataTimeMs": 870,
    "CommitAndPublishTimeMs": 57,
    "ErrorURL": "http://127.0.0.1:8040/api/_load_error_log?file=error_log_da41dd88276a7bfc_739087c94262ae9f"
}"""
# [INFERRED composition] the same layout with nothing filtered (what a clean 3-row load answers).
SUCCESS = """{
    "TxnId": 2,
    "Label": "%s",
    "Status": "Success",
    "Message": "OK",
    "NumberTotalRows": 3,
    "NumberLoadedRows": 3,
    "NumberFilteredRows": 0,
    "NumberUnselectedRows": 0,
    "LoadBytes": 160,
    "LoadTimeMs": 113,
    "BeginTxnTimeMs": 21,
    "StreamLoadPlanTimeMs": 63,
    "ReadDataTimeMs": 3,
    "WriteDataTimeMs": 10,
    "CommitAndPublishTimeMs": 57
}"""
# StarRocks test/sql/test_stream_load/R/test_stream_load_label_already_exist L31-37.
LABEL_EXISTS = """{
    "TxnId": -1,
    "Label": "test_stream_load_label_already_exist",
    "Status": "Label Already Exists",
    "ExistingJobStatus": "FINISHED",
    "Message": "Label [test_stream_load_label_already_exist] has already been used."
}"""
# StarRocks PR #21122, the output pasted in its description (compacted there; the server pretty-prints).
FAIL = """{"TxnId": 28029, "Label": "74469448-9990-40ad-991d-1eb8f80f1e9d", "Status": "Fail", "Message": "too many filtered rows", "NumberTotalRows": 2,
 "NumberLoadedRows": 2, "NumberFilteredRows": 1, "NumberUnselectedRows": 0, "LoadBytes": 8, "LoadTimeMs": 254, "BeginTxnTimeMs": 95, "StreamLoadPlanTimeMs": 140,
 "ReadDataTimeMs": 0, "WriteDataTimeMs": 19, "CommitAndPublishTimeMs": 0,
 "ErrorURL": "http://172.26.34.214:8040/api/_load_error_log?file=error_log_8d47259b59066ce5_25a86eb4561a3690", "RejectedRecordPath": "172.26.34.214:/disk1/…"}"""
# StarRocks issue #771: Status "Publish Timeout" with this Message, Number*/…TimeMs as usual [INFERRED values].
PUBLISH_TIMEOUT = """{
    "TxnId": 7,
    "Label": "%s",
    "Status": "Publish Timeout",
    "Message": "transaction commit successfully, BUT data will be visible later",
    "NumberTotalRows": 3,
    "NumberLoadedRows": 3,
    "NumberFilteredRows": 0,
    "NumberUnselectedRows": 0,
    "LoadBytes": 160,
    "LoadTimeMs": 10013,
    "BeginTxnTimeMs": 1,
    "StreamLoadPlanTimeMs": 3,
    "ReadDataTimeMs": 1,
    "WriteDataTimeMs": 9,
    "CommitAndPublishTimeMs": 0
}"""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler: type, **state: Any) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.requests: list[dict[str, Any]] = []
        self.__dict__.update(state)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class FakeFE(BaseHTTPRequestHandler):
    """Answers before the body, with 307 to the BE, like LoadAction.redirectTo; records whether a body came."""

    protocol_version = "HTTP/1.1"

    def handle_expect_100(self) -> bool:
        return True  # no 100 Continue: the FE redirects first

    def do_PUT(self) -> None:  # noqa: N802
        server: Any = self.server
        self.send_response(307)
        self.send_header("Location", f"http://127.0.0.1:{server.be_port}{self.path}")
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.wfile.flush()
        self.connection.settimeout(0.3)
        try:
            early = self.rfile.read1(65536)
        except (socket.timeout, OSError):
            early = b""
        server.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                "body_bytes": len(early)})
        self.close_connection = True

    def log_message(self, *args: Any) -> None:
        return None


class FakeBE(BaseHTTPRequestHandler):
    """Sends 100 Continue (http.server does), reads the body, answers the next scripted body."""

    protocol_version = "HTTP/1.1"

    def do_PUT(self) -> None:  # noqa: N802
        server: Any = self.server
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})
        answer = server.answers.pop(0)
        if answer == "drop":
            self.close_connection = True
            return
        text = answer % self.headers.get("label", "") if "%s" in answer else answer
        data = text.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        return None


class SilentBE(FakeBE):
    """A BE that never says 100 Continue: the client must send the body after waiting."""

    def handle_expect_100(self) -> bool:
        return True


@pytest.fixture
def starrocks_http() -> Iterator[tuple[_Server, _Server]]:
    be = _Server(FakeBE, answers=[])
    fe = _Server(FakeFE, be_port=be.port)
    try:
        yield fe, be
    finally:
        fe.stop()
        be.stop()


def _auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_stream_load_follows_the_redirect_with_the_same_request(starrocks_http, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fe, be = starrocks_http
    be.answers.append(SUCCESS)
    body = tmp_path / "rows.tsv"
    body.write_bytes(b"1\tAlpha\t\\N\n2\tBeta\t3.50\n")
    client = StreamLoadClient("127.0.0.1", fe.port, "etl", "s3cret:x")
    outcome = stream_load(client, "sales", "dim_x__rw_stage", body, label="rockway_seed_dim_x_abc_1234",
                          columns=["code", "name", "price"], timeout=30)
    assert outcome.rows == 3 and outcome.visible and not outcome.already_loaded and outcome.method == "Stream Load"
    assert len(fe.requests) == 1 and len(be.requests) == 1
    fe_req, be_req = fe.requests[0], be.requests[0]
    assert fe_req["method"] == be_req["method"] == "PUT"
    assert fe_req["path"] == be_req["path"] == "/api/sales/dim_x__rw_stage/_stream_load"
    assert fe_req["body_bytes"] == 0  # nothing sent before the FE answered
    assert be_req["body"] == body.read_bytes()
    for headers in (fe_req["headers"], be_req["headers"]):
        assert headers["Expect"] == "100-continue"
        assert headers["Authorization"] == _auth("etl", "s3cret:x")
        assert headers["label"] == "rockway_seed_dim_x_abc_1234"
        assert headers["columns"] == "code,name,price"
        assert (headers["format"], headers["column_separator"], headers["strict_mode"], headers["max_filter_ratio"]) == \
            ("csv", "\\x09", "true", "0")
        assert headers["timeout"] == "30"
        assert headers["Content-Length"] == str(len(body.read_bytes()))


def test_stream_load_outcomes_from_recorded_bodies(starrocks_http, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fe, be = starrocks_http
    body = b"1\ta\n"
    client = StreamLoadClient("127.0.0.1", fe.port, "root", "")

    def load() -> Any:
        return stream_load(client, "db", "t", body, label="l1", columns=["a", "b"], poll_interval=0)

    be.answers.append(LABEL_EXISTS)
    outcome = load()
    assert outcome.already_loaded and not outcome.visible and outcome.rows == -1

    be.answers.append(FAIL)
    with pytest.raises(StreamLoadError) as info:
        load()
    assert "failed: Fail: too many filtered rows" in str(info.value)
    assert "ErrorURL: http://172.26.34.214:8040/api/_load_error_log?file=error_log_8d47259b59066ce5_25a86eb4561a3690" \
        in str(info.value)

    be.answers.append(SUCCESS_FILTERED)
    with pytest.raises(StreamLoadError, match=r"filtered 1 row\(s\): OK; rejected rows: http://127.0.0.1:8040/api/"):
        load()

    be.answers.append(PUBLISH_TIMEOUT)
    outcome = load()
    assert not outcome.visible and outcome.rows == 3 and not outcome.already_loaded

    be.answers.extend([LABEL_EXISTS.replace('"FINISHED"', '"RUNNING"'), LABEL_EXISTS])
    assert load().already_loaded
    assert [r["headers"]["label"] for r in be.requests[-2:]] == ["l1", "l1"]

    be.answers.extend(["drop", SUCCESS])
    assert load().rows == 3  # a broken connection is retried with the same label
    assert [r["headers"]["label"] for r in be.requests[-2:]] == ["l1", "l1"]


def test_stream_load_sends_the_body_when_the_server_never_says_continue(tmp_path: Path) -> None:
    be = _Server(SilentBE, answers=[SUCCESS])
    try:
        client = StreamLoadClient("127.0.0.1", be.port, "root", "", expect_wait=0.2)
        outcome = stream_load(client, "db", "t", b"1\t2\n", label="l2", columns=["a", "b"])
        assert outcome.rows == 3 and be.requests[0]["body"] == b"1\t2\n"
    finally:
        be.stop()


# --- StarRocks: the SQL side against recorded-style replay ----------------------------------------

STAGE = "`db`.`dim_x__rw_stage`"
MVS = "SELECT TABLE_NAME FROM information_schema.materialized_views WHERE TABLE_SCHEMA = 'db' AND IS_ACTIVE = 'false'"


def _prelude() -> list[Step]:
    return [
        q("SELECT 1 FROM information_schema.tables WHERE table_schema = 'db' AND table_name = 'dim_x'", ("1",), [(1,)]),
        q("SELECT column_name FROM information_schema.columns WHERE table_schema = 'db' AND table_name = 'dim_x'"
          " ORDER BY ordinal_position", ("column_name",),
          [("code",), ("name",), ("price",), ("since",), ("changed_at",), ("active",)]),
        q(f"DROP TABLE IF EXISTS {STAGE} FORCE"),
        q(f"CREATE TABLE {STAGE} LIKE `db`.`dim_x`"),
    ]


def _swap(newly_inactive: list[tuple[str]] = []) -> list[Step]:  # noqa: B006 - read only
    steps = [q(MVS, ("TABLE_NAME",), [("mv_old_broken",)]),
             q("ALTER TABLE `db`.`dim_x` SWAP WITH `dim_x__rw_stage`"),
             q(f"DROP TABLE IF EXISTS {STAGE} FORCE"),
             q(MVS, ("TABLE_NAME",), [("mv_old_broken",)] + newly_inactive)]
    steps += [q(f"ALTER MATERIALIZED VIEW `db`.`{name}` ACTIVE") for (name,) in newly_inactive]
    return steps


def _starrocks(tmp_path: Path, fe_port: int, steps: list[Step]) -> tuple[StarRocksAdapter, ReplayConnection, Settings]:
    write_ref(tmp_path, GOOD)
    conn = ReplayConnection(steps)
    dsn = parse_dsn(f"starrocks://loader:pw@127.0.0.1:9030/db?http_port={fe_port}")
    adapter = StarRocksAdapter(conn, dsn, Timeouts(), "3.3.5-abc1234")
    return adapter, conn, Settings(project_dir=tmp_path, poll_interval=0.01, read_timeout=60)


STMT = Statement(1, "ROCKWAY LOAD CSV 'dim_x.csv' INTO dim_x", 1)


def test_starrocks_load_stages_streams_verifies_swaps_and_reactivates_mvs(starrocks_http, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fe, be = starrocks_http
    be.answers.append(SUCCESS)
    steps = _prelude() + [q(f"SELECT COUNT(*) FROM {STAGE}", ("COUNT(*)",), [(3,)])] + _swap([("mv_sales_by_material",)])
    adapter, conn, settings = _starrocks(tmp_path, fe.port, steps)
    progress: list[str] = []
    result = refdata.handle_load_csv(adapter, STMT, settings, progress.append)
    conn.assert_done()
    assert not any(s.upper().startswith(("BEGIN", "START")) for s in conn.sent)
    label = be.requests[0]["headers"]["label"]
    sha = refdata.check_csv(tmp_path, "dim_x.csv")[1].sha256
    assert re.fullmatch(rf"rockway_seed_dim_x_{sha[:12]}_[0-9a-f]{{8}}", label)
    assert result.rowcount == 3 and result.async_jobs == (f"stream_load:{label}",)
    assert be.requests[0]["path"] == "/api/db/dim_x__rw_stage/_stream_load"
    assert be.requests[0]["headers"]["Authorization"] == _auth("loader", "pw")
    assert be.requests[0]["body"].decode("utf-8") == (
        "1\tAlpha\t10.50\t2024-01-31\t2024-02-01 10:00:00\t1\n"
        "2\tBeta, the second\t\\N\t2023-12-01\t2024-02-01 11:30:00\t0\n"
        '3\tGämma "γ"\t0.99\t\\N\t\\N\t1\n')
    assert any("reactivated materialized view `db`.`mv_sales_by_material`" in p for p in progress)


def test_starrocks_failed_stream_load_drops_the_staging_table_and_never_swaps(starrocks_http, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fe, be = starrocks_http
    be.answers.append(FAIL)
    adapter, conn, settings = _starrocks(tmp_path, fe.port, _prelude() + [q(f"DROP TABLE IF EXISTS {STAGE} FORCE")])
    with pytest.raises(StreamLoadError, match="too many filtered rows"):
        refdata.handle_load_csv(adapter, STMT, settings, lambda m: None)
    conn.assert_done()
    assert not any("SWAP" in s for s in conn.sent)


def test_starrocks_row_count_mismatch_never_swaps(starrocks_http, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fe, be = starrocks_http
    be.answers.append(SUCCESS)
    steps = _prelude() + [q(f"SELECT COUNT(*) FROM {STAGE}", ("COUNT(*)",), [(2,)]),
                          q(f"DROP TABLE IF EXISTS {STAGE} FORCE")]
    adapter, conn, settings = _starrocks(tmp_path, fe.port, steps)
    with pytest.raises(DatabaseError, match="holds 2 rows after the load but reference-data/dim_x.csv has 3"):
        refdata.handle_load_csv(adapter, STMT, settings, lambda m: None)
    conn.assert_done()



def test_starrocks_loaded_rows_must_match_the_csv_before_any_count(starrocks_http, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fe, be = starrocks_http
    be.answers.append(SUCCESS.replace('"NumberTotalRows": 3', '"NumberTotalRows": 2')
                      .replace('"NumberLoadedRows": 3', '"NumberLoadedRows": 2'))
    adapter, conn, settings = _starrocks(tmp_path, fe.port, _prelude() + [q(f"DROP TABLE IF EXISTS {STAGE} FORCE")])
    with pytest.raises(DatabaseError, match="Stream Load reports 2 rows loaded into the staging table but"
                                            " reference-data/dim_x.csv has 3"):
        refdata.handle_load_csv(adapter, STMT, settings, lambda m: None)
    conn.assert_done()
    assert not any("SWAP" in s or "COUNT" in s for s in conn.sent)

def test_starrocks_publish_timeout_waits_until_the_rows_are_visible(starrocks_http, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fe, be = starrocks_http
    be.answers.append(PUBLISH_TIMEOUT)
    count = f"SELECT COUNT(*) FROM {STAGE}"
    steps = _prelude() + [q(count, ("COUNT(*)",), [(0,)]), q(count, ("COUNT(*)",), [(3,)])] + _swap()
    adapter, conn, settings = _starrocks(tmp_path, fe.port, steps)
    progress: list[str] = []
    assert refdata.handle_load_csv(adapter, STMT, settings, progress.append).rowcount == 3
    conn.assert_done()
    assert any("Publish Timeout" in p for p in progress) and any("0 of 3 rows visible" in p for p in progress)


def test_starrocks_label_already_loaded_is_verified_by_count(starrocks_http, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fe, be = starrocks_http
    be.answers.append(LABEL_EXISTS)
    steps = _prelude() + [q(f"SELECT COUNT(*) FROM {STAGE}", ("COUNT(*)",), [(3,)])] + _swap()
    adapter, conn, settings = _starrocks(tmp_path, fe.port, steps)
    assert refdata.handle_load_csv(adapter, STMT, settings, lambda m: None).rowcount == 3
    conn.assert_done()
