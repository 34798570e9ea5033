{% import 'macros/warehouse.sql' as wh -%}
-- Undo V12: drop {{ etl_db }}.etl_check_result.
{{ wh.drop_table(etl_db ~ '.etl_check_result') }};
