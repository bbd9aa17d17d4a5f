"""`aios run`: frames in, tracked and smoothed SMPL-X people (and an overlay video) out."""
