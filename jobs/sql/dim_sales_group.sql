-- Business rule of the morning pipeline: the sales groups valid today, from the sales-group reference data,
-- upserted into dim_sales_group (Primary Key table on StarRocks; ON DUPLICATE KEY UPDATE on MariaDB).
INSERT INTO {{ dw_db }}.dim_sales_group
    (sales_org, distribution_channel, division, sales_group_code, sales_group_name, sales_office, region_code,
     region_name, country_code, currency, is_active, etl_run_id, updated_at)
SELECT g.sales_org, g.distribution_channel, g.division, g.sales_group_code, g.sales_group_name, g.sales_office,
       g.region_code, g.region_name, g.country_code, g.currency, g.is_active, 'morning', UTC_TIMESTAMP()
FROM {{ dw_db }}.dim_sales_group_code AS g
WHERE g.valid_from <= CURDATE() AND (g.valid_to IS NULL OR g.valid_to >= CURDATE())
{%- if engine != 'starrocks' %}
ON DUPLICATE KEY UPDATE sales_group_name = VALUES(sales_group_name), sales_office = VALUES(sales_office),
    region_code = VALUES(region_code), region_name = VALUES(region_name), country_code = VALUES(country_code),
    currency = VALUES(currency), is_active = VALUES(is_active), etl_run_id = VALUES(etl_run_id),
    updated_at = VALUES(updated_at)
{%- endif %};
