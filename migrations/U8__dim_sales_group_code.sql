{% import 'macros/warehouse.sql' as wh -%}
-- Undo V8: drop {{ dw_db }}.dim_sales_group_code.
{{ wh.drop_table(dw_db ~ '.dim_sales_group_code') }};
