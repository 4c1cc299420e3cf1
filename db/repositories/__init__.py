"""Repositories: take an AsyncSession, never commit, return plain values."""
