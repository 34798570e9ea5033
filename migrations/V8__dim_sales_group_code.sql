{% import 'macros/warehouse.sql' as wh -%}
-- Table: {{ dw_db }}.dim_sales_group_code
-- Purpose: static sales-group mapping: each sales group of a sales area (sales organisation, distribution
--          channel, division) with its sales office, reporting region, manager and annual target. The
--          region decides which analysts see a sale (row-level security).
-- Source: reference-data/dim_sales_group_code.csv (SAP SD customizing TVKO, TVTW, TSPA, TVKGR, TVBVK and the
--         regional sales plan of Sales Controlling). The columns match that file's manifest, in order.
-- Refresh: replaced as a whole from the CSV when the file changes (staged load, then swap); quarterly and
--          on reorganisations.
-- Owner: sales-data-engineering (content: sales-controlling team)
{% call wh.table(dw_db ~ '.dim_sales_group_code', 'PRIMARY',
                 ['sales_org', 'distribution_channel', 'division', 'sales_group_code'],
                 distributed_by=['sales_group_code'], comment='Sales group mapping per sales area (reference data)') %}
    sales_org             VARCHAR(4)     NOT NULL COMMENT 'VKORG',
    distribution_channel  VARCHAR(2)     NOT NULL COMMENT 'VTWEG',
    division              VARCHAR(2)     NOT NULL COMMENT 'SPART',
    sales_group_code      VARCHAR(3)     NOT NULL COMMENT 'VKGRP',
    sales_group_name      VARCHAR(80)    NOT NULL,
    sales_office          VARCHAR(4)     NULL     COMMENT 'VKBUR',
    region_code           VARCHAR(10)    NOT NULL COMMENT 'reporting region; the RLS key',
    region_name           VARCHAR(60)    NOT NULL,
    country_code          VARCHAR(2)     NOT NULL COMMENT 'ISO 3166-1 alpha-2',
    currency              VARCHAR(3)     NOT NULL COMMENT 'ISO 4217',
    manager_name          VARCHAR(80)    NULL,
    annual_target_amount  DECIMAL(14,2)  NULL,
    is_active             BOOLEAN        NOT NULL,
    valid_from            DATE           NOT NULL,
    valid_to              DATE           NULL,
    updated_at            DATETIME       NOT NULL COMMENT 'last change, UTC'
{% endcall %};
