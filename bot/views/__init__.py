"""Presentation: text and keyboards people read, built from services' results (no database)."""
