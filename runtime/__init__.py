"""The phistack runtime: what runs inside the confidential GPU container (attest, keys, audit, workloads)."""
