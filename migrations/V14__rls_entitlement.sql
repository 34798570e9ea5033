{% import 'macros/warehouse.sql' as wh -%}
-- Table: {{ dw_db }}.rls_entitlement
-- Purpose: who may see which rows through the secure views of {{ secure_db }}: a user (name without host)
--          or a role, entitled to one value of a scope (e.g. region DE-BY). No row, no data.
-- Source: maintained by the warehouse admins (requests approved by the data owners).
-- Refresh: on request; rows are upserted or deleted (PRIMARY KEY on principal, scope and value).
-- Owner: sales-data-engineering (approvals: sales-controlling team)
{% call wh.table(dw_db ~ '.rls_entitlement', 'PRIMARY', ['principal_type', 'principal_name', 'scope', 'scope_value'],
                 distributed_by=['principal_name'], comment='Row-level-security entitlements') %}
    principal_type  VARCHAR(8)    NOT NULL COMMENT 'USER | ROLE',
    principal_name  VARCHAR(64)   NOT NULL COMMENT 'user name without host, or role name',
    scope           VARCHAR(32)   NOT NULL COMMENT 'region | sales_group_code',
    scope_value     VARCHAR(16)   NOT NULL,
    granted_by      VARCHAR(64)   NULL,
    granted_at      DATETIME      NULL,
    note            VARCHAR(255)  NULL
{% endcall %};
