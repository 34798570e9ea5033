{#- The dialect differences of the warehouse's scripts, in one place.

    Import with {% import 'macros/warehouse.sql' as wh %}. `engine` is 'starrocks' for StarRocks (prod) and
    'mysql' for MySQL/MariaDB (dev rehearsal). Names are passed as written in the script (`db.table`);
    configuration supplies plain identifiers.

    wh.create_database(name) / wh.drop_database(name)
    {% call wh.table(name, model, key, partition_by=none, distributed_by=none, comment='') %} columns {% endcall %}
        model: 'PRIMARY' (dimensions, upserted facts) or 'DUPLICATE' (append-only rows).
        StarRocks: CREATE TABLE … <model> KEY (…) COMMENT … [PARTITION BY …] DISTRIBUTED BY HASH (…)
                   PROPERTIES ("replication_num" = "{{ replication_num }}"). Key columns must come first, in
                   key order, NOT NULL; a PRIMARY KEY must contain the partition and bucketing columns.
        MariaDB:   CREATE TABLE … (columns /*!, PRIMARY KEY (…) */) COMMENT '…'. A column typed
                   DATETIME (then a blank, a comma or the line's end) becomes `DATETIME/*!(6)*/`:
                   DATETIME(6) run by MariaDB only, plain DATETIME to StarRocks' rules in `rockway lint`.
                   StarRocks' DATETIME keeps microseconds (3.3.5 on), MariaDB's plain one whole seconds, so a
                   re-read change time `10:00:00.3` would never equal the staged `10:00:00` and be appended again
                   (tests/project/test_sim_jobs.py). The key is written as MySQL
                   executable-comment code (`/*! … */`, run by MySQL and MariaDB only): `rockway lint` checks
                   every rendering with StarRocks' rules, and StarRocks — like the linter — reads comments as
                   comments, so the dev rendering stays free of SR003 (inline key) while MariaDB still enforces
                   the key. DUPLICATE KEY tables get no key on MariaDB (StarRocks' sort key is no constraint).
    wh.drop_table(name)
    wh.index(table, name, columns) / wh.drop_index(table, name)
        MariaDB only: a secondary B-tree index for the joins and window filters of the jobs, which MariaDB
        otherwise runs as nested loops over the whole table. StarRocks has no such index and needs none (hash
        joins; partition pruning, sort key and zone maps for filters): scripts call these inside
        {% if engine != 'starrocks' %}, and for StarRocks they stop rendering. Rendered as one statement of
        MySQL executable-comment code, `/*! CREATE INDEX IF NOT EXISTS name ON table (columns) */` and
        `/*! DROP INDEX IF EXISTS name ON table */` (MariaDB syntax; IF [NOT] EXISTS makes `migrate up --resume`
        safe after a crash), for the reason given for the key above: `rockway lint` reads the dev rendering
        with StarRocks' rules, which reject a multi-column CREATE INDEX (SR013), while MariaDB runs the code.
    wh.create_role(name) / wh.drop_role(name)
    wh.grant(level, db, role) / wh.revoke(level, db, role)
        level 'read':  SELECT on every table, view and materialized view of db
              'views': SELECT on every view of db
              'write': SELECT/INSERT/UPDATE/DELETE on tables, SELECT on views, SELECT/REFRESH on MVs
              'admin': everything on db and its objects
        StarRocks grants per object type (ON ALL TABLES | ALL VIEWS | ALL MATERIALIZED VIEWS IN DATABASE db
        TO ROLE r); MariaDB has one level, ON db.* TO r, which covers views too.
    wh.string(text): a single-quoted literal (backslash escapes, read alike by StarRocks and MariaDB).
    Invalid arguments stop rendering through fail(message), a template global of rockway.sqlmacros.
-#}

{%- macro string(text) -%}
'{{ text | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}

{%- macro create_database(name) -%}
{%- if engine == 'starrocks' -%}
CREATE DATABASE IF NOT EXISTS {{ name }}
{%- else -%}
{#- Binary collation: string comparison is case- and accent-sensitive, as in StarRocks. -#}
CREATE DATABASE IF NOT EXISTS {{ name }} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
{%- endif -%}
{%- endmacro %}

{%- macro drop_database(name) -%}
DROP DATABASE IF EXISTS {{ name }}
{%- endmacro %}

{%- macro table(name, model, key, partition_by=none, distributed_by=none, comment='') -%}
{%- if model not in ('PRIMARY', 'DUPLICATE') -%}
{{ fail("wh.table(" ~ name ~ "): model must be 'PRIMARY' or 'DUPLICATE', not " ~ model) }}
{%- endif -%}
CREATE TABLE IF NOT EXISTS {{ name }} (
{%- if engine == 'starrocks' %}
{{ caller() | trim('\n') | indent(0) }}
{%- else %}
{{ ((caller() | trim('\n') | indent(0)) ~ '\n') | replace(' DATETIME ', ' DATETIME/*!(6)*/ ')
    | replace(' DATETIME,', ' DATETIME/*!(6)*/,') | replace(' DATETIME\n', ' DATETIME/*!(6)*/\n') | trim('\n') }}
{%- endif %}
{%- if engine != 'starrocks' and model == 'PRIMARY' %}
    /*!, PRIMARY KEY ({{ key | join(', ') }}) */
{%- endif %}
)
{%- if engine == 'starrocks' %}
{{ model }} KEY ({{ key | join(', ') }})
{%- if comment %}
COMMENT {{ string(comment) }}
{%- endif %}
{%- if partition_by %}
PARTITION BY {{ partition_by }}
{%- endif %}
DISTRIBUTED BY HASH ({{ (distributed_by or key) | join(', ') }})
PROPERTIES ("replication_num" = "{{ replication_num }}")
{%- elif comment %}
COMMENT {{ string(comment) }}
{%- endif %}
{%- endmacro %}

{%- macro drop_table(name) -%}
DROP TABLE IF EXISTS {{ name }}
{%- endmacro %}

{%- macro _mysql_only(what, table, name) -%}
{%- if engine == 'starrocks' -%}
{{ fail("wh." ~ what ~ "(" ~ table ~ ", " ~ name ~ "): StarRocks has no secondary B-tree indexes (it joins by hash);"
        " call it only inside {% if engine != 'starrocks' %}") }}
{%- endif -%}
{%- endmacro %}

{%- macro index(table, name, columns) -%}
{{ _mysql_only('index', table, name) -}}
{%- if not columns or columns is string -%}
{{ fail("wh.index(" ~ table ~ ", " ~ name ~ "): columns must be a non-empty list of column names") }}
{%- endif -%}
/*! CREATE INDEX IF NOT EXISTS {{ name }} ON {{ table }} ({{ columns | join(', ') }}) */
{%- endmacro %}

{%- macro drop_index(table, name) -%}
{{ _mysql_only('drop_index', table, name) -}}
/*! DROP INDEX IF EXISTS {{ name }} ON {{ table }} */
{%- endmacro %}

{%- macro create_role(name) -%}
CREATE ROLE IF NOT EXISTS {{ name }}
{%- endmacro %}

{%- macro drop_role(name) -%}
DROP ROLE IF EXISTS {{ name }}
{%- endmacro %}

{#- StarRocks: [(privileges, object kind)] per level. -#}
{%- set _starrocks_levels = {
    'read':  [('SELECT', 'ALL TABLES'), ('SELECT', 'ALL VIEWS'), ('SELECT', 'ALL MATERIALIZED VIEWS')],
    'views': [('SELECT', 'ALL VIEWS')],
    'write': [('SELECT, INSERT, UPDATE, DELETE', 'ALL TABLES'), ('SELECT', 'ALL VIEWS'),
              ('SELECT, REFRESH', 'ALL MATERIALIZED VIEWS')],
    'admin': [('ALL', 'DATABASE'), ('ALL', 'ALL TABLES'), ('ALL', 'ALL VIEWS'), ('ALL', 'ALL MATERIALIZED VIEWS')],
} -%}
{#- MariaDB: privileges on db.* per level. -#}
{%- set _mysql_levels = {
    'read': 'SELECT',
    'views': 'SELECT',
    'write': 'SELECT, INSERT, UPDATE, DELETE',
    'admin': 'ALL PRIVILEGES',
} -%}

{%- macro _privileges(verb, level, db, role) -%}
{%- if level not in _mysql_levels -%}
{{ fail("wh." ~ verb | lower ~ "(): level must be one of read, views, write, admin, not " ~ level) }}
{%- endif -%}
{%- set to = 'TO' if verb == 'GRANT' else 'FROM' -%}
{%- if engine == 'starrocks' -%}
{%- for privileges, kind in _starrocks_levels[level] -%}
{%- if kind == 'DATABASE' -%}
{{ verb }} {{ privileges }} ON DATABASE {{ db }} {{ to }} ROLE {{ role }}
{%- else -%}
{{ verb }} {{ privileges }} ON {{ kind }} IN DATABASE {{ db }} {{ to }} ROLE {{ role }}
{%- endif -%}
{{ ';\n' if not loop.last }}
{%- endfor -%}
{%- else -%}
{{ verb }} {{ _mysql_levels[level] }} ON {{ db }}.* {{ to }} {{ role }}
{%- endif -%}
{%- endmacro %}

{%- macro grant(level, db, role) -%}
{{ _privileges('GRANT', level, db, role) }}
{%- endmacro %}

{%- macro revoke(level, db, role) -%}
{{ _privileges('REVOKE', level, db, role) }}
{%- endmacro %}
