"""The hot path's statements, compiled once.

A callback runs the same handful of statements every time: store the raw record (finding its
payment in the same INSERT), read the payment, read (and lock) its payable, add timeline
events, record the outcome. Compiling them through the ORM costs more CPU than running
them (bench/README.md, "profile"), so they are built here from the ORM's own compiler on first
use for each database connection, then run again with new parameters: still parameterised,
still the model's columns and converters, on SQLite and PostgreSQL alike (tests/payments/
test_prepared.py runs on both).

Only statements with nothing to vary but their parameters belong here; everything else is
ordinary ORM code.

They run through ``_run``: the backend's own cursor and Django's error translation
(``IntegrityError``, ``DataError``…), its thread and broken-transaction checks and its
async-unsafe guard, but not Django's cursor wrapper, which re-translated the placeholders
(a regular expression on SQLite) and built wrapper objects per statement. When something
watches statements the way Django offers (``connection.execute_wrapper``, ``DEBUG`` or a
test's query capture) they go through Django's cursor instead, so every watcher sees them;
a tool that patches Django's ``CursorWrapper`` or ``connection.cursor`` instead does not see
these statements.
"""

from typing import Any

from django.db import connections, router
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteDatabaseWrapper
from django.db.models import Model
from django.utils import timezone
from django.utils.asyncio import async_unsafe

from .models import CallbackRecord, Payment, PaymentEvent

_SENTINEL = -7_000_001  # a pk no row has: compiled once, replaced by the real one per call


class ByPk:
    """``model.objects.filter(pk=…)`` (``for_update``: ``select_for_update()``, for the
    settling transaction's lock order) compiled once per connection: the SQL, the columns'
    converters and the attribute names, so a read is one execute, one fetch and
    ``Model.from_db`` (what the ORM's iterator does, without rebuilding the query)."""

    def __init__(self, model: type[Model], *, for_update: bool = False):
        self.model = model
        self.for_update = for_update

    def _compile(self, using: str, connection) -> tuple[str, list[str], list[tuple[int, list, Any]]]:
        queryset = self.model._default_manager.using(using)
        if self.for_update:
            queryset = queryset.select_for_update()
        compiler = queryset.filter(pk=_SENTINEL).query.get_compiler(using, connection)
        sql, params = compiler.as_sql()
        if list(params) != [_SENTINEL]:  # the one parameter is the pk, or this is not for us
            raise ValueError(f"cannot prepare {self.model.__name__} by pk: {params!r}")
        columns = [expression for expression, _sql, _alias in compiler.select]
        attnames = [column.target.attname for column in columns]
        if attnames != [field.attname for field in self.model._meta.concrete_fields]:
            raise ValueError(f"cannot prepare {self.model.__name__} by pk: columns {attnames!r}")
        converters = [
            (index, functions, expression)
            for index, (functions, expression) in compiler.get_converters(columns).items()
        ]
        compiled = _compiled_on(connection)[self] = (sql, attnames, converters)
        return compiled

    def get(self, pk: Any) -> Model | None:
        using = router.db_for_read(self.model) if not self.for_update else router.db_for_write(self.model)
        connection = connections[using]
        compiled = _compiled_on(connection).get(self) or self._compile(using, connection)
        sql, attnames, converters = compiled
        row = _run(connection, sql, [pk], fetch=True)
        if row is None:
            return None
        values = list(row)
        for index, functions, expression in converters:
            value = values[index]
            for function in functions:
                value = function(value, expression, connection)
            values[index] = value
        return self.model.from_db(using, attnames, values)


_native_sql: dict[str, str] = {}
_SQLITE_CREATE_CURSOR = SQLiteDatabaseWrapper.create_cursor


def _sqlite_sql(connection, sql: str) -> str:
    """``sql`` with SQLite's qmark placeholders, by Django's own translation, once."""
    native = _native_sql.get(sql)
    if native is None:
        translator = connection.create_cursor()
        try:
            native = _native_sql[sql] = translator.convert_query(sql)
        finally:
            translator.close()
    return native


@async_unsafe
def _run(connection, sql: str, params: list, *, fetch: bool) -> Any:
    """Execute one of this module's statements: the first row when ``fetch``, else the number
    of rows changed. On the backend's cursor with Django's checks and error translation; on
    Django's cursor when something watches statements (the module docstring)."""
    if connection.execute_wrappers or connection.queries_logged:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone() if fetch else cursor.rowcount
    connection.close_if_health_check_failed()
    if connection.connection is None:
        connection.ensure_connection()
    connection.validate_thread_sharing()
    connection.validate_no_broken_transaction()
    with connection.wrap_database_errors:
        # Django's own SQLite backend (a subclass may make its own cursors): the plain
        # cursor, its placeholders translated once.
        if type(connection).create_cursor is _SQLITE_CREATE_CURSOR:
            native, cursor = _sqlite_sql(connection, sql), connection.connection.cursor()
        else:
            native, cursor = sql, connection.create_cursor()
        try:
            cursor.execute(native, params)
            return cursor.fetchone() if fetch else cursor.rowcount
        finally:
            try:
                cursor.close()
            except connection.Database.Error:  # as Django's cursor: never hides the statement's error
                pass


def _compiled_on(connection) -> dict:
    """What was compiled for this connection, kept on the connection itself (the converters
    are its backend's bound methods): it goes when the connection object goes, whatever
    thread made it."""
    compiled = connection.__dict__.get("_mpesa_prepared")
    if compiled is None:
        compiled = connection.__dict__["_mpesa_prepared"] = {}
    return compiled


_prepared: dict[tuple[type[Model], bool], ByPk] = {}


def row_by_pk(model: type[Model], pk: Any, *, for_update: bool = False) -> Model | None:
    """``model`` row ``pk`` (or None), read with a statement compiled once."""
    prepared = _prepared.get((model, for_update))
    if prepared is None:
        prepared = _prepared[(model, for_update)] = ByPk(model, for_update=for_update)
    return prepared.get(pk)


_EVENT_COLUMNS = ("payment", "kind", "source", "from_status", "to_status", "detail", "created_at")
_event_fields = [PaymentEvent._meta.get_field(name) for name in _EVENT_COLUMNS]
_event_sql: dict[str, str] = {}


def event_add(
    payment_id: int,
    kind: str,
    *,
    source: str = "",
    from_status: str = "",
    to_status: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Add one timeline event (``PaymentEvent``): one INSERT, compiled once per connection."""
    using = router.db_for_write(PaymentEvent)
    connection = connections[using]
    sql = _event_sql.get(using)
    if sql is None:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in _event_fields)
        marks = ", ".join(["%s"] * len(_event_fields))
        sql = _event_sql[using] = (
            f"INSERT INTO {quote(PaymentEvent._meta.db_table)} ({columns}) VALUES ({marks})"
        )
    values = (payment_id, kind, source, from_status, to_status, detail or {}, timezone.now())
    params = [
        field.get_db_prep_save(value, connection) for field, value in zip(_event_fields, values, strict=True)
    ]
    _run(connection, sql, params, fetch=False)


_insert_sql: dict[tuple[str, type[Model], str | None], str] = {}
_payment_public_id = Payment._meta.get_field("public_id")
_PAYMENT_BY_PUBLIC_ID = "payment by public_id"


def _inserted(instance: Model, *, payment_by_public_id: Any = None, find_payment: bool = False) -> Model:
    """INSERT the unsaved ``instance`` (every concrete field but the primary key, each through
    its ``pre_save``: ``auto_now_add`` stamps) RETURNING its primary key, compiled once per
    connection and model. ``find_payment``: its ``payment`` column is the payment whose
    public id is ``payment_by_public_id`` (NULL when none), read back too."""
    model = type(instance)
    meta = model._meta
    using = router.db_for_write(model)
    connection = connections[using]
    if not meta.pk.db_returning:
        raise TypeError(f"{model.__name__}: only models whose primary key the database assigns")
    fields = [field for field in meta.concrete_fields if not field.primary_key and not field.generated]
    key = (using, model, _PAYMENT_BY_PUBLIC_ID if find_payment else None)
    sql = _insert_sql.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        marks = [
            f"(SELECT {quote(Payment._meta.pk.column)} FROM {quote(Payment._meta.db_table)} WHERE "
            f"{quote(_payment_public_id.column)} = %s)"
            if find_payment and field.name == "payment"
            else "%s"
            for field in fields
        ]
        returning = [quote(meta.pk.column)]
        if find_payment:
            returning.append(quote(meta.get_field("payment").column))
        sql = _insert_sql[key] = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
            f"VALUES ({', '.join(marks)}) RETURNING {', '.join(returning)}"
        )
    params = [
        _payment_public_id.get_db_prep_value(payment_by_public_id, connection)
        if find_payment and field.name == "payment"
        else field.get_db_prep_save(field.pre_save(instance, add=True), connection)
        for field in fields
    ]
    returned = _run(connection, sql, params, fetch=True)
    instance.pk = returned[0]
    if find_payment:
        instance.payment_id = returned[1]
    instance._state.adding, instance._state.db = False, using
    return instance


def row_insert(instance: Model) -> Model:
    """``instance.save()`` for a new row as one INSERT … RETURNING compiled once per connection
    and model (no signals: for hot-path rows whose models have no receivers, such as a
    payable's ledger entry). Database constraints apply as ever (IntegrityError)."""
    return _inserted(instance)


def callback_record_add(record: CallbackRecord, *, public_id: Any) -> CallbackRecord:
    """INSERT the unsaved raw ``record`` with ``payment_id`` found by the callback URL's
    ``public_id`` in the same statement (NULL when no payment has it), and RETURNING the new
    id and payment id: one statement instead of a lookup and an insert."""
    return _inserted(record, payment_by_public_id=public_id, find_payment=True)


def row_update(instance: Model, fields: tuple[str, ...]) -> None:
    """``instance.save(update_fields=fields)`` as one UPDATE compiled once per connection and
    field set (no signals: the hot path's models have no receivers for them)."""
    meta = instance._meta
    values = {name: getattr(instance, meta.get_field(name).attname) for name in fields}
    rows_update(type(instance), where={"pk": instance.pk}, values=values)


_update_where_sql: dict[tuple, str] = {}


def rows_update(
    model: type[Model],
    *,
    where: dict[str, Any],
    values: dict[str, Any],
    increment: str | None = None,
) -> int:
    """``model.objects.filter(**where).update(**values, increment=F(increment) + 1)`` as one
    UPDATE compiled once per connection and column set: equality on each ``where`` field
    (``"pk"`` for the primary key; None means IS NULL), plain values only. Returns the number
    of rows changed: with the current status in ``where`` it is a compare-and-swap (0: the
    row was no longer as expected)."""
    if increment in values:
        raise ValueError(f"rows_update: {increment} is both set and incremented")
    using = router.db_for_write(model)
    connection = connections[using]
    meta = model._meta
    nulls = tuple(name for name, value in where.items() if value is None)
    key = (using, model, tuple(values), tuple(where), nulls, increment)
    sql = _update_where_sql.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        sets = [f"{quote(meta.get_field(name).column)} = %s" for name in values]
        if increment:
            column = quote(meta.get_field(increment).column)
            sets.append(f"{column} = {column} + 1")
        tests = [
            f"{quote(_field(meta, name).column)} " + ("IS NULL" if name in nulls else "= %s")
            for name in where
        ]
        sql = _update_where_sql[key] = (
            f"UPDATE {quote(meta.db_table)} SET {', '.join(sets)} WHERE {' AND '.join(tests)}"
        )
    params = []
    for name, value in values.items():
        if hasattr(value, "resolve_expression"):
            raise TypeError(f"rows_update takes plain values, not {value!r} for {name}")
        params.append(_prepared_value(meta.get_field(name), value, connection, save=True))
    params += [
        _prepared_value(_field(meta, name), value, connection, save=False)
        for name, value in where.items()
        if value is not None
    ]
    return _run(connection, sql, params, fetch=False)


def _field(meta, name: str):
    return meta.pk if name == "pk" else meta.get_field(name)


def _prepared_value(field, value: Any, connection, *, save: bool) -> Any:
    if field.remote_field is not None and hasattr(value, "prepare_database_save"):
        value = value.prepare_database_save(field)  # a model instance for a foreign key
    return field.get_db_prep_save(value, connection) if save else field.get_db_prep_value(value, connection)
