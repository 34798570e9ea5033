{% import 'macros/warehouse.sql' as wh -%}
-- Table: {{ dw_db }}.dim_date
-- Purpose: calendar dimension, one row per day, with the company's fiscal year (April to March) and
--          period for reporting by fiscal period.
-- Source: generated (no source system).
-- Refresh: generated once a year for the next calendar year by the calendar job; rows are upserted.
-- Owner: sales-data-engineering
{% call wh.table(dw_db ~ '.dim_date', 'PRIMARY', ['date_key'], comment='Calendar and fiscal calendar, one row per day') %}
    date_key          INT          NOT NULL COMMENT 'yyyymmdd',
    calendar_date     DATE         NOT NULL,
    calendar_year     SMALLINT     NOT NULL,
    calendar_quarter  TINYINT      NOT NULL,
    calendar_month    TINYINT      NOT NULL,
    month_name        VARCHAR(12)  NOT NULL,
    day_of_month      TINYINT      NOT NULL,
    day_of_week       TINYINT      NOT NULL COMMENT 'ISO: 1 = Monday',
    day_name          VARCHAR(12)  NOT NULL,
    iso_week          TINYINT      NOT NULL,
    is_weekend        BOOLEAN      NOT NULL,
    fiscal_year       SMALLINT     NOT NULL COMMENT 'year in which the fiscal year ends',
    fiscal_period     TINYINT      NOT NULL COMMENT '1 = April'
{% endcall %};
