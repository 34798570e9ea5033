-- Material master records changed in the window.
SELECT m.material_id AS material_number, m.description AS material_description, m.material_type,
       m.material_group, m.product_hierarchy, m.base_unit, m.updated_at AS changed_at
FROM {{ source('erp', 'materials') }} AS m
WHERE {{ window.where('m.updated_at') }}
