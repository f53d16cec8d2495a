"""The declarative base every ORM table of shancheng derives from.

A fixed naming convention makes constraint names identical on SQLite and PostgreSQL, so
migrations written once apply to both.
"""

from __future__ import annotations

from sqlalchemy import Column, MetaData, String, Table
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with the shared metadata and naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Created by the root migration s0000; declared here so that autogenerate keeps it.
schema_info = Table(
    "schema_info",
    Base.metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
)
