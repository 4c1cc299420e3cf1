"""mocbot: a Telegram assistant for municipal support centres of additional education."""
