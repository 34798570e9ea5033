-- Billing items changed in the window: an item changes when its order header or the item itself changes.
-- Two disjoint branches, each filtered on ONE table's change time, so the filter uses that table's index on
-- MariaDB and pushes down into the ERP as literal ranges on StarRocks (JDBC catalog). The second branch leaves
-- out what the first one finds, so UNION ALL needs no de-duplication.
SELECT o.order_id AS vbeln, i.item_no AS posnr, o.billing_date AS fkdat, o.order_type AS fkart,
       o.cancelled AS fksto, o.sales_org AS vkorg, o.distribution_channel AS vtweg, o.division AS spart,
       o.sales_group AS vkgrp, o.customer_id AS kunag, i.material_id AS matnr, i.quantity AS fkimg,
       i.unit AS vrkme, i.net_amount AS netwr, i.tax_amount AS mwsbp, o.currency AS waerk,
       CASE WHEN o.updated_at > i.updated_at THEN o.updated_at ELSE i.updated_at END AS changed_at
FROM {{ source('erp', 'orders') }} AS o
JOIN {{ source('erp', 'order_items') }} AS i ON i.order_id = o.order_id
WHERE {{ window.where('o.updated_at') }}
UNION ALL
SELECT o.order_id AS vbeln, i.item_no AS posnr, o.billing_date AS fkdat, o.order_type AS fkart,
       o.cancelled AS fksto, o.sales_org AS vkorg, o.distribution_channel AS vtweg, o.division AS spart,
       o.sales_group AS vkgrp, o.customer_id AS kunag, i.material_id AS matnr, i.quantity AS fkimg,
       i.unit AS vrkme, i.net_amount AS netwr, i.tax_amount AS mwsbp, o.currency AS waerk,
       CASE WHEN o.updated_at > i.updated_at THEN o.updated_at ELSE i.updated_at END AS changed_at
FROM {{ source('erp', 'orders') }} AS o
JOIN {{ source('erp', 'order_items') }} AS i ON i.order_id = o.order_id
WHERE {{ window.where('i.updated_at') }} AND NOT ({{ window.where('o.updated_at') }})
