-- Seed: {{ dw_db }}.currency from reference-data/currency.csv (manifest reference-data/currency.yaml).
-- Purpose: reference data maintained in the CSV; validated, loaded into a staging table and swapped in
--          atomically; editing the CSV or its manifest re-runs this seed on the next `migrate up`.
-- Owner: data-engineering
{{ load_csv('currency.csv', database=dw_db) }}
