{% import 'macros/warehouse.sql' as wh -%}
-- Table: {{ dw_db }}.dim_material
-- Purpose: conformed material dimension (current state, SCD type 1): every material billed, with the
--          reporting attributes of the material mapper where it has the material.
-- Source: SAP ECC material master (MARA, MAKT) extract, enriched from {{ dw_db }}.dim_material_mapper.
-- Refresh: daily full upsert (PRIMARY KEY on material_number); materials are never deleted.
-- Owner: sales-data-engineering
{% call wh.table(dw_db ~ '.dim_material', 'PRIMARY', ['material_number'],
                 comment='Materials, current attributes (SCD1)') %}
    material_number       VARCHAR(18)   NOT NULL COMMENT 'MATNR',
    material_description  VARCHAR(120)  NULL     COMMENT 'MAKTX',
    material_type         VARCHAR(4)    NULL     COMMENT 'MTART',
    material_group        VARCHAR(9)    NULL     COMMENT 'MATKL',
    material_group_name   VARCHAR(60)   NULL,
    product_hierarchy     VARCHAR(18)   NULL     COMMENT 'PRDHA',
    brand                 VARCHAR(40)   NULL,
    base_unit             VARCHAR(3)    NULL     COMMENT 'MEINS',
    is_mapped             BOOLEAN       NOT NULL COMMENT 'the material mapper knows the material',
    etl_run_id            VARCHAR(64)   NULL,
    updated_at            DATETIME      NULL
{% endcall %};
