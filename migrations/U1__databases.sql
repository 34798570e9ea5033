{% import 'macros/warehouse.sql' as wh -%}
-- Undo V1: drop the warehouse's databases (newest first). Everything left in them goes too, including the
-- views and materialized views of the repeatable scripts.
{{ wh.drop_database(secure_db) }};
{{ wh.drop_database(etl_db) }};
{{ wh.drop_database(dw_db) }};
{{ wh.drop_database(raw_db) }};
