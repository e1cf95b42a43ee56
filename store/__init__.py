"""The store: SQLAlchemy models, engine/session setup, the content-addressed file store."""
