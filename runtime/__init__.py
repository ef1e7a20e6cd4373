"""The phistack runtime: what runs inside the confidential GPU container (attest, keys, audit, workloads)."""

# The one version number of both command lines (pyproject.toml's project.version); the runtime image ships
# this package alone, so it lives here rather than in phistack.
__version__ = "0.1.0"
