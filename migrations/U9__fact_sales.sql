{% import 'macros/warehouse.sql' as wh -%}
-- Undo V9: drop {{ dw_db }}.fact_sales.
{{ wh.drop_table(dw_db ~ '.fact_sales') }};
