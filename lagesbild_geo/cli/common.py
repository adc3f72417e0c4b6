"""What every command group of ``lagesbild`` shares: the settings, the error handling, the
connection.

The settings are built once, by the root group (:func:`lagesbild_geo.cli.main.main`), and kept
on the click context; commands read them from there and pass them down, so nothing below the
command line reads the environment.
"""

from __future__ import annotations

import functools
import sys

import click
import psycopg

from lagesbild_geo.db import connection
from lagesbild_geo.errors import DeliveryRefusedError, LagesbildError
from lagesbild_geo.settings import Settings


def settings_of(ctx: click.Context) -> Settings:
    """The settings the root group read from the environment when the command started."""
    return ctx.find_root().obj


def handle_errors(func):
    """Turn our own errors into a clear message and an exit code, never a traceback.

    A connection to PostgreSQL lost while a command runs (the server stopped, restarted, or
    ended the session) is the error table's DatabaseUnavailableError, exit 5, like a server
    that cannot be reached at the start; every write is one transaction, so nothing of it
    was stored. Any other database error is a bug, and keeps its traceback.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except DeliveryRefusedError as exc:
            click.secho(str(exc), fg="red", err=True)
            sys.exit(exc.exit_code)
        except LagesbildError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            sys.exit(exc.exit_code)
        except psycopg.Error as exc:
            if not connection.connection_lost(exc):
                raise
            lost = connection.unavailable(exc)
            click.secho(f"Error: {lost}", fg="red", err=True)
            sys.exit(lost.exit_code)

    return wrapper


def connect(ctx: click.Context) -> psycopg.Connection:
    """A connection to the configured database (LAGESBILD_DATABASE_URL or the embedded one)."""
    return connection.connect(connection.database_url(settings_of(ctx)))
