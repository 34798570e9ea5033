-- View: {{ secure_db }}.v_sales_daily
-- Purpose: the daily sales figures of mv_sales_daily for analysts, limited to their entitled regions.
-- Source: {{ dw_db }}.mv_sales_daily, {{ dw_db }}.rls_entitlement
-- Refresh: a view over a materialized view: as fresh as mv_sales_daily.
-- Owner: sales-data-engineering
{{ rls.secure_view(name=secure_db ~ '.v_sales_daily', base=dw_db ~ '.mv_sales_daily', key='region_code',
                   scope='region', entitlement=dw_db ~ '.rls_entitlement',
                   grant_to=[role_prefix ~ 'analyst'],
                   comment='Daily sales, rows of the regions the querying user is entitled to') }}
