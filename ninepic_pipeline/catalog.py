"""The BI entry points beside the warehouse's Parquet, refreshed after every materialization.

- `ninepic.duckdb` (a local warehouse): a DuckDB database holding one view per table (Hive
  partitioning on), which a BI tool with a DuckDB driver opens directly. The views read the
  Parquet files at query time, so a refresh is needed only for a table's first file; it runs
  after every materialization anyway, so the file is always right.
- `ninepic_views.sql`: the same views as a script, `ninepic_tables_hive.sql` (Athena, Spark
  SQL) and `ninepic_tables_trino.sql` (Trino): external tables for engines that read the
  Parquet themselves.

Each file is written under a temporary name and renamed into place, so a BI tool that has the
old database open keeps reading it, and concurrent runs refreshing at once leave one whole file.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from ninepic_pipeline.tables.schemas import TABLE_SCHEMAS
from ninepic_pipeline.tables.views import duckdb_views, hive_tables, trino_tables
from ninepic_pipeline.warehouse import Warehouse

DUCKDB_FILE = "ninepic.duckdb"
VIEWS_SQL = "ninepic_views.sql"
HIVE_SQL = "ninepic_tables_hive.sql"
TRINO_SQL = "ninepic_tables_trino.sql"


class CatalogError(Exception):
    """DuckDB refused to build the database of views."""


def refresh_catalog(store: Warehouse) -> str:
    """Rewrite the SQL files, and the database of a local warehouse, for the tables as they are
    now; returns where the views are (the database, or the views script on an object store).

    On an object store DuckDB needs its httpfs extension and credentials to read the views,
    which the BI machine has and this process may not: there the views are the script only.
    """
    views = duckdb_views(store.url, {t for t in TABLE_SCHEMAS if store.has_files(t)})
    written = store.write_text(VIEWS_SQL, views)
    store.write_text(HIVE_SQL, hive_tables(store.url))
    store.write_text(TRINO_SQL, trino_tables(store.url))
    root = store.local_root
    if root is None:
        return written
    target = root / DUCKDB_FILE
    tmp = root / f".tmp-{uuid.uuid4().hex}.{DUCKDB_FILE}"
    # Imported here, not with the module: DuckDB is 35 MB of a run's memory that the read of a
    # large gallery, which comes first, does not need.
    import duckdb

    try:
        with duckdb.connect(str(tmp)) as connection:
            connection.execute(views)
        os.replace(tmp, target)
    except duckdb.Error as error:
        raise CatalogError(str(error)) from error
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
    return str(target)
