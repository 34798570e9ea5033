{% import 'macros/warehouse.sql' as wh -%}
-- Undo V2: drop {{ raw_db }}.stg_billing_item.
{{ wh.drop_table(raw_db ~ '.stg_billing_item') }};
