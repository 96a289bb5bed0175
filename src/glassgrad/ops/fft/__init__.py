"""Discrete Fourier transforms (``torch.fft``'s primitives): see ``transforms``."""
