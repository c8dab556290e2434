"""Storage adapter: SQLAlchemy Core tables, the engine, the batching writer and the queries."""

from voltflow.store.database import Database, create_database
from voltflow.store.writer import DurableWriter, Write

__all__ = ["Database", "DurableWriter", "Write", "create_database"]
