{% import 'macros/warehouse.sql' as wh -%}
-- Undo V13: drop {{ etl_db }}.etl_metric_history.
{{ wh.drop_table(etl_db ~ '.etl_metric_history') }};
