-- Customer master records changed in the window (the ERP keeps the current state only).
SELECT c.customer_id, c.name AS customer_name, c.customer_group, c.industry AS industry_key,
       c.country AS country_code, c.city, c.postal_code, c.updated_at AS changed_at
FROM {{ source('erp', 'customers') }} AS c
WHERE {{ window.where('c.updated_at') }}
