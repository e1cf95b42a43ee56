"""Hostile input for the intake pipeline: a corpus generated in code (no binary blobs)."""
