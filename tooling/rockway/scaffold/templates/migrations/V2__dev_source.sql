{% import 'macros/warehouse.sql' as wh -%}
-- Purpose: dev only: a small stand-in for the application database that jobs/orders.yaml reads (the `app`
--          source of jobs/jobs.toml, database `source_db` of rockway.toml), so the job runs on the local MariaDB.
--          StarRocks (prod): no statement; there the job reads the real application database through an
--          external catalog (jobs/jobs.toml).
-- Owner: data-engineering
{% if engine != 'starrocks' -%}
{{ wh.create_database(source_db) }};
CREATE TABLE IF NOT EXISTS {{ source_db }}.orders (
    order_id     BIGINT         NOT NULL,
    customer_id  VARCHAR(20)    NOT NULL,
    currency     VARCHAR(3)     NOT NULL,
    amount       DECIMAL(12,2)  NOT NULL,
    ordered_at   DATETIME       NOT NULL,
    updated_at   DATETIME       NOT NULL
    /*!, PRIMARY KEY (order_id) */
);
INSERT INTO {{ source_db }}.orders (order_id, customer_id, currency, amount, ordered_at, updated_at) VALUES
    (1, 'C001', 'EUR', 120.00, '2026-01-05 09:12:00', '2026-01-05 09:12:00'),
    (2, 'C002', 'USD', 75.50, '2026-01-05 11:40:00', '2026-01-06 08:00:00'),
    (3, 'C001', 'EUR', 19.99, '2026-01-06 15:03:00', '2026-01-06 15:03:00'),
    (4, 'C003', 'CHF', 300.00, '2026-01-07 10:30:00', '2026-01-07 10:30:00');
{% endif -%}
