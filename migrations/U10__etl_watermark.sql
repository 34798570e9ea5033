{% import 'macros/warehouse.sql' as wh -%}
-- Undo V10: drop {{ etl_db }}.etl_watermark.
{{ wh.drop_table(etl_db ~ '.etl_watermark') }};
