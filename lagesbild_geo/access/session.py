"""A database transaction as the caller: the role and identity the row-level security reads.

Every request of an authenticated caller that touches restricted data runs in a transaction
that starts with :func:`enter`::

    SELECT set_config('role', 'lagesbild_actor', true),   -- SET LOCAL ROLE: the group role
           set_config('lagesbild.actor_id', 'polisen', true), ...

The server's own login role (``lagesbild_server``, NOINHERIT) has no privileges of its own,
only membership of the group roles, so nothing it reads escapes the policies of migration
0020; ``true`` makes the settings local to the transaction, so a pooled connection carries
nothing into the next request.
"""

from __future__ import annotations

from typing import Any

from lagesbild_geo.access.identity import DB_ROLES, Identity

#: The settings the policies read (``lagesbild.current_actor()`` etc. in migration 0020).
SETTINGS = ("lagesbild.actor_id", "lagesbild.principal", "lagesbild.role")


def statements(
    identity: Identity, role: str, settings: dict[str, str] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """The statement that begins a transaction as ``identity`` acting in ``role``: one
    statement (one round trip; ``set_config('role', ..., true)`` is ``SET LOCAL ROLE``), the
    role first. ``settings``: more of PostgreSQL's settings local to the transaction
    (fixed names from the server's code, e.g. ``synchronous_commit``).

    >>> from lagesbild_geo.access.identity import Identity
    >>> s = statements(Identity("key:7", frozenset({"actor"}), "polisen"), "actor")
    >>> s[0][0].startswith("SELECT set_config('role', %(db_role)s, true), ")
    True
    >>> s[0][1]["db_role"], s[0][1]["actor_id"], s[0][1]["role"]
    ('lagesbild_actor', 'polisen', 'actor')
    """
    if role not in identity.roles:
        raise PermissionError(f"{identity.principal} does not hold the role {role}")
    params: dict[str, Any] = {
        "db_role": DB_ROLES[role],  # a fixed name from the table, never the caller's text
        "actor_id": identity.actor_id or "",
        "principal": identity.principal,
        "role": role,
    }
    calls = [
        "set_config('role', %(db_role)s, true)",
        "set_config('lagesbild.actor_id', %(actor_id)s, true)",
        "set_config('lagesbild.principal', %(principal)s, true)",
        "set_config('lagesbild.role', %(role)s, true)",
    ]
    for i, (name, value) in enumerate((settings or {}).items()):
        params[f"name_{i}"], params[f"value_{i}"] = name, value
        calls.append(f"set_config(%(name_{i})s, %(value_{i})s, true)")
    return [(f"SELECT {', '.join(calls)}", params)]


def enter(conn, identity: Identity, role: str, settings: dict[str, str] | None = None) -> None:
    """Begin acting as ``identity`` in ``role`` inside the current transaction of ``conn``
    (a psycopg connection, or a DBAPI connection with ``cursor()``)."""
    cursor = conn.cursor()
    for statement, params in statements(identity, role, settings):
        cursor.execute(statement, params or None)
