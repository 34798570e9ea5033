-- The newest staged version of every billing item billed in the window, with its dimensions.
SELECT b.fkdat AS billing_date, b.vbeln AS billing_document, b.posnr AS billing_item, b.fkart AS billing_type,
       b.vkorg AS sales_org, b.vtweg AS distribution_channel, b.spart AS division, b.vkgrp AS sales_group_code,
       COALESCE(g.region_code, 'UNMAPPED') AS region_code, b.kunag AS customer_id, c.customer_sk,
       b.matnr AS material_number, b.fkimg AS quantity, b.vrkme AS sales_unit, b.netwr AS net_amount,
       b.mwsbp AS tax_amount, b.waerk AS document_currency,
       CASE WHEN b.fksto = 'X' THEN TRUE ELSE FALSE END AS is_cancelled, b.changed_at AS source_changed_at
FROM (
    SELECT s.*, ROW_NUMBER() OVER (PARTITION BY s.vbeln, s.posnr ORDER BY s.changed_at DESC, s.extracted_at DESC) AS rn
    FROM {{ raw_db }}.stg_billing_item AS s
    WHERE {{ window.where('s.fkdat') }}
) AS b
LEFT JOIN {{ dw_db }}.dim_sales_group_code AS g
       ON g.sales_org = b.vkorg AND g.distribution_channel = b.vtweg AND g.division = b.spart
      AND g.sales_group_code = b.vkgrp AND g.valid_from <= b.fkdat AND (g.valid_to IS NULL OR g.valid_to >= b.fkdat)
LEFT JOIN {{ dw_db }}.dim_customer AS c
       ON c.customer_id = b.kunag
      AND c.valid_from <= DATE_ADD(b.fkdat, INTERVAL 1 DAY) AND c.valid_to > DATE_ADD(b.fkdat, INTERVAL 1 DAY)
WHERE b.rn = 1
