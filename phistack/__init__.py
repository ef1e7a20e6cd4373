"""phistack: declare, gate and run HIPAA-grade AI workloads on rented confidential GPUs."""

__version__ = "0.1.0"
