"""phistack: declare, gate and run HIPAA-grade AI workloads on rented confidential GPUs."""

from runtime import __version__

__all__ = ["__version__"]
