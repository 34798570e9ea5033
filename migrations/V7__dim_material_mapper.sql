{% import 'macros/warehouse.sql' as wh -%}
-- Table: {{ dw_db }}.dim_material_mapper
-- Purpose: static material mapping for sales reporting: SAP material number to description, material
--          group, product hierarchy, brand, units and weights, maintained by Master Data.
-- Source: reference-data/dim_material_mapper.csv (SAP ECC MARA, MAKT, MARM, MVKE; monthly extract by the
--         Master Data team). The columns match that file's manifest, in order.
-- Refresh: replaced as a whole from the CSV when the file changes (staged load, then swap); monthly and
--          for product launches.
-- Owner: sales-data-engineering (content: master-data team)
{% call wh.table(dw_db ~ '.dim_material_mapper', 'PRIMARY', ['material_number'],
                 comment='Material mapping for sales reporting (reference data)') %}
    material_number       VARCHAR(18)    NOT NULL COMMENT 'MATNR, zero-padded',
    material_description  VARCHAR(120)   NOT NULL COMMENT 'MAKTX, English',
    material_type         VARCHAR(4)     NOT NULL COMMENT 'MTART',
    material_group        VARCHAR(9)     NOT NULL COMMENT 'MATKL',
    material_group_name   VARCHAR(60)    NOT NULL,
    product_hierarchy     VARCHAR(18)    NOT NULL COMMENT 'PRDHA',
    brand                 VARCHAR(40)    NULL,
    base_unit             VARCHAR(3)     NOT NULL COMMENT 'MEINS',
    sales_unit            VARCHAR(3)     NULL     COMMENT 'VRKME',
    units_per_case        INT            NULL,
    net_weight_kg         DECIMAL(10,3)  NULL     COMMENT 'NTGEW per piece',
    gross_weight_kg       DECIMAL(10,3)  NULL     COMMENT 'BRGEW per piece',
    ean_upc               VARCHAR(14)    NULL     COMMENT 'EAN11',
    is_active             BOOLEAN        NOT NULL,
    valid_from            DATE           NOT NULL,
    valid_to              DATE           NULL,
    updated_at            DATETIME       NOT NULL COMMENT 'last change in SAP, UTC'
{% endcall %};
