"""The inference API that `aios run`, `aios batch` and `aios eval` share: images in, people out.

``preprocess`` (the official input preparation), ``predict`` (one forward per size group),
``postprocess`` (raw outputs -> people in input pixels), ``results`` (the per-image record) and
``predictor`` (checkpoint, device and precision behind a callable).
"""
