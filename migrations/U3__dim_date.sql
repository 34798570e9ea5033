{% import 'macros/warehouse.sql' as wh -%}
-- Undo V3: drop {{ dw_db }}.dim_date.
{{ wh.drop_table(dw_db ~ '.dim_date') }};
