"""Persistence: the SQLAlchemy schema, its migrations, the job queue and the track repository."""
