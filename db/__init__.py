"""Database layer: models, repositories and Alembic migrations."""
