-- Seed: {{ dw_db }}.dim_sales_group_code from reference-data/dim_sales_group_code.csv (manifest reference-data/dim_sales_group_code.yaml).
-- Purpose: static mapping maintained by the business in the CSV; validated, loaded into a staging table and
--          swapped in atomically; editing the CSV or its manifest re-runs this seed on the next migrate up.
-- Owner: sales-data-engineering
{{ load_csv('dim_sales_group_code.csv', database=dw_db) }}
