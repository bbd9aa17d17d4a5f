"""Offscreen mesh rendering."""
