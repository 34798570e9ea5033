-- Materialized view: {{ dw_db }}.mv_sales_daily
-- Purpose: net sales, tax, quantity and item count per billing day, region, sales area and sales group:
--          the dashboards' daily figures without scanning the fact table. Cancelled items excluded.
-- Source: {{ dw_db }}.fact_sales
-- Refresh: StarRocks: ASYNC EVERY 1 HOUR, partition-wise (day partitions follow fact_sales); must be at most
--          2 hours old (`rockway mv status`). MariaDB (dev): a plain view.
-- Owner: sales-data-engineering
{% call mv.materialized_view(name=dw_db ~ '.mv_sales_daily', refresh='ASYNC EVERY (INTERVAL 1 HOUR)',
                             max_staleness='2h', partition_by='billing_date',
                             distributed_by=['sales_group_code'],
                             comment='Daily net sales per region, sales area and sales group') %}
SELECT f.billing_date, f.region_code, f.sales_org, f.distribution_channel, f.division, f.sales_group_code,
       f.document_currency,
       SUM(f.net_amount) AS net_amount,
       SUM(f.tax_amount) AS tax_amount,
       SUM(f.quantity) AS quantity,
       COUNT(*) AS billing_items
FROM {{ dw_db }}.fact_sales AS f
WHERE f.is_cancelled = FALSE
GROUP BY f.billing_date, f.region_code, f.sales_org, f.distribution_channel, f.division, f.sales_group_code,
         f.document_currency
{% endcall %}
