-- Runs in the warehouse: the extracted materials with the material mapper's reporting attributes.
SELECT x.material_number, COALESCE(mm.material_description, x.material_description) AS material_description,
       x.material_type, COALESCE(mm.material_group, x.material_group) AS material_group, mm.material_group_name,
       COALESCE(mm.product_hierarchy, x.product_hierarchy) AS product_hierarchy, mm.brand, x.base_unit,
       CASE WHEN mm.material_number IS NULL THEN FALSE ELSE TRUE END AS is_mapped, x.changed_at
FROM {{ extracted }} AS x
LEFT JOIN {{ dw_db }}.dim_material_mapper AS mm ON mm.material_number = x.material_number
