-- View: {{ dw_db }}.v_sales_enriched
-- Purpose: billed sales with the customer version valid at billing time, the material and the sales group
--          attributes: the one relation reports and the secure view v_sales are built on.
-- Source: {{ dw_db }}.fact_sales, dim_customer, dim_material, dim_sales_group
-- Refresh: a view: always current. Facts without a matching dimension row are kept (LEFT JOIN).
-- Owner: sales-data-engineering
CREATE OR REPLACE VIEW {{ dw_db }}.v_sales_enriched AS
SELECT f.billing_date, f.billing_document, f.billing_item, f.billing_type,
       f.sales_org, f.distribution_channel, f.division, f.sales_group_code, sg.sales_group_name, sg.sales_office,
       f.region_code, sg.region_name, sg.country_code AS region_country_code,
       f.customer_id, c.customer_name, c.customer_group, c.country_code AS customer_country_code,
       f.material_number, m.material_description, m.material_group, m.material_group_name, m.brand,
       f.quantity, f.sales_unit, f.net_amount, f.tax_amount, f.document_currency, f.is_cancelled
FROM {{ dw_db }}.fact_sales AS f
LEFT JOIN {{ dw_db }}.dim_customer AS c ON c.customer_sk = f.customer_sk
LEFT JOIN {{ dw_db }}.dim_material AS m ON m.material_number = f.material_number
LEFT JOIN {{ dw_db }}.dim_sales_group AS sg
       ON sg.sales_org = f.sales_org AND sg.distribution_channel = f.distribution_channel
      AND sg.division = f.division AND sg.sales_group_code = f.sales_group_code;
