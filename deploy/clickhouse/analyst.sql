-- The read-only `analyst` account for a ClickHouse server whose users are managed with SQL (a cluster, a
-- managed service), the same as clickhouse/users.d/analyst.xml does for the compose server. Run it as an
-- administrator with the password given as a query parameter (never written in the file):
--   clickhouse-client --param_password="$ANALYST_PASSWORD" --multiquery < deploy/clickhouse/analyst.sql
-- On a cluster add ON CLUSTER <name> after each name (users in replicated access storage need nothing).
CREATE SETTINGS PROFILE IF NOT EXISTS aispm_analyst SETTINGS
    readonly = 1,
    max_execution_time = 60 MAX 300 CHANGEABLE_IN_READONLY,
    max_result_rows = 1000000,
    result_overflow_mode = 'break',
    max_memory_usage = 4000000000;

CREATE QUOTA IF NOT EXISTS aispm_analyst FOR INTERVAL 1 hour
    MAX queries = 2000, errors = 200, read_rows = 50000000000, execution_time = 7200;

CREATE USER IF NOT EXISTS analyst IDENTIFIED WITH sha256_password BY {password:String}
    SETTINGS PROFILE 'aispm_analyst';

ALTER QUOTA aispm_analyst TO analyst;

GRANT SELECT ON aispm.* TO analyst;
