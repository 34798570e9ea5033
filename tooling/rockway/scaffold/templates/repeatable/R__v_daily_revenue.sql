-- View: {{ dw_db }}.v_daily_revenue
-- Purpose: orders and amount per order day and currency, with the currency's name.
-- Source: {{ dw_db }}.orders, {{ dw_db }}.currency
-- Refresh: a view: always current.
-- Owner: data-engineering
CREATE OR REPLACE VIEW {{ dw_db }}.v_daily_revenue AS
SELECT CAST(o.ordered_at AS DATE) AS order_date, o.currency, c.currency_name, COUNT(*) AS order_count,
       SUM(o.amount) AS amount
FROM {{ dw_db }}.orders AS o
LEFT JOIN {{ dw_db }}.currency AS c ON c.currency_code = o.currency
GROUP BY CAST(o.ordered_at AS DATE), o.currency, c.currency_name;
