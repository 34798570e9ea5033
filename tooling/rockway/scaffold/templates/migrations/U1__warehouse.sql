{% import 'macros/warehouse.sql' as wh -%}
-- Undo V1: drop the warehouse's databases, with everything in them (the views of repeatable/ too).
{{ wh.drop_database(etl_db) }};
{{ wh.drop_database(dw_db) }};
