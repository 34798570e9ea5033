{% import 'macros/warehouse.sql' as wh -%}
-- Undo V16: revoke what V16 granted, in reverse order.
{% for db in [secure_db, etl_db, dw_db, raw_db] -%}
{{ wh.revoke('admin', db, role_prefix ~ 'admin') }};
{% endfor -%}
{{ wh.revoke('write', etl_db, role_prefix ~ 'etl_writer') }};
{{ wh.revoke('write', dw_db, role_prefix ~ 'etl_writer') }};
{{ wh.revoke('write', raw_db, role_prefix ~ 'etl_writer') }};
{{ wh.revoke('views', secure_db, role_prefix ~ 'analyst') }};
{{ wh.revoke('read', dw_db, role_prefix ~ 'reader') }};
