"""torch.distributed with two CPU processes over gloo on loopback: sharded inference gives the
single-process answer, data-parallel training keeps the ranks' weights identical, and a job runs
under torchrun with one audit log per rank."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from runtime import distributed
from runtime.distributed import DistContext, context_from_env, shard, unshard
from runtime.errors import InputError
from runtime.workloads import batched, get
from tests.fixtures.jobs.workspace import make_workspace

torch.set_num_threads(1)
WORLD = 2


def _rendezvous(tmp_path: Path) -> str:
    # A file store, not a TCP port picked in advance: another process can take a free port before the
    # group binds it, and gloo then aborts the rank.
    return f"file://{tmp_path / 'rendezvous'}"


def _join(rank: int, init_method: str) -> DistContext:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init_method, rank=rank, world_size=WORLD)
    return DistContext(rank=rank, world_size=WORLD, local_rank=rank, backend="gloo")


def _sharded_inference(rank: int, init_method: str, model: str, sha: str, payload: str, out: str) -> None:
    ctx = _join(rank, init_method)
    try:
        workload = get("image-cnn")()
        workload.load(Path(model), sha)
        records = workload.decode(Path(payload).read_bytes(), "synthetic")
        local = [[p.id, p.label, list(p.scores)] for p in workload.run(batched(shard(records, ctx), 3))]
        merged = unshard(ctx, distributed.gather(ctx, local))
        if ctx.is_leader:
            Path(out).write_text(json.dumps(merged))
    finally:
        dist.destroy_process_group()


def _ddp_training(rank: int, init_method: str, out: str) -> None:
    ctx = _join(rank, init_method)
    try:
        cls = get("image-cnn")
        torch.manual_seed(0)  # the same initial weights on every rank, as DDP expects
        model = cls.build_model(cls.default_config(), 3)
        generator = torch.Generator().manual_seed(42)
        batches = [
            (torch.rand(4, 1, 16, 16, generator=generator), torch.randint(0, 3, (4,), generator=generator))
            for _ in range(4)
        ]
        losses = distributed.train_data_parallel(model, batches, ctx, device=torch.device("cpu"))
        flat = torch.cat([p.detach().flatten() for p in model.parameters()])
        digest = hashlib.sha256(bytes(flat.view(torch.uint8).tolist())).hexdigest()
        Path(out, f"rank{rank}.json").write_text(json.dumps({"losses": losses, "digest": digest}))
    finally:
        dist.destroy_process_group()


def test_sharded_inference_matches_one_process(tmp_path: Path) -> None:
    cls = get("image-cnn")
    model = cls.init_model_file(seed=0)
    sha = hashlib.sha256(model).hexdigest()
    (tmp_path / "model.pt").write_bytes(model)
    payload = cls.synthetic_inputs(7, seed=5)  # odd: the shards differ in size
    (tmp_path / "inputs.bin").write_bytes(payload)
    out = tmp_path / "merged.json"
    mp.spawn(
        _sharded_inference,
        args=(_rendezvous(tmp_path), str(tmp_path / "model.pt"), sha, str(tmp_path / "inputs.bin"), str(out)),
        nprocs=WORLD,
    )
    single = cls()
    single.load(tmp_path / "model.pt", sha)
    expected = single.run(batched(single.decode(payload, "synthetic"), 3))
    merged = json.loads(out.read_text())
    assert [m[0] for m in merged] == [p.id for p in expected]
    assert [m[1] for m in merged] == [p.label for p in expected]
    for m, p in zip(merged, expected, strict=True):
        assert m[2] == pytest.approx(list(p.scores), abs=1e-5)


def test_data_parallel_training_keeps_ranks_in_step(tmp_path: Path) -> None:
    mp.spawn(_ddp_training, args=(_rendezvous(tmp_path), str(tmp_path)), nprocs=WORLD)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(WORLD)]
    assert ranks[0]["digest"] == ranks[1]["digest"]  # gradients were all-reduced
    assert len(ranks[0]["losses"]) == len(ranks[1]["losses"]) == 2
    assert ranks[0]["losses"] != ranks[1]["losses"]  # each rank saw its own shard


def test_shard_and_unshard_round_trip() -> None:
    items = list(range(11))
    parts = [shard(items, DistContext(rank=r, world_size=3)) for r in range(3)]
    concatenated = [item for part in parts for item in part]
    assert sorted(concatenated) == items and [len(p) for p in parts] == [4, 4, 3]
    assert unshard(DistContext(rank=0, world_size=3), concatenated) == items


def test_context_from_env() -> None:
    assert context_from_env({}) == DistContext()
    ctx = context_from_env({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"})
    assert ctx.distributed and not ctx.is_leader
    with pytest.raises(InputError):
        context_from_env({"RANK": "2", "WORLD_SIZE": "2"})
    assert distributed.backend_for(torch.device("cpu")) == "gloo"
    assert distributed.backend_for(torch.device("cuda", 0)) == "nccl"


def test_job_under_torchrun_two_ranks(tmp_path: Path) -> None:
    job = make_workspace(tmp_path, objects=3, records=4)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(WORLD),
         "-m", "runtime", "run", str(job)],
        capture_output=True, text=True, env=env, timeout=180, cwd=Path(__file__).resolve().parents[1],
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["world_size"] == WORLD
    assert [o["rank"] for o in report["objects"]] == [0, 1, 0]
    for n in range(3):
        assert (tmp_path / "out" / f"image-cnn-batch-{n:03d}.results.enc").exists()
    from runtime.audit.chain import walk

    for rank in range(WORLD):
        log = tmp_path / "audit" / f"job.rank{rank}.log"
        lines = [json.loads(line) for line in log.read_text().splitlines()]
        assert lines[-1]["action"] == "job.end" and lines[-1]["outcome"] == "success"
        assert all(r["actor"].endswith(f"/rank{rank}") for r in lines[1:])
        walk(log, need_tree=True)  # raises if the chain does not verify
