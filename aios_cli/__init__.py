"""The `aios` command line: a thin layer over aios_core."""
