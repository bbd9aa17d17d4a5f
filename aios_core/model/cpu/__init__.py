"""CPU kernels of the network (Numba): the same arithmetic as the PyTorch operations they replace,
checked against them, and skipped where Numba or the check says no."""
