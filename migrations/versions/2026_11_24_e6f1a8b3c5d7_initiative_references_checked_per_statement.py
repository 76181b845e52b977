"""Initiative references on PostgreSQL: checked once per statement instead of once per row.

Revision ID: e6f1a8b3c5d7
Revises: d4a7c3e1b920
Create Date: 2026-11-24 05:00:00.000000

A foreign key checks each inserted row with its own lookup: accepting 5,000 initiatives
wrote ~65,000 link and revision rows and ran ~100,000 of those lookups, 0.3-0.45 s of a
1.3 s accept. The foreign keys of the initiative's tables (to the initiative and to the code
lists) become statement triggers on transition tables that check a whole statement's rows in
one join, lock the referenced rows FOR KEY SHARE as a foreign key does (a concurrent delete
waits, then fails), cascade an initiative's deletion, and refuse to delete, re-key or
truncate a referenced row. The error is the one PostgreSQL raises for a foreign key:
SQLSTATE 23503 with the constraint's name. SQLite keeps its foreign keys (checked in
process, they cost little); the models keep describing them on both backends.

Where it differs from a foreign key: under REPEATABLE READ (the application uses READ
COMMITTED) a transaction deleting a referenced row could miss a child committed after its
snapshot; TRUNCATE ... CASCADE does not empty the referencing tables, it fails; a key is
re-keyed row by row, so an UPDATE swapping two referenced keys is refused; the planner no
longer knows the joins from the constraints. The functions run with the caller's rights
(one role owns and writes every table here).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e6f1a8b3c5d7"
down_revision: str | None = "d4a7c3e1b920"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (constraint, child table, column, parent table, parent key, ON DELETE), the constraint
# named as jvap.db's naming convention names it. Keep in step with
# jvap/initiatives/models.py STATEMENT_CHECKED_KEYS.
CASCADE = "CASCADE"
NO_ACTION = "NO ACTION"
CHILDREN = [
    "country",
    "domain",
    "external_id",
    "funder",
    "implementer",
    "priority",
    "process",
    "region",
    "revision",
    "target_group",
]
KEYS = [
    (f"fk_{child}_{column}_{parent}", child, column, parent, key, on_delete)
    for child, column, parent, key, on_delete in [
        ("initiative", "partner_code", "partner", "code", NO_ACTION),
        *(
            (f"initiative_{child}", "initiative_id", "initiative", "id", CASCADE)
            for child in CHILDREN
        ),
        ("initiative_country", "country_iso3", "country", "iso3", NO_ACTION),
        ("initiative_domain", "domain_code", "domain", "code", NO_ACTION),
        ("initiative_funder", "partner_code", "partner", "code", NO_ACTION),
        ("initiative_priority", "priority_code", "priority", "code", NO_ACTION),
    ]
]


def _tables(position: int) -> list[str]:
    return sorted({key[position] for key in KEYS})


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _raise(constraint: str, table: str, column: str, message: str) -> str:
    """The error class and fields of PostgreSQL's own foreign key error; `message` has one
    %s for the key found."""
    return f"""
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = format({_literal(message)}, offending),
            CONSTRAINT = '{constraint}', TABLE = '{table}', COLUMN = '{column}';"""


def _function(name: str, body: str, *, result: str = "NULL") -> str:
    """A PL/pgSQL trigger function that may name an `offending` key in its error."""
    return f"""
CREATE FUNCTION {name}() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    offending text;
BEGIN{body}
    RETURN {result};
END
$$"""


def _child_function(child: str) -> str:
    """Checks the key values a statement wrote to `child` against each parent: every new
    row's on INSERT; on UPDATE only values that no row had before, as a foreign key skips
    a row whose key did not change."""

    def checks(values: str) -> str:
        statements = []
        for constraint, table, column, parent, key, _ in KEYS:
            if table != child:
                continue
            message = (
                f'insert or update on table "{child}" violates foreign key constraint '
                f'"{constraint}": key ({column})=(%s) is not present in table "{parent}"'
            )
            source = values.format(column=column)
            statements.append(f"""
    -- Locked as a foreign key locks them: deleting one now waits for this transaction.
    PERFORM 1 FROM "{parent}" p WHERE p.{key} IN (SELECT c.value FROM {source} c)
        FOR KEY SHARE OF p;
    SELECT c.value::text INTO offending FROM {source} c
        WHERE c.value IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM "{parent}" p WHERE p.{key} = c.value)
        LIMIT 1;
    IF offending IS NOT NULL THEN{_raise(constraint, child, column, message)}
    END IF;""")
        return "".join(statements)

    # Each branch names only the transition tables its trigger declares: PL/pgSQL plans a
    # statement when it first runs it.
    inserted = "(SELECT {column} AS value FROM new_rows)"
    changed = "(SELECT {column} AS value FROM new_rows EXCEPT SELECT {column} FROM old_rows)"
    body = f"""
    IF TG_OP = 'INSERT' THEN{checks(inserted)}
    ELSE{checks(changed)}
    END IF;"""
    return _function(f"jvap_check_references_{child}", body)


def _parent_functions(parent: str) -> list[str]:
    """On `parent`: cascade or refuse a delete; refuse a re-key or a truncate of a row that
    is referenced."""
    deletes, rekeys, truncates = [], [], []
    for constraint, child, column, table, key, on_delete in KEYS:
        if table != parent:
            continue
        referenced = _raise(
            constraint,
            child,
            column,
            f'update or delete on table "{parent}" violates foreign key constraint '
            f'"{constraint}" on table "{child}": key ({key})=(%s) is still referenced',
        )
        if on_delete == CASCADE:
            deletes.append(
                f"\n    DELETE FROM {child} WHERE {column} IN (SELECT o.{key} FROM old_rows o);"
            )
        else:
            deletes.append(f"""
    SELECT o.{key}::text INTO offending FROM old_rows o
        WHERE EXISTS (SELECT 1 FROM {child} c WHERE c.{column} = o.{key})
        LIMIT 1;
    IF offending IS NOT NULL THEN{referenced}
    END IF;""")
        rekeys.append(f"""
    IF EXISTS (SELECT 1 FROM {child} c WHERE c.{column} = OLD.{key}) THEN
        offending := OLD.{key}::text;{referenced}
    END IF;""")
        truncated = _raise(
            constraint,
            child,
            column,
            f'cannot truncate table "{parent}": table "{child}" references it through '
            f'"{constraint}"%s',
        )
        truncates.append(f"""
    IF EXISTS (SELECT 1 FROM {child}) THEN
        offending := '';{truncated}
    END IF;""")
    return [
        _function(f"jvap_delete_references_{parent}", "".join(deletes)),
        _function(f"jvap_rekey_references_{parent}", "".join(rekeys), result="NEW"),
        _function(f"jvap_truncate_references_{parent}", "".join(truncates)),
    ]


def _parent_key(parent: str) -> str:
    return next(key for _, _, _, table, key, _ in KEYS if table == parent)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for constraint, child, *_ in KEYS:
        op.execute(f'ALTER TABLE {child} DROP CONSTRAINT "{constraint}"')
    for child in _tables(1):
        op.execute(_child_function(child))
        # One event per trigger when a statement has transition tables.
        for event, tables in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ):
            op.execute(f"""
                CREATE TRIGGER jvap_check_references_{event.lower()} AFTER {event} ON {child}
                REFERENCING {tables}
                FOR EACH STATEMENT EXECUTE FUNCTION jvap_check_references_{child}()""")
    for parent in _tables(3):
        for function in _parent_functions(parent):
            op.execute(function)
        key = _parent_key(parent)
        op.execute(f"""
            CREATE TRIGGER jvap_delete_references AFTER DELETE ON "{parent}"
            REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION jvap_delete_references_{parent}()""")
        # Only an UPDATE that sets the key fires it, and only a changed key does anything.
        op.execute(f"""
            CREATE TRIGGER jvap_rekey_references BEFORE UPDATE OF {key} ON "{parent}"
            FOR EACH ROW WHEN (OLD.{key} IS DISTINCT FROM NEW.{key})
            EXECUTE FUNCTION jvap_rekey_references_{parent}()""")
        # After: a TRUNCATE that empties the referencing tables too is allowed.
        op.execute(f"""
            CREATE TRIGGER jvap_truncate_references AFTER TRUNCATE ON "{parent}"
            FOR EACH STATEMENT EXECUTE FUNCTION jvap_truncate_references_{parent}()""")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for parent in _tables(3):
        for trigger in ("delete", "rekey", "truncate"):
            op.execute(f'DROP TRIGGER jvap_{trigger}_references ON "{parent}"')
            op.execute(f"DROP FUNCTION jvap_{trigger}_references_{parent}()")
    for child in _tables(1):
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER jvap_check_references_{event} ON {child}")
        op.execute(f"DROP FUNCTION jvap_check_references_{child}()")
    for constraint, child, column, parent, key, on_delete in KEYS:
        op.execute(
            f'ALTER TABLE {child} ADD CONSTRAINT "{constraint}" FOREIGN KEY ({column}) '
            f'REFERENCES "{parent}" ({key}) ON DELETE {on_delete}'
        )
