{% import 'macros/warehouse.sql' as wh -%}
-- Undo V15: drop the warehouse's roles (their grants go with them; users lose the roles).
{{ wh.drop_role(role_prefix ~ 'admin') }};
{{ wh.drop_role(role_prefix ~ 'etl_writer') }};
{{ wh.drop_role(role_prefix ~ 'analyst') }};
{{ wh.drop_role(role_prefix ~ 'reader') }};
