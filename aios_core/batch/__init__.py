"""`aios batch`: many clips through the `aios run` pipeline, on this machine or a Ray cluster."""
