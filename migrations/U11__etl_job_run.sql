{% import 'macros/warehouse.sql' as wh -%}
-- Undo V11: drop {{ etl_db }}.etl_job_run.
{{ wh.drop_table(etl_db ~ '.etl_job_run') }};
