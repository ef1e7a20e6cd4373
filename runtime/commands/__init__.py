"""``phistack-runtime`` commands: each module defines ``register(subparsers)``; :mod:`runtime.cli` imports only the
one a command line names and lists the others by these summaries, which the modules register as their help."""

SUMMARIES = {
    "attest": "collect GPU (NVML) and CPU TEE (configfs-tsm) evidence; exit 0 only when confidential",
    "model": "list workloads, create demo model files and synthetic inputs, print a file's SHA-256",
    "run": "run a job: attest, obtain the data key, decrypt in memory, run the workload, encrypt results",
}
