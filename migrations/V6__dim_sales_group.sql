{% import 'macros/warehouse.sql' as wh -%}
-- Table: {{ dw_db }}.dim_sales_group
-- Purpose: conformed sales-group dimension: each sales group of a sales area (sales organisation,
--          distribution channel, division) with its sales office and reporting region, as of today.
-- Source: {{ dw_db }}.dim_sales_group_code (rows valid today) and SAP sales group texts (TVGRT).
-- Refresh: daily full upsert (PRIMARY KEY on the sales area and sales group).
-- Owner: sales-data-engineering
{% call wh.table(dw_db ~ '.dim_sales_group', 'PRIMARY',
                 ['sales_org', 'distribution_channel', 'division', 'sales_group_code'],
                 distributed_by=['sales_group_code'], comment='Sales groups per sales area, current') %}
    sales_org             VARCHAR(4)   NOT NULL COMMENT 'VKORG',
    distribution_channel  VARCHAR(2)   NOT NULL COMMENT 'VTWEG',
    division              VARCHAR(2)   NOT NULL COMMENT 'SPART',
    sales_group_code      VARCHAR(3)   NOT NULL COMMENT 'VKGRP',
    sales_group_name      VARCHAR(80)  NULL,
    sales_office          VARCHAR(4)   NULL     COMMENT 'VKBUR',
    region_code           VARCHAR(10)  NOT NULL,
    region_name           VARCHAR(60)  NULL,
    country_code          VARCHAR(2)   NULL,
    currency              VARCHAR(3)   NULL,
    is_active             BOOLEAN      NOT NULL,
    etl_run_id            VARCHAR(64)  NULL,
    updated_at            DATETIME     NULL
{% endcall %};
