{% import 'macros/warehouse.sql' as wh -%}
-- Purpose: the warehouse's roles (server-wide, so prefixed with {{ role_prefix }}):
--          reader     reads the whole warehouse ({{ dw_db }}): BI service accounts, data engineers
--          analyst    reads the row-level-security views of {{ secure_db }} only
--          etl_writer reads and writes raw, warehouse and ETL tables; refreshes materialized views
--          admin      everything on the warehouse's databases (entitlements, DDL)
-- Source: n/a (DDL)
-- Refresh: n/a
-- Owner: sales-data-engineering
{{ wh.create_role(role_prefix ~ 'reader') }};
{{ wh.create_role(role_prefix ~ 'analyst') }};
{{ wh.create_role(role_prefix ~ 'etl_writer') }};
{{ wh.create_role(role_prefix ~ 'admin') }};
