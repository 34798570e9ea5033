"""The sqlglot half of lint: does sqlglot's StarRocks dialect truly parse a statement?

A statement no rule flags is `checked` only when sqlglot parses it into a full tree that regenerates every
identifier and literal; otherwise it stays `unverified` with the reason this module gives. A sqlglot rejection
alone is never an error: sqlglot rejects some valid StarRocks (`INSERT … WITH LABEL`, `ALTER TABLE … ADD COLUMN (…)`).
"""

from __future__ import annotations

import logging
import re
from collections import Counter

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

_LITERALS = {TokenType.VAR, TokenType.IDENTIFIER, TokenType.STRING, TokenType.NUMBER}
# words sqlglot may drop or respell without changing the statement
_NOISE = {"AS", "ASC", "INNER", "OUTER", "NULLS", "FIRST", "LAST", "MOD", "CHARSET", "WORK", "REGEXP", "RLIKE",
          "CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME", "CURRENT_USER", "LOCALTIME", "LOCALTIMESTAMP"}


class _Quiet(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


def _words(sql: str) -> Counter[str]:
    """Identifiers, literals and keywords (not function names), as sqlglot's tokenizer sees them."""
    tokens = sqlglot.tokenize(sql, read="starrocks")
    words: Counter[str] = Counter()
    for k, tok in enumerate(tokens):
        if tok.token_type == TokenType.VAR and k + 1 < len(tokens) and tokens[k + 1].token_type == TokenType.L_PAREN:
            continue  # function names get respelled (IFNULL -> COALESCE)
        text = " ".join(tok.text.upper().split())
        if text not in _NOISE and (tok.token_type in _LITERALS or re.match(r"[A-Z_]", text)):
            words[text] += 1
    return words


def sqlglot_verdict(sql: str) -> str:
    """'' when sqlglot (StarRocks dialect) fully parses `sql`, else why the statement stays unverified."""
    logger = logging.getLogger("sqlglot")
    quiet = _Quiet()
    logger.addFilter(quiet)
    try:
        trees = [t for t in sqlglot.parse(sql, read="starrocks") if t is not None]
        if len(trees) != 1:
            return f"sqlglot found {len(trees)} statements here"
        tree = trees[0]
        if isinstance(tree, exp.Command) or tree.find(exp.Command):
            return "sqlglot does not know this statement (it keeps it as unparsed text)"
        lost = _words(sql) - _words(tree.sql(dialect="starrocks"))
        if lost:
            return f"sqlglot parsed only part of it (dropped {', '.join(sorted(lost)[:3])})"
        return ""
    except SqlglotError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return f"sqlglot cannot parse it ({first[:100]}); sqlglot also rejects some valid StarRocks"
    except Exception as err:  # noqa: BLE001 - a sqlglot bug must leave the statement unverified, not stop lint
        return f"sqlglot failed on it ({type(err).__name__})"
    finally:
        logger.removeFilter(quiet)

