{% import 'macros/warehouse.sql' as wh -%}
-- Undo V17: drop the MariaDB join indexes (newest first). StarRocks: no statement, as in V17.
{% if engine != 'starrocks' -%}
{{ wh.drop_index(raw_db ~ '.stg_billing_item', 'ix_stg_billing_item_fkdat') }};
{{ wh.drop_index(raw_db ~ '.stg_billing_item', 'ix_stg_billing_item_version') }};
{{ wh.drop_index(dw_db ~ '.dim_customer', 'ix_dim_customer_id_valid_from') }};
{% endif -%}
