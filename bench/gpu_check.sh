#!/usr/bin/env bash
# One prepared check of the runtime's GPU path, for a machine with an NVIDIA GPU (none is available
# to this project's development machines). Run from the repository root with the virtualenv built:
#
#   bench/gpu_check.sh            # writes its evidence to ${OUT:-gpu-check}/
#
# It records: the GPU and driver (nvidia-smi), the confidential-computing state through NVML, torch's
# view of CUDA, a development job run on cuda with NVML telemetry in its audit log, and the encrypted
# pipeline benchmark on cuda next to the CPU figure from the same machine. Exit non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=${OUT:-gpu-check}
mkdir -p "$OUT"
export PYTHONWARNINGS=ignore

echo "== nvidia-smi" | tee "$OUT/summary.txt"
nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv | tee -a "$OUT/summary.txt"

echo "== NVML: device, CC state, telemetry" | tee -a "$OUT/summary.txt"
"$PY" - <<'PY' | tee "$OUT/nvml.json"
import json, time
import pynvml
from runtime.telemetry import GpuTelemetry, cc_state
pynvml.nvmlInit()
info = {"driver": pynvml.nvmlSystemGetDriverVersion(), "cc": cc_state(pynvml)}
pynvml.nvmlShutdown()
with GpuTelemetry(interval=0.1) as t:
    time.sleep(0.3)
info["telemetry"] = t.summary()
print(json.dumps(info, indent=2, default=str))
PY

echo "== torch" | tee -a "$OUT/summary.txt"
"$PY" -c "import torch; assert torch.cuda.is_available(), 'CUDA not available to torch'; \
print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0))" | tee -a "$OUT/summary.txt"

echo "== attestation (what a PHI job would see)" | tee -a "$OUT/summary.txt"
"$PY" -c "import json, os; from runtime.services import collect_attestation; \
print(json.dumps(collect_attestation(os.urandom(32)).summary()))" | tee -a "$OUT/summary.txt"

echo "== development job on cuda" | tee -a "$OUT/summary.txt"
"$PY" - "$OUT" <<'PY'
import sys, yaml
from pathlib import Path
from tests.fixtures.jobs.workspace import make_workspace
job = make_workspace(Path(sys.argv[1]) / "job", objects=2, records=512, batch_size=128,
                     overrides={"device": "cuda",
                                "audit": {"path": "audit/job.log", "signing_key": "audit-signing.key"}})
print(job)
PY
"$PY" -m phistack audit keygen -o "$OUT/job/audit-signing" --force
"$PY" -m runtime run "$OUT/job/job.yaml" > "$OUT/run-report.json"
grep -o '"telemetry":{[^}]*' "$OUT/job/audit/job.log" | tail -1 | tee -a "$OUT/summary.txt"
# Pinned: the job's checkpoints must be signed by the key made for it, not by whatever key the log names.
"$PY" -m phistack audit verify "$OUT/job/audit/job.log" --key "$OUT/job/audit-signing.pub" | tee -a "$OUT/summary.txt"

echo "== encrypted pipeline benchmark: cuda, then cpu on the same machine" | tee -a "$OUT/summary.txt"
"$PY" bench/pipeline_overhead.py --device cuda --images 4096 --batch-size 512 | tee -a "$OUT/summary.txt"
"$PY" bench/pipeline_overhead.py --device cpu | tee -a "$OUT/summary.txt"
echo "evidence in $OUT/"
