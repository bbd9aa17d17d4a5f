"""Leaf file utilities: atomic writes, output-path checks, file kinds, typed arrays."""
