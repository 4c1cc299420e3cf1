"""Presentation: texts and keyboards people read, built from services' results (aiogram and HTML,
never the database)."""
