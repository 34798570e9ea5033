{% import 'macros/warehouse.sql' as wh -%}
-- Purpose: what each role may do. Grants are per database and object type, never per object: they cover
--          objects created later (the repeatable views) and survive the SWAP that redefines a
--          materialized view. Analysts get no privilege on {{ dw_db }}: they read {{ secure_db }} only.
-- Source: n/a (DDL)
-- Refresh: n/a
-- Owner: sales-data-engineering
{{ wh.grant('read', dw_db, role_prefix ~ 'reader') }};
{{ wh.grant('views', secure_db, role_prefix ~ 'analyst') }};
{{ wh.grant('write', raw_db, role_prefix ~ 'etl_writer') }};
{{ wh.grant('write', dw_db, role_prefix ~ 'etl_writer') }};
{{ wh.grant('write', etl_db, role_prefix ~ 'etl_writer') }};
{% for db in [raw_db, dw_db, etl_db, secure_db] -%}
{{ wh.grant('admin', db, role_prefix ~ 'admin') }};
{% endfor %}
