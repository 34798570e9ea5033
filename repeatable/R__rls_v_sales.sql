-- View: {{ secure_db }}.v_sales
-- Purpose: billed sales for analysts, limited to the regions they are entitled to in
--          {{ dw_db }}.rls_entitlement (directly, or through one of the roles in `rls_roles`).
-- Source: {{ dw_db }}.v_sales_enriched, {{ dw_db }}.rls_entitlement
-- Refresh: a view: always current; entitlement changes apply to the next query.
-- Owner: sales-data-engineering
{{ rls.secure_view(name=secure_db ~ '.v_sales', base=dw_db ~ '.v_sales_enriched', key='region_code',
                   scope='region', entitlement=dw_db ~ '.rls_entitlement',
                   grant_to=[role_prefix ~ 'analyst'],
                   comment='Billed sales, rows of the regions the querying user is entitled to') }}
