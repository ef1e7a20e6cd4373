"""The GPU hardware catalogue (``policies/data/gpu_profiles.json``): which GPU models exist and which of them
have an NVIDIA Confidential Computing mode.

One source for the stack spec (a node pool must name a known model), the cost estimate and the gate
(PHI-GPU-001 reads the same file as ``data.gpu_profiles``).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from phistack.shipped import POLICIES
from runtime.configfile import validate
from runtime.errors import InputError

GPU_CATALOGUE = POLICIES / "data" / "gpu_profiles.json"


def gpu_key(model: str) -> str:
    """The catalogue key of a GPU model name: ``NVIDIA H100-SXM`` → ``h100sxm``.

    Lower case, no spaces or dashes, no vendor prefix; PHI-GPU-001's ``_key`` is the same function.
    """
    return model.lower().replace(" ", "").replace("-", "").removeprefix("nvidia")


class _Model(BaseModel):
    """Strict: an unknown key in the catalogue is an error, not a fact silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class GpuSource(_Model):
    """The vendor page a catalogue entry rests on."""

    url: Annotated[str, StringConstraints(pattern=r"^https://")]
    """Vendor documentation URL."""
    says: str = Field(min_length=1)
    """What the page says about the model's confidential computing."""


class GpuProfile(_Model):
    """One GPU model of the hardware catalogue."""

    name: str
    """Vendor name (``NVIDIA H100 SXM``)."""
    model: str
    """The name stack configs use (``H100 SXM``)."""
    architecture: str
    """GPU architecture (``hopper``)."""
    memory_gib: int = Field(ge=1)
    """GPU memory."""
    confidential_computing: bool
    """Whether the model has an NVIDIA Confidential Computing mode: the fact the gate trusts."""
    source: GpuSource
    """Where that fact comes from."""


class GpuCatalogue(_Model):
    """Every GPU model a node pool may declare, keyed by :func:`gpu_key`."""

    source: str
    """What the catalogue is and where its facts come from."""
    gpus: dict[str, GpuProfile] = Field(min_length=1)
    """Catalogue key → profile."""

    @model_validator(mode="after")
    def _keys(self) -> GpuCatalogue:
        for key, profile in self.gpus.items():
            if key != gpu_key(profile.model):
                raise ValueError(f"gpus.{key}: key must be {gpu_key(profile.model)!r}, the key of {profile.model!r}")
        return self

    def lookup(self, model: str) -> GpuProfile | None:
        """The profile of ``model`` (any spelling with the same key), or None for unknown hardware."""
        return self.gpus.get(gpu_key(model))

    def known(self) -> str:
        """The known models, for error messages."""
        return ", ".join(sorted(p.model for p in self.gpus.values()))


@functools.cache
def gpu_catalogue(path: Path = GPU_CATALOGUE) -> GpuCatalogue:
    """Read and validate the hardware catalogue once; errors name the file and the key."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise InputError(f"{path}: cannot read the GPU catalogue: {err.strerror or err}") from err
    except ValueError as err:
        raise InputError(f"{path}: invalid JSON in the GPU catalogue: {err}") from err
    return validate(GpuCatalogue, document, path)
