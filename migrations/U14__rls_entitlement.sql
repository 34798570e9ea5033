{% import 'macros/warehouse.sql' as wh -%}
-- Undo V14: drop {{ dw_db }}.rls_entitlement.
{{ wh.drop_table(dw_db ~ '.rls_entitlement') }};
