"""Background workers: the Telegram side of the outboxes (they send; services decide)."""
