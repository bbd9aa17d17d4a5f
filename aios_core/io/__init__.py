"""Files aios writes and reads: the results of a run."""
