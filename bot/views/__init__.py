"""Presentation: texts and keyboards built from service results (aiogram and HTML, never the database)."""
