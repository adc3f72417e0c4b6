"""A database transaction as the caller: the role and identity the row-level security reads.

Every request of an authenticated caller that touches restricted data runs in a transaction
that starts with :func:`enter`::

    SET LOCAL ROLE lagesbild_actor;               -- the group role of the caller's role
    SELECT set_config('lagesbild.actor_id', 'polisen', true), ...

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


def statements(identity: Identity, role: str) -> list[tuple[str, dict[str, Any]]]:
    """The statements that begin a transaction as ``identity`` acting in ``role``.

    >>> from lagesbild_geo.access.identity import Identity
    >>> s = statements(Identity("key:7", frozenset({"actor"}), "polisen"), "actor")
    >>> s[0][0]
    'SET LOCAL ROLE lagesbild_actor'
    >>> s[1][1]["actor_id"], s[1][1]["role"]
    ('polisen', 'actor')
    """
    if role not in identity.roles:
        raise PermissionError(f"{identity.principal} does not hold the role {role}")
    db_role = DB_ROLES[role]  # a fixed name from the table, never the caller's text
    return [
        (f"SET LOCAL ROLE {db_role}", {}),
        (
            "SELECT set_config('lagesbild.actor_id', %(actor_id)s, true),"
            " set_config('lagesbild.principal', %(principal)s, true),"
            " set_config('lagesbild.role', %(role)s, true)",
            {
                "actor_id": identity.actor_id or "",
                "principal": identity.principal,
                "role": role,
            },
        ),
    ]


def enter(conn, identity: Identity, role: str) -> None:
    """Begin acting as ``identity`` in ``role`` inside the current transaction of ``conn``
    (a psycopg connection, or a DBAPI connection with ``cursor()``)."""
    cursor = conn.cursor()
    for statement, params in statements(identity, role):
        cursor.execute(statement, params or None)
