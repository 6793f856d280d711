"""Set-wise integrity for the province-scale roster load (issue 18).

On PostgreSQL the duty table becomes partitioned by month (`rosters_dutyday_YYYY_MM`, plus
`rosters_dutyday_default` for any day of a month without its own partition), so a month's plan is
loaded into a table of its own and attached: ATTACH PARTITION builds the indexes in one pass and
validates the doctor and roster foreign keys with one anti-join each, instead of two deferred
trigger calls per row (`staffing.rosters.bulk.duty_month_load`). The columns, CHECKs, unique
constraints, foreign keys and indexes are the table's own, copied by name (whatever earlier
migrations made them); the primary key becomes (id, date), as a partitioned table's must hold
its partition key (ids still come from one sequence). Existing months are moved one partition
each, loaded beside the table and attached (validated the same way). SQLite keeps its table.
Django's model state does not change."""

from django.db import migrations

from core.db import PostgresOnlySQL

# Rebuild `rosters_dutyday` as `kind` ('partitioned' or 'plain'), keeping every column, CHECK,
# unique constraint, foreign key and index by name.
REBUILD = """
DO $rebuild$
DECLARE
    d record;
    m date;
    part text;
    last bigint;
BEGIN
    CREATE TEMP TABLE dutyday_ddl AS
        SELECT 1 AS ord, 'ALTER TABLE rosters_dutyday ADD CONSTRAINT ' || quote_ident(conname) || ' '
                         || pg_get_constraintdef(oid) AS ddl
          FROM pg_constraint WHERE conrelid = 'rosters_dutyday'::regclass AND contype IN ('u', 'f')
        UNION ALL
        SELECT 2, pg_get_indexdef(x.indexrelid)
          FROM pg_index x
         WHERE x.indrelid = 'rosters_dutyday'::regclass
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.conrelid = x.indrelid);
    ALTER TABLE rosters_dutyday RENAME TO rosters_dutyday_before;
    FOR d IN SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
              WHERE x.indrelid = 'rosters_dutyday_before'::regclass LOOP
        EXECUTE format('ALTER INDEX %%I RENAME TO %%I', d.relname, left('before_' || d.relname, 63));
    END LOOP;
    IF '%(kind)s' = 'partitioned' THEN
        CREATE TABLE rosters_dutyday (LIKE rosters_dutyday_before INCLUDING DEFAULTS INCLUDING CONSTRAINTS
                                      INCLUDING IDENTITY, PRIMARY KEY (id, date)) PARTITION BY RANGE (date);
    ELSE
        CREATE TABLE rosters_dutyday (LIKE rosters_dutyday_before INCLUDING DEFAULTS INCLUDING CONSTRAINTS
                                      INCLUDING IDENTITY, CONSTRAINT rosters_dutyday_pkey PRIMARY KEY (id));
    END IF;
    FOR d IN SELECT ddl FROM dutyday_ddl ORDER BY ord LOOP
        EXECUTE d.ddl;
    END LOOP;
    IF '%(kind)s' = 'partitioned' THEN
        CREATE TABLE rosters_dutyday_default PARTITION OF rosters_dutyday DEFAULT;
        FOR m IN SELECT DISTINCT date_trunc('month', date)::date FROM rosters_dutyday_before ORDER BY 1 LOOP
            part := 'rosters_dutyday_' || to_char(m, 'YYYY_MM');
            EXECUTE format('CREATE TABLE %%I (LIKE rosters_dutyday INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
            EXECUTE format('INSERT INTO %%I SELECT * FROM rosters_dutyday_before WHERE date >= %%L AND date < %%L',
                           part, m, (m + interval '1 month')::date);
            EXECUTE format('ALTER TABLE rosters_dutyday ATTACH PARTITION %%I FOR VALUES FROM (%%L) TO (%%L)',
                           part, m, (m + interval '1 month')::date);
        END LOOP;
    ELSE
        INSERT INTO rosters_dutyday SELECT * FROM rosters_dutyday_before;
    END IF;
    EXECUTE format('SELECT last_value FROM %%s', pg_get_serial_sequence('rosters_dutyday_before', 'id')) INTO last;
    PERFORM setval(pg_get_serial_sequence('rosters_dutyday', 'id'),
                   GREATEST((SELECT max(id) FROM rosters_dutyday_before), last, 1));
    DROP TABLE rosters_dutyday_before;
    DROP TABLE dutyday_ddl;
    EXECUTE format('ALTER SEQUENCE %%s RENAME TO rosters_dutyday_id_seq', pg_get_serial_sequence('rosters_dutyday', 'id'));
END
$rebuild$;
"""


class Migration(migrations.Migration):
    dependencies = [("rosters", "0009_province_speed")]

    operations = [
        PostgresOnlySQL(REBUILD % {"kind": "partitioned"}, reverse_sql=REBUILD % {"kind": "plain"}),
    ]
