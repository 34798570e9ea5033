-- Materialized view: {{ dw_db }}.mv_material_group_monthly
-- Purpose: net sales and quantity per month, region, material group and brand, for the monthly category
--          review. Cancelled items excluded.
-- Source: {{ dw_db }}.fact_sales, {{ dw_db }}.dim_material
-- Refresh: StarRocks: MANUAL, refreshed by the morning job after the evening loads; must be at most 26 hours
--          old (`rockway mv status`). MariaDB (dev): a plain view.
-- Owner: sales-data-engineering
{% call mv.materialized_view(name=dw_db ~ '.mv_material_group_monthly', refresh='MANUAL', max_staleness='26h',
                             distributed_by=['material_group'],
                             comment='Monthly net sales per region, material group and brand') %}
SELECT CAST(DATE_FORMAT(f.billing_date, '%Y-%m-01') AS DATE) AS sales_month,
       f.region_code, m.material_group, m.material_group_name, m.brand, f.document_currency,
       SUM(f.net_amount) AS net_amount,
       SUM(f.quantity) AS quantity
FROM {{ dw_db }}.fact_sales AS f
LEFT JOIN {{ dw_db }}.dim_material AS m ON m.material_number = f.material_number
WHERE f.is_cancelled = FALSE
GROUP BY CAST(DATE_FORMAT(f.billing_date, '%Y-%m-01') AS DATE), f.region_code, m.material_group,
         m.material_group_name, m.brand, f.document_currency
{% endcall %}
