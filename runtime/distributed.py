"""Running a job across processes and machines with ``torch.distributed``.

Under ``torchrun`` (which sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT``) every process joins one group: NCCL when it drives a GPU, gloo on the CPU. Two
patterns are provided:

* sharded inference: each rank takes every ``world_size``-th input object (whole objects, so each
  ciphertext is opened by exactly one rank) and the results are gathered for the report;
* data-parallel training: :func:`train_data_parallel` wraps a module in
  ``DistributedDataParallel`` so gradients are all-reduced and every rank keeps identical weights.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from runtime.errors import InputError

T = TypeVar("T")


@dataclass(frozen=True)
class DistContext:
    """Where this process sits in the job: rank ``rank`` of ``world_size``."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def distributed(self) -> bool:
        """True when more than one process takes part."""
        return self.world_size > 1

    @property
    def is_leader(self) -> bool:
        """Rank 0 writes the job report."""
        return self.rank == 0


def context_from_env(env: dict[str, str] | None = None) -> DistContext:
    """Read torchrun's environment; a plain process is rank 0 of 1."""
    env = dict(os.environ) if env is None else env
    try:
        world = int(env.get("WORLD_SIZE", "1"))
        rank = int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", str(rank)))
    except ValueError as err:
        raise InputError(f"torch.distributed environment is malformed: {err} (RANK/WORLD_SIZE)") from err
    if world < 1 or not 0 <= rank < world:
        raise InputError(f"torch.distributed environment is inconsistent: rank {rank} of {world}")
    return DistContext(rank=rank, world_size=world, local_rank=local)


def backend_for(device: torch.device) -> str:
    """NCCL for GPUs, gloo for the CPU."""
    return "nccl" if device.type == "cuda" else "gloo"


@contextlib.contextmanager
def process_group(
    ctx: DistContext, device: torch.device, timeout_s: float = 300.0
) -> Iterator[DistContext]:
    """Join the default process group for the duration of the block (a no-op for one process)."""
    if not ctx.distributed or dist.is_initialized():
        yield ctx
        return
    backend = backend_for(device)
    dist.init_process_group(
        backend=backend,
        rank=ctx.rank,
        world_size=ctx.world_size,
        timeout=datetime.timedelta(seconds=timeout_s),
    )
    try:
        yield DistContext(ctx.rank, ctx.world_size, ctx.local_rank, backend)
    finally:
        dist.destroy_process_group()


def shard(items: Sequence[T], ctx: DistContext) -> list[T]:
    """This rank's share: every ``world_size``-th item starting at ``rank`` (balanced to within one)."""
    return list(items[ctx.rank :: ctx.world_size])


def gather(ctx: DistContext, local: list[Any]) -> list[Any]:
    """Every rank's ``local`` list concatenated in rank order (each rank gets the whole list).

    Values travel as JSON, not pickle (``all_gather_object`` unpickles what peers send, and needs
    numpy, which the container does not ship), so they must be JSON-serialisable.
    """
    if not ctx.distributed or not dist.is_initialized():
        return list(local)
    payload = json.dumps(local, separators=(",", ":")).encode("utf-8")
    device = torch.device("cuda", torch.cuda.current_device()) if ctx.backend == "nccl" else torch.device("cpu")
    size = torch.tensor([len(payload)], dtype=torch.long, device=device)
    sizes = [torch.zeros_like(size) for _ in range(ctx.world_size)]
    dist.all_gather(sizes, size)
    longest = max(int(s.item()) for s in sizes)
    mine = torch.zeros(longest, dtype=torch.uint8, device=device)
    mine[: len(payload)] = torch.tensor(list(payload), dtype=torch.uint8)
    buffers = [torch.zeros(longest, dtype=torch.uint8, device=device) for _ in range(ctx.world_size)]
    dist.all_gather(buffers, mine)
    out: list[Any] = []
    for buffer, length in zip(buffers, sizes, strict=True):
        out.extend(json.loads(bytes(buffer[: int(length.item())].cpu().tolist())))
    return out


def unshard(ctx: DistContext, gathered: list[Any]) -> list[Any]:
    """Undo :func:`shard` on a :func:`gather` of per-item results (restores the input order)."""
    if not ctx.distributed:
        return list(gathered)
    total = len(gathered)
    counts = [len(range(r, total, ctx.world_size)) for r in range(ctx.world_size)]
    out: list[Any] = [None] * total
    position = 0
    for rank, count in enumerate(counts):
        for k in range(count):
            out[rank + k * ctx.world_size] = gathered[position + k]
        position += count
    return out


def barrier(ctx: DistContext) -> None:
    """Wait for every rank (a no-op for one process)."""
    if ctx.distributed and dist.is_initialized():
        dist.barrier()


def train_data_parallel(
    model: nn.Module,
    batches: Sequence[tuple[torch.Tensor, torch.Tensor]],
    ctx: DistContext,
    *,
    device: torch.device,
    lr: float = 0.05,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> list[float]:
    """Data-parallel SGD: each rank trains on its own shard of ``batches``; DDP all-reduces the
    gradients so the weights stay identical on every rank. Returns this rank's loss per step.

    Every rank must take the same number of steps (DDP's collectives pair up step by step), so
    the shard is truncated to the shortest rank's length.
    """
    loss_fn = loss_fn or nn.functional.cross_entropy
    model = model.to(device).train()
    wrapped: nn.Module = model
    if ctx.distributed and dist.is_initialized():
        device_ids = [device.index] if device.type == "cuda" else None
        wrapped = DistributedDataParallel(model, device_ids=device_ids)
    optimiser = torch.optim.SGD(wrapped.parameters(), lr=lr)
    mine = shard(batches, ctx)
    steps = len(batches) // ctx.world_size
    losses: list[float] = []
    for inputs, targets in mine[:steps]:
        optimiser.zero_grad(set_to_none=True)
        loss = loss_fn(wrapped(inputs.to(device)), targets.to(device))
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
    return losses
