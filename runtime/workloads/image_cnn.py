"""Built-in: medical image classification with a small CNN over 1×64×64 grayscale images.

Input: a weights-only ``torch.save`` archive ``{"format": "phistack.images/v1", "ids": [str, ...],
"images": uint8 tensor N×1×H×W}`` (8-bit grayscale, as exported from a PACS). Images travel as uint8
and become float on the device, which keeps both the ciphertext and the host-to-GPU copy small.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from runtime.errors import InputError
from runtime.workloads.base import Record, Workload
from runtime.workloads.registry import register

IMAGES_FORMAT = "phistack.images/v1"


class _SmallCnn(nn.Module):
    def __init__(self, channels: list[int], num_labels: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = 1
        for width in channels:
            layers += [nn.Conv2d(previous, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            previous = width
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(previous, num_labels)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


@register
class ImageCnn(Workload):
    """Chest X-ray style triage: one label per image."""

    name = "image-cnn"
    summary = "medical image classification: small CNN over 1x64x64 grayscale images"
    input_format = IMAGES_FORMAT

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        return {"channels": [8, 16, 32], "image_size": 64}

    @classmethod
    def default_labels(cls) -> list[str]:
        return ["normal", "opacity", "effusion"]

    @classmethod
    def build_model(cls, config: dict[str, Any], num_labels: int) -> nn.Module:
        channels = config.get("channels")
        if not isinstance(channels, list) or not all(isinstance(c, int) and c > 0 for c in channels):
            raise InputError("image-cnn model config needs 'channels': a list of positive integers")
        return _SmallCnn(channels, num_labels)

    def decode(self, payload: bytes, source: str) -> list[Record]:
        try:
            document = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
        except Exception as err:
            # torch's own message runs to a page; --verbose shows it through the cause.
            raise InputError(f"not a {IMAGES_FORMAT} archive, or it holds more than tensors ({source})") from err
        if not isinstance(document, dict) or document.get("format") != IMAGES_FORMAT:
            raise InputError(f"not a {IMAGES_FORMAT} archive ({source})")
        ids, images = document.get("ids"), document.get("images")
        if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.dim() != 4:
            raise InputError(f"'images' must be a uint8 tensor N×1×H×W ({source})")
        if images.shape[1] != 1:
            raise InputError(f"'images' must have one (grayscale) channel, got {images.shape[1]} ({source})")
        if not isinstance(ids, list) or len(ids) != images.shape[0]:
            raise InputError(f"'ids' must be one string per image ({source})")
        if not all(isinstance(i, str) for i in ids):
            raise InputError(f"'ids' must be one string per image ({source})")
        return [Record(i, image) for i, image in zip(ids, images, strict=True)]

    def collate(self, batch: Sequence[Record]) -> tuple[torch.Tensor, ...]:
        stacked = torch.stack([record.value for record in batch])
        # Convert after the copy: a uint8 transfer is a quarter of a float32 one.
        return (stacked.to(self.device, non_blocking=True).float().div_(255.0),)

    @classmethod
    def synthetic_inputs(cls, count: int, seed: int, size: int = 64) -> bytes:
        """Synthetic "radiographs": smooth noise with rib-like bands, some with a bright blob."""
        generator = torch.Generator().manual_seed(seed)
        rows = torch.arange(size, dtype=torch.float32).view(size, 1)
        bands = 0.15 * torch.sin(rows / 3.0).expand(size, size)
        images = torch.empty(count, 1, size, size, dtype=torch.uint8)
        yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
        for n in range(count):
            base = 0.35 + bands + 0.1 * torch.rand(size, size, generator=generator)
            if n % 3:
                cy, cx = (int(v) for v in torch.randint(12, size - 12, (2,), generator=generator))
                blob = ((yy - cy) ** 2 + (xx - cx) ** 2).float().div(-2 * 6.0**2).exp()
                base = base + 0.4 * blob
            images[n, 0] = (base.clamp(0, 1) * 255).to(torch.uint8)
        buffer = io.BytesIO()
        ids = [f"img-{seed:04d}-{n:05d}" for n in range(count)]
        torch.save({"format": IMAGES_FORMAT, "ids": ids, "images": images}, buffer)
        return buffer.getvalue()
