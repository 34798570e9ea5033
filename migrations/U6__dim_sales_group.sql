{% import 'macros/warehouse.sql' as wh -%}
-- Undo V6: drop {{ dw_db }}.dim_sales_group.
{{ wh.drop_table(dw_db ~ '.dim_sales_group') }};
