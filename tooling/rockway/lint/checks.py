"""The check of each lint rule (rules.py registers them): per statement, `(offset, message)` pairs; per script,
`Hit`s. The rule syntax follows StarRocks' SQL grammar and the analyzer messages it produces; tests/cases/lint
holds each rule's cases: statements from StarRocks' documentation and MySQL-only statements StarRocks rejects.
"""

from __future__ import annotations

import re
from typing import Iterator

from rockway.lint.statement import NAME, Hit, LintScript, LintStatement, close_paren, depth_at, hash_comment_offsets
from rockway.model import Kind
from rockway.templating import has_sql

def timestamp_type(st: LintStatement) -> Iterator[tuple[int, str]]:
    for col in st.columns:
        if col.type == "TIMESTAMP":
            yield col.start, (f"column {col.name}: StarRocks has no TIMESTAMP type; use DATETIME "
                              "(no time zone; store UTC)")
    for m in st.find(r"\bCAST\s*\((?:[^()]|\([^()]*\))*?\bAS\s+TIMESTAMP\b"):
        yield m.start(), "CAST(… AS TIMESTAMP): StarRocks has no TIMESTAMP type; cast AS DATETIME"
    for m in st.find(r"\bTIMESTAMP\s*'"):
        yield m.start(), "TIMESTAMP '…' is no StarRocks literal; write DATETIME '…' (or CAST('…' AS DATETIME))"


def datetime_precision(st: LintStatement) -> Iterator[tuple[int, str]]:
    for col in st.columns:
        if col.type in ("DATETIME", "TIMESTAMP") and col.args:
            yield col.start, (f"column {col.name}: StarRocks rejects {col.type}{col.args}; write DATETIME "
                              "without a precision (it keeps microseconds)")
    for m in st.find(r"\bAS\s+(?:DATETIME|TIMESTAMP)\s*\(\s*\d+\s*\)"):
        yield m.start(), "StarRocks rejects a DATETIME precision; cast AS DATETIME (it keeps microseconds)"


_KEY_HINT = "declare the key after the column list, e.g. `) PRIMARY KEY (id) DISTRIBUTED BY HASH(id)`, " \
            "with the key columns first and NOT NULL"


def inline_key(st: LintStatement) -> Iterator[tuple[int, str]]:
    for col in st.columns:
        m = re.search(r"\b(PRIMARY\s+KEY|UNIQUE(?:\s+KEY)?)\b", col.rest, re.I)
        if m:
            yield col.start, (f"column {col.name}: StarRocks has no inline {m.group(1).upper()}; {_KEY_HINT}")
    for a, b in st.table_elements:
        m = re.match(r"\s*(?:CONSTRAINT\s+(?:\S+\s+)?)?(PRIMARY\s+KEY|UNIQUE)\b", st.masked[a:b], re.I)
        if m:
            yield a, f"{m.group(1).upper()} inside the column list: {_KEY_HINT}"
    for a, b in st.alter_clauses:
        m = re.match(r"\s*(ADD|DROP)\s+(?:CONSTRAINT\s+(?:\S+\s+)?)?(PRIMARY\s+KEY|UNIQUE)\b", st.masked[a:b], re.I)
        if m:
            yield a, (f"ALTER TABLE … {m.group(1).upper()} {m.group(2).upper()}: a StarRocks table's key is "
                      "fixed at CREATE TABLE; create a new table with the key and swap it in "
                      "(ALTER TABLE old SWAP WITH new)")


def auto_increment_type(st: LintStatement) -> Iterator[tuple[int, str]]:
    for col in st.columns:
        if re.search(r"\bAUTO_INCREMENT\b", col.rest, re.I) and col.type != "BIGINT":
            yield col.start, (f"column {col.name}: AUTO_INCREMENT columns must be BIGINT "
                              f"(StarRocks 3.0+), not {col.type}; write `{col.name} BIGINT NOT NULL AUTO_INCREMENT`")


def on_update(st: LintStatement) -> Iterator[tuple[int, str]]:
    for m in st.find(r"\bON\s+UPDATE\s+(?:CURRENT_TIMESTAMP|NOW|LOCALTIMESTAMP|LOCALTIME)\b"):
        yield m.start(), ("StarRocks has no ON UPDATE CURRENT_TIMESTAMP; keep `DEFAULT CURRENT_TIMESTAMP` and set "
                          "the column in the loads/UPDATEs that change a row")


_ENGINES = {"OLAP", "MYSQL", "ELASTICSEARCH", "HIVE", "ICEBERG", "HUDI", "JDBC", "BROKER", "FILE", "DELTALAKE",
            "PAIMON", "ODPS", "KUDU"}


def engine(st: LintStatement) -> Iterator[tuple[int, str]]:
    ct = st.create_table
    region = ct.options if ct else ((0, len(st.masked)) if st.alter_table else None)
    if region is None:
        return
    for m in st.find(r"\bENGINE\s*=?\s*([A-Za-z_]\w*)", region):
        engine = m.group(1).upper()
        if st.alter_table:
            yield m.start(), "ALTER TABLE … ENGINE=: a StarRocks table's engine cannot be changed; remove it"
        elif engine not in _ENGINES:
            yield m.start(), (f"ENGINE={m.group(1)} is MySQL; StarRocks tables use ENGINE=OLAP "
                              "(the default): remove the clause")
        elif ct and ct.modifier == "TEMPORARY" and engine != "OLAP":
            yield m.start(), "temporary tables support only ENGINE=OLAP"


_MYSQL_ALTER_OPTIONS = r"ROW_FORMAT|KEY_BLOCK_SIZE|AVG_ROW_LENGTH|MAX_ROWS|MIN_ROWS|PACK_KEYS|CHECKSUM|" \
                       r"DELAY_KEY_WRITE|STATS_PERSISTENT|STATS_AUTO_RECALC|STATS_SAMPLE_PAGES|INSERT_METHOD|" \
                       r"TABLESPACE|ENCRYPTION|COMPRESSION"
_MYSQL_OPTIONS = _MYSQL_ALTER_OPTIONS + "|AUTO_INCREMENT|COMMENT"


def mysql_table_option(st: LintStatement) -> Iterator[tuple[int, str]]:
    ct = st.create_table
    if ct:
        opts = ct.options
        charset = r"\b(?:DEFAULT\s+)?(?:CHARSET|CHARACTER\s+SET|CHAR\s+SET)\s*=?\s*('[^']*'|\"[^\"]*\"|\w+)"
        for m in st.find(charset, opts):
            value = st.original(*m.span(1)).strip("'\"")
            if value.lower() != "utf8":
                yield m.start(), (f"charset {value}: StarRocks tables accept only utf8 (strings are UTF-8 "
                                  "already); remove DEFAULT CHARSET")
        for m in st.find(rf"\b({_MYSQL_OPTIONS})\s*=", opts):
            word = m.group(1).upper()
            if word == "COMMENT":
                yield m.start(), "table COMMENT takes no '=': write COMMENT \"…\" right after the key clause"
            else:
                yield m.start(), (f"{word}= is a MySQL table option; StarRocks rejects it (table settings go in "
                                  "PROPERTIES (\"key\" = \"value\"))")
        regions = [opts, *ct.elements]
    elif st.alter_table:
        regions = [(0, len(st.masked))]
        for a, b in st.alter_clauses:
            option = re.match(rf"\s*(CONVERT\s+TO|DEFAULT\s+CHARSET|DEFAULT\s+CHARACTER|CHARSET|CHARACTER\s+SET|"
                              rf"(?:{_MYSQL_ALTER_OPTIONS})\s*=)", st.masked[a:b], re.I)
            if option:
                yield a, f"ALTER TABLE … {option.group(1).upper().rstrip('= ')}: MySQL table option; StarRocks rejects it"
    else:
        return
    for a, b in regions:
        for m in st.find(r"\bCOLLATE\b", (a, b)):
            yield m.start(), "StarRocks tables and columns have no COLLATE; remove it"


def hash_comment(script: LintScript) -> Iterator[Hit]:
    message = "`#` starts no comment in StarRocks; use `-- …` or `/* … */`"
    if script.text:
        for off in hash_comment_offsets(script.text):
            line = script.text.count("\n", 0, off) + 1
            owner = next((st.stmt.index for st in script.stmts
                          if st.line_at(0) <= line <= st.line_at(len(st.sql))), None)
            yield Hit(message, owner, line=line)
    else:
        for st in script.stmts:
            for off in st.hashes:
                yield Hit(message, st.stmt.index, off)


_DQ_AFTER = re.compile(r"\b(?:TABLE|VIEW|INTO|OVERWRITE|UPDATE|JOIN|INDEX|(?<!\bIN\s)DATABASE|SCHEMA|LABEL|COLUMN)\s+"
                       r"(?:IF\s+(?:NOT\s+)?EXISTS\s+)?$", re.I)
_DQ_FUNCS_WITH_FROM = re.compile(r"\b(?:EXTRACT|TRIM|SUBSTRING|SUBSTR|POSITION|OVERLAY)\s*$", re.I)


def double_quoted_identifier(st: LintStatement) -> Iterator[tuple[int, str]]:
    msg = 'double quotes make a string in StarRocks, not an identifier: write `{}` (backticks) instead of "{}"'
    if st.verb in ("GRANT", "REVOKE", "SET", "SHOW", "USE"):  # these take strings for names
        return
    masked, flagged = st.masked, set()
    on_index = r"|ON\s+\S+" if st.verb == "CREATE" and "INDEX" in st.words[:3] else ""
    ident_lists = [m.span(1) for m in st.find(rf"\b(?:KEY|HASH|INDEX\s+\S+{on_index})\s*\(([^()]*)\)")]
    ident_lists += [m.span(1) for m in st.find(rf"\b(?:INTO|OVERWRITE|VIEW)\s+(?!FILES\b|BLACKHOLE\b){NAME}\s*"
                                               r"(?:PARTITION\s*\([^()]*\)\s*)?\(([^()]*)\)")]
    col_starts = {col.start for col in st.columns} | {a for a, _ in st.elements}
    for a, b in st.dquotes:
        before = masked[max(0, a - 60):a]
        after = masked[b:b + 3]
        name = st.original(a + 1, b - 1)
        if (_DQ_AFTER.search(before) or re.search(r"\.\s*$", before) or re.match(r"\s*\.", after)
                or a in col_starts or any(x <= a < y for x, y in ident_lists)):
            flagged.add(a)
        elif re.search(r"\bFROM\s+$", before, re.I):
            opened = masked.rfind("(", 0, a)
            if depth_at(masked, a) == 0 or not _DQ_FUNCS_WITH_FROM.search(masked, max(0, opened - 12), opened):
                flagged.add(a)
        if a in flagged:
            yield a, msg.format(name, name)


def on_duplicate_key(st: LintStatement) -> Iterator[tuple[int, str]]:
    for m in st.find(r"\bON\s+DUPLICATE\s+KEY\s+UPDATE\b"):
        yield m.start(), ("StarRocks has no ON DUPLICATE KEY UPDATE: INSERT into a Primary Key table already "
                          "replaces the row with the same key; with a column list (3.3.1+) it updates only "
                          "those columns. Otherwise use UPDATE")


_TXN_SAFE = {"SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "SET", "SHOW", "BEGIN", "START", "COMMIT",
             "ROLLBACK", "EXPLAIN", "DESC", "DESCRIBE", "SAVEPOINT", "RELEASE"}


def transaction_control(script: LintScript) -> Iterator[Hit]:
    ddl = next((st for st in script.stmts if st.verb and st.verb not in _TXN_SAFE), None)
    opened: LintStatement | None = None
    for st in script.stmts:
        if st.words[:1] == ["BEGIN"] or st.words[:2] == ["START", "TRANSACTION"]:
            opened = st
        elif st.words[:1] in (["COMMIT"], ["ROLLBACK"]):
            opened = None
        elif opened is not None and st.verb and st.verb not in _TXN_SAFE:
            yield Hit(f"statement {st.stmt.index} runs inside the transaction opened at statement "
                      f"{opened.stmt.index}: StarRocks rejects everything but SET, SELECT, SHOW and DML "
                      "there; DDL is never transactional", st.stmt.index)
    for st in script.stmts:
        words = st.words[:2]
        autocommit = st.find(r"^\s*SET\s+(?:SESSION\s+|@@)?autocommit\s*=\s*(?:0|OFF|FALSE)\b")
        if not (words[:1] in (["BEGIN"], ["COMMIT"], ["ROLLBACK"], ["SAVEPOINT"]) or words == ["START", "TRANSACTION"]
                or next(autocommit, None)):
            continue
        if ddl is not None:
            yield Hit(f"{' '.join(words) or 'transaction control'}: this script has DDL (statement "
                      f"{ddl.stmt.index}: {ddl.stmt.first_line[:60]}); DDL is never transactional, so a "
                      "transaction cannot make this migration atomic, and StarRocks rejects DDL inside one. "
                      "rockway runs each statement in autocommit and resumes at the failed statement: "
                      "remove the transaction statements", st.stmt.index)
        else:
            yield Hit(f"{' '.join(words)}: explicit transactions need StarRocks 3.5+ and cover only INSERT "
                      "(UPDATE/DELETE from 4.0); before 3.5 they are accepted and ignored. rockway runs each "
                      "statement in autocommit and records progress per statement", st.stmt.index,
                      severity="warning")


def locking(st: LintStatement) -> Iterator[tuple[int, str]]:
    pattern = (r"^\s*(?:UN)?LOCK\s+TABLES?\b|\bFOR\s+UPDATE\b|\bLOCK\s+IN\s+SHARE\s+MODE\b|\bFOR\s+SHARE\b|"
               r"\b(?:GET_LOCK|RELEASE_LOCK|RELEASE_ALL_LOCKS|IS_FREE_LOCK|IS_USED_LOCK)\s*\(")
    for m in st.find(pattern):
        what = " ".join(m.group(0).split()).rstrip("(").upper()
        yield m.start(), (f"{what}: StarRocks has no table, row or advisory locks (it parses LOCK/UNLOCK TABLES "
                          "for client compatibility only); rockway holds its own run lock, and a Primary Key "
                          "table makes writes idempotent")


_INDEX_HINT = "StarRocks indexes are one column each: `CREATE INDEX i ON t (c) [USING BITMAP|NGRAMBF|GIN|VECTOR]`"


def mysql_index(st: LintStatement) -> Iterator[tuple[int, str]]:
    m = re.match(rf"\s*CREATE\s+(?:(UNIQUE|FULLTEXT|SPATIAL)\s+)?INDEX\s+(IF\s+NOT\s+EXISTS\s+)?\S+\s+ON\s+{NAME}\s*",
                 st.masked, re.I)
    if m:
        if m.group(1):
            yield 0, f"CREATE {m.group(1).upper()} INDEX is MySQL; {_INDEX_HINT} (a table's key is its uniqueness)"
        if m.group(2):
            yield 0, f"CREATE INDEX IF NOT EXISTS is not StarRocks syntax; {_INDEX_HINT}"
        if st.masked[m.end():m.end() + 1] == "(":
            cols = st.masked[m.end() + 1:close_paren(st.masked, m.end())]
            if "," in cols or re.search(r"\(|\b(?:ASC|DESC)\b", cols, re.I):
                yield m.end(), f"index on ({' '.join(cols.split())}): {_INDEX_HINT}"
    for a, b in st.table_elements:
        e = re.match(r"\s*(FULLTEXT|SPATIAL|KEY|INDEX)\b", st.masked[a:b], re.I)
        if e and (e.group(1).upper() != "INDEX" or re.search(r"\bUSING\s+(?:BTREE|HASH)\b", st.masked[a:b], re.I)):
            yield a, f"{e.group(1).upper()} … in the column list is a MySQL index; use `INDEX i (c) USING BITMAP`"
    for a, b in st.alter_clauses:
        e = re.match(r"\s*(ADD|DROP)\s+(FULLTEXT|SPATIAL|KEY|INDEX)\b", st.masked[a:b], re.I)
        if e and (e.group(2).upper() != "INDEX" or re.search(r"\bUSING\s+(?:BTREE|HASH)\b", st.masked[a:b], re.I)):
            yield a, f"{e.group(1).upper()} {e.group(2).upper()} is MySQL; {_INDEX_HINT} (DROP INDEX i ON t)"
    if m:
        for u in st.find(r"\bUSING\s+(BTREE|HASH)\b"):
            yield u.start(), f"USING {u.group(1).upper()}: {_INDEX_HINT}"


def foreign_key(st: LintStatement) -> Iterator[tuple[int, str]]:
    if not (st.create_table or st.alter_table):
        return
    for m in st.find(r"\bFOREIGN\s+KEY\b|\bREFERENCES\b|(?:\bCONSTRAINT\s+\S+\s+)?\bCHECK\s*\("):
        if "CHECK" in m.group(0).upper():
            yield m.start(), "StarRocks has no CHECK constraints; remove it and test the data with a verify check"
        else:
            yield m.start(), ("StarRocks has no foreign keys; remove it (to help MV query rewrite, declare the "
                              "relation in PROPERTIES (\"foreign_key_constraints\" = \"…\"))")


def drop_if_exists(script: LintScript) -> Iterator[Hit]:
    why = {Kind.VERSIONED: "if the object is already gone (another environment, a hand fix) the migration stops",
           Kind.UNDO: "undo often runs after a migration that failed half way, when the object may not exist",
           Kind.REPEATABLE: "repeatable scripts re-run, and the first run fails when the object does not exist yet"}
    for st in script.stmts:
        m = re.match(r"\s*DROP\s+(?:TEMPORARY\s+)?(TABLE|VIEW|DATABASE|SCHEMA|MATERIALIZED\s+VIEW)\s+(?!IF\s+EXISTS\b)",
                     st.masked, re.I)
        if m:
            what = " ".join(m.group(1).upper().split())
            yield Hit(f"DROP {what} without IF EXISTS: {why[script.kind]}; write DROP {what} IF EXISTS",
                      st.stmt.index, m.start(1))


_SYNC_CLAUSES = re.compile(r"\s*(?:RENAME|SWAP|COMMENT|SET|AUTO_INCREMENT|TRUNCATE|REPLACE|"
                           r"(?:ADD|DROP)\s+(?:TEMPORARY\s+)?PARTITIONS?|MODIFY\s+PARTITION|"
                           r"MODIFY\s+COLUMN\s+\S+\s+COMMENT\b|DROP\s+ALL\s+TEMPORARY)\b", re.I)


def repeated_alter(script: LintScript) -> Iterator[Hit]:
    seen: dict[str, LintStatement] = {}
    for st in script.stmts:
        at = st.alter_table
        if at and not all(_SYNC_CLAUSES.match(st.masked[a:b]) for a, b in at.clauses):
            name = at.name
        else:
            m = re.match(rf"\s*(?:CREATE|DROP)\s+INDEX\s+\S+\s+ON\s+({NAME})", st.masked, re.I)
            if not m:
                continue
            name = st.original(*m.span(1))
        key = re.sub(r"[`\s]", "", name).lower()
        if key in seen:
            first = seen[key].stmt
            yield Hit(f"schema change on {name} again (first at statement {first.index}, line {first.line}): "
                      "StarRocks runs one schema change per table at a time, so rockway waits for the earlier "
                      "job to finish before sending this one; they stay separate jobs, each rewriting the table. "
                      "Combine them into one ALTER TABLE where you can (e.g. ADD COLUMN (a INT, b INT); "
                      "`rockway lint --fix` merges adjacent column changes); "
                      "column, partition and rollup changes cannot share one ALTER", st.stmt.index)
        else:
            seen[key] = st


def replication_num(st: LintStatement) -> Iterator[tuple[int, str]]:
    ct = st.create_table
    if not ct or ct.modifier or ct.like or re.search(r"""["']replication_num["']\s*=""", st.sql):
        return
    engine = next(st.find(r"\bENGINE\s*=\s*(\w+)", ct.options), None)
    if engine and engine.group(1).upper() in _ENGINES - {"OLAP"}:  # external tables keep no replicas
        return
    yield 0, (f"CREATE TABLE {ct.name} sets no \"replication_num\": it takes the cluster's "
              "default_replication_num (3 unless changed), which fails on clusters with fewer backends; set "
              "PROPERTIES (\"replication_num\" = \"…\") explicitly (a template variable per environment)")


_REPLICATION_PROPERTY = re.compile(r"""["']replication_num["']\s*=\s*["']\s*(\d+)\s*["']""", re.I)


def replication_over_backends(script: LintScript) -> Iterator[Hit]:
    # lint has no server: it compares with the environment's declared `backends` and says nothing without one;
    # `migrate up` asks the live cluster (migrate/replication.py)
    if script.backends is None:
        return
    for st in script.stmts:
        for m in _REPLICATION_PROPERTY.finditer(st.sql):
            if int(m.group(1)) > script.backends:
                yield Hit(f"\"replication_num\" = \"{m.group(1)}\" needs {m.group(1)} backends, but this environment "
                          f"declares backends = {script.backends}: StarRocks refuses the statement (each replica "
                          "needs its own backend); lower replication_num for this environment ([env.NAME.vars])",
                          st.stmt.index, m.start())


_MYSQL_TYPES = {"ENUM", "SET", "MEDIUMINT", "YEAR", "BIT", "SERIAL", "REAL", "TINYTEXT", "MEDIUMTEXT", "LONGTEXT",
                "TINYBLOB", "BLOB", "MEDIUMBLOB", "LONGBLOB", "GEOMETRY", "POINT", "LINESTRING", "POLYGON",
                "NCHAR", "NVARCHAR"}


def mysql_type(st: LintStatement) -> Iterator[tuple[int, str]]:
    for col in st.columns:
        if col.type in _MYSQL_TYPES:
            yield col.start, (f"column {col.name}: {col.type} is a MySQL type StarRocks lacks; use VARCHAR/STRING "
                              "for text and enums, TINYINT/INT/BIGINT for numbers, VARBINARY for bytes")
        elif col.type in ("FLOAT", "DOUBLE") and col.args:
            yield col.start, f"column {col.name}: {col.type}{col.args} is MySQL; write {col.type} or DECIMAL(p, s)"
        sign = re.match(r"\s*(UNSIGNED|SIGNED|ZEROFILL)\b", col.rest, re.I)
        if sign:
            yield col.rest_start, (f"column {col.name}: {col.type} {sign.group(1).upper()} is MySQL; StarRocks "
                                   "integers are signed: use the next wider type (e.g. BIGINT for INT UNSIGNED)")


_ADD_OK = {"COLUMN", "INDEX", "PARTITION", "PARTITIONS", "TEMPORARY", "ROLLUP", "PRIMARY", "UNIQUE", "KEY",
           "CONSTRAINT", "FOREIGN", "FULLTEXT", "SPATIAL", "FIELD", "CHECK"}


def mysql_alter(st: LintStatement) -> Iterator[tuple[int, str]]:
    for a, b in st.alter_clauses:
        words = st.clause_words((a, b))
        if words[:1] == ["ADD"] and len(words) > 1 and words[1] not in _ADD_OK:
            yield a, "ALTER TABLE … ADD needs the COLUMN keyword in StarRocks: ADD COLUMN c type"
        elif words[:1] == ["MODIFY"] and len(words) > 1 and words[1] not in ("COLUMN", "PARTITION"):
            yield a, "ALTER TABLE … MODIFY needs the COLUMN keyword in StarRocks: MODIFY COLUMN c type"
        elif words[:1] == ["CHANGE"]:
            yield a, ("CHANGE [COLUMN] is MySQL; use RENAME COLUMN a TO b (3.3.2+) and MODIFY COLUMN b type "
                      "as separate clauses")
        elif words[:1] == ["ALTER"]:
            yield a, ("ALTER [COLUMN] … SET/DROP DEFAULT is MySQL; restate the column with "
                      "MODIFY COLUMN c type DEFAULT \"v\"")
        elif words[:1] in (["ALGORITHM"], ["LOCK"]):
            yield a, f"{words[0]}= is MySQL online-DDL syntax; StarRocks rejects it (schema changes run as jobs)"


def mysql_dml(st: LintStatement) -> Iterator[tuple[int, str]]:
    m = st.find(r"^\s*(?:INSERT\s+(?:(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY)\s+)?IGNORE|REPLACE(?:\s+INTO)?)\b")
    for hit in m:
        yield hit.start(), (f"{' '.join(hit.group(0).split()).upper()} is MySQL; INSERT into a Primary Key table "
                            "already replaces rows with the same key")
    for hit in st.find(rf"^\s*INSERT\s+INTO\s+{NAME}\s+SET\b"):
        yield hit.start(), "INSERT … SET col = … is MySQL; write INSERT INTO t (cols) VALUES (…)"
    if st.verb in ("UPDATE", "DELETE"):
        for hit in st.find(r"\b(?:ORDER\s+BY|LIMIT)\b"):
            if depth_at(st.masked, hit.start()) == 0:
                yield hit.start(), f"{st.verb} … {hit.group(0).upper()} is MySQL; StarRocks rejects it"
        if re.match(r"\s*DELETE\s+(?!FROM\b)\S", st.masked, re.I):
            yield 0, "multi-table DELETE t1 FROM … is MySQL; write DELETE FROM t [USING …] WHERE …"


def empty_script(script: LintScript) -> Iterator[Hit]:
    # judged on the raw text: SQL inside `{% if engine == … %}` may render to nothing on purpose
    # (migrations/V17__dev_join_indexes.sql); `migrate up`/`rollback` refuse such a script (migrate/api.py)
    if script.raw is not None and not has_sql(script.raw):
        yield Hit("the script has no statements, only comments and whitespace (an unfinished `migrate new` "
                  "scaffold?): `migrate up`/`rollback` refuse it; write its SQL or delete the file", line=1)

