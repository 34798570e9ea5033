{% import 'macros/warehouse.sql' as wh -%}
-- Purpose: secondary indexes for the joins and window filters of the jobs on MariaDB (dev). MariaDB has only
--          the tables' primary keys (DUPLICATE KEY tables none at all) and runs these as nested loops over the
--          whole table, so the loads slowed down quadratically with the data:
--            {{ dw_db }}.dim_customer (customer_id, valid_from): fact_sales' customer version valid on the
--              billing day, and the change set and closing join of the dim_customer SCD2 load
--            {{ raw_db }}.stg_billing_item (vbeln, posnr, changed_at): the stg_billing_item append's NOT EXISTS
--              (skip item versions already staged)
--            {{ raw_db }}.stg_billing_item (fkdat): fact_sales' window on the billing date
--          StarRocks (prod): no statement. It joins by hash, prunes day partitions and reads the sort key and
--          zone maps for filters; it has no secondary B-tree indexes to create.
-- Source: n/a (DDL)
-- Refresh: n/a
-- Owner: sales-data-engineering
{% if engine != 'starrocks' -%}
{{ wh.index(dw_db ~ '.dim_customer', 'ix_dim_customer_id_valid_from', ['customer_id', 'valid_from']) }};
{{ wh.index(raw_db ~ '.stg_billing_item', 'ix_stg_billing_item_version', ['vbeln', 'posnr', 'changed_at']) }};
{{ wh.index(raw_db ~ '.stg_billing_item', 'ix_stg_billing_item_fkdat', ['fkdat']) }};
{% endif -%}
