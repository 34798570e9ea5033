-- View: {{ dw_db }}.v_customer_current
-- Purpose: the current version of every customer (dim_customer rows with is_current), for lookups and
--          reports that need today's attributes rather than those valid at billing time.
-- Source: {{ dw_db }}.dim_customer
-- Refresh: a view: always current.
-- Owner: sales-data-engineering
CREATE OR REPLACE VIEW {{ dw_db }}.v_customer_current AS
SELECT c.customer_sk, c.customer_id, c.customer_name, c.customer_group, c.industry_key, c.country_code,
       c.city, c.postal_code, c.valid_from
FROM {{ dw_db }}.dim_customer AS c
WHERE c.is_current = TRUE;
