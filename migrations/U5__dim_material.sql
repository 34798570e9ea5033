{% import 'macros/warehouse.sql' as wh -%}
-- Undo V5: drop {{ dw_db }}.dim_material.
{{ wh.drop_table(dw_db ~ '.dim_material') }};
