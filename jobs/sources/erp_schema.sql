-- The ERP source tables the jobs read (MySQL/MariaDB): what `source('erp', …)` refers to. Times are UTC.
-- Used to create a local ERP for rehearsals and tests; binary collation like the warehouse databases, so
-- strings compare the same on both sides.
CREATE TABLE IF NOT EXISTS orders (
    order_id             VARCHAR(10)   NOT NULL PRIMARY KEY,
    order_type           VARCHAR(4)    NOT NULL,
    billing_date         DATE          NOT NULL,
    cancelled            VARCHAR(1)    NULL,
    sales_org            VARCHAR(4)    NOT NULL,
    distribution_channel VARCHAR(2)    NOT NULL,
    division             VARCHAR(2)    NOT NULL,
    sales_group          VARCHAR(3)    NULL,
    customer_id          VARCHAR(10)   NOT NULL,
    currency             VARCHAR(5)    NOT NULL,
    updated_at           DATETIME(6)   NOT NULL,
    KEY orders_updated (updated_at),
    KEY orders_billing (billing_date)
) DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS order_items (
    order_id     VARCHAR(10)    NOT NULL,
    item_no      INT            NOT NULL,
    material_id  VARCHAR(18)    NOT NULL,
    quantity     DECIMAL(18,3)  NOT NULL,
    unit         VARCHAR(3)     NOT NULL,
    net_amount   DECIMAL(18,2)  NOT NULL,
    tax_amount   DECIMAL(18,2)  NOT NULL,
    updated_at   DATETIME(6)    NOT NULL,
    PRIMARY KEY (order_id, item_no),
    KEY items_updated (updated_at)
) DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS customers (
    customer_id     VARCHAR(10)   NOT NULL PRIMARY KEY,
    name            VARCHAR(160)  NULL,
    customer_group  VARCHAR(2)    NULL,
    industry        VARCHAR(4)    NULL,
    country         VARCHAR(3)    NULL,
    city            VARCHAR(160)  NULL,
    postal_code     VARCHAR(10)   NULL,
    updated_at      DATETIME(6)   NOT NULL,
    KEY customers_updated (updated_at)
) DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS materials (
    material_id        VARCHAR(18)   NOT NULL PRIMARY KEY,
    description        VARCHAR(120)  NULL,
    material_type      VARCHAR(4)    NULL,
    material_group     VARCHAR(9)    NULL,
    product_hierarchy  VARCHAR(18)   NULL,
    base_unit          VARCHAR(3)    NULL,
    updated_at         DATETIME(6)   NOT NULL,
    KEY materials_updated (updated_at)
) DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
