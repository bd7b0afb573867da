"""DDP under torchrun: process group set-up, and which rank writes files.

Started by ``torchrun --nproc_per_node=N -m core.cli train ...``, every
process trains on its shard of each epoch (a DistributedSampler); gloo on CPU,
nccl on CUDA. Only rank 0 validates and writes files; the others wait at a
barrier. Without torchrun it is one process and nothing changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from core.device import select_device


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def broadcast_flag(self, flag: bool) -> bool:
        """Rank 0's value of ``flag`` on every rank (e.g. 'cancelled')."""
        if not self.distributed:
            return flag
        tensor = torch.tensor([1 if flag else 0], device=self.device if dist.get_backend() == "nccl" else "cpu")
        dist.broadcast(tensor, src=0)
        return bool(tensor.item())

    def close(self) -> None:
        if self.distributed and dist.is_initialized():
            dist.destroy_process_group()


def init_distributed(device_preference: str = "auto") -> DistContext:
    """Join the torchrun process group when WORLD_SIZE > 1; pick each rank's device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    device = select_device(device_preference)
    if world_size <= 1:
        return DistContext(0, 1, device)
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device = torch.device("cpu")
        backend = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    return DistContext(rank, world_size, device)
