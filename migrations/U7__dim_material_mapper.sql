{% import 'macros/warehouse.sql' as wh -%}
-- Undo V7: drop {{ dw_db }}.dim_material_mapper.
{{ wh.drop_table(dw_db ~ '.dim_material_mapper') }};
