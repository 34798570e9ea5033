{% import 'macros/warehouse.sql' as wh -%}
-- Undo V4: drop {{ dw_db }}.dim_customer.
{{ wh.drop_table(dw_db ~ '.dim_customer') }};
