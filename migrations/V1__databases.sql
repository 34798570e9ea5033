{% import 'macros/warehouse.sql' as wh -%}
-- Purpose: the warehouse's databases: raw/staging extracts, the dimensional warehouse, ETL metadata, and
--          the row-level-security views that analysts query.
-- Source: n/a (DDL)
-- Refresh: n/a
-- Owner: sales-data-engineering
{{ wh.create_database(raw_db) }};
{{ wh.create_database(dw_db) }};
{{ wh.create_database(etl_db) }};
{{ wh.create_database(secure_db) }};
