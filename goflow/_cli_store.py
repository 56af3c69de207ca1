"""``goflow store ...``: the PostgreSQL store's schema (``goflow store migrate``)."""
from __future__ import annotations

import click

from .config import load_config
from .errors import GoflowError

__all__ = ["store"]


@click.group()
def store() -> None:
    """The store's schema (PostgreSQL; SQLite files create theirs when opened)."""


@store.command("migrate")
@click.option("--store-url", type=str, default=None, metavar="URL",
              help="postgresql://user@host:port/db (default: store.url, $GOFLOW_STORE_URL).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="A YAML configuration file (default: $GOFLOW_CONFIG).")
def migrate(store_url: str | None, config_path: str | None) -> None:
    """Bring the PostgreSQL schema to this GoFlow's version (one transaction; a newer schema is refused).

    Run it before starting a new GoFlow version on an existing database: the daemon creates the
    schema of an empty database itself, but upgrades only through this command."""
    from .store._pg import SCHEMA_VERSION, connect, migrate as run_migrations, redact
    cfg = load_config(config_path, overrides={"store.url": store_url})
    url = cfg.store.url
    if not url:
        raise GoflowError("no PostgreSQL store to migrate: give --store-url or set store.url "
                          "(SQLite stores need no migration command)")
    conn = connect(url, what="connecting to migrate")
    try:
        before, after = run_migrations(conn, redact(url))
    finally:
        conn.close()
    if before == after:
        click.echo(f"{redact(url)}: schema version {after} is current")
    else:
        click.echo(f"{redact(url)}: schema version {before} -> {after} (this GoFlow: {SCHEMA_VERSION})")
