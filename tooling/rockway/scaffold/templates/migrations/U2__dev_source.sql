{% import 'macros/warehouse.sql' as wh -%}
-- Undo V2: drop the dev stand-in of the application database (dev only; no statement on StarRocks).
{% if engine != 'starrocks' -%}
{{ wh.drop_database(source_db) }};
{% endif -%}
