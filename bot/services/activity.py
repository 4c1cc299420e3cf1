"""The activity log's vocabulary for services; the log itself lives in `db.repositories.activity`."""

from db.repositories.activity import ActivityRepo, ActivityWriter, Kind, forget_buffered, record

__all__ = ["ActivityRepo", "ActivityWriter", "Kind", "forget_buffered", "record"]
