"""The GPU hardware catalogue (``policies/data/gpu_profiles.json``): which GPU models exist and which of them
have an NVIDIA Confidential Computing mode; and the cloud machine catalogue
(``policies/data/cloud_machine_types.json``): which GPU each GCE machine type or Azure VM size carries, whether it
runs as a confidential VM with that GPU in CC mode, and its list price.

One source for the stack spec (a node pool must name a known model), the cost estimate and the gate
(PHI-GPU-001 reads the same file as ``data.gpu_profiles``).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from pathlib import Path
from typing import Annotated, Any, Literal

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
    return validate(GpuCatalogue, _read_json(path, "the GPU catalogue"), path)


def _read_json(path: Path, what: str) -> Any:
    """The JSON document at ``path``; an unreadable file or bad JSON is one InputError naming file and ``what``."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise InputError(f"{path}: cannot read {what}: {err.strerror or err}") from err
    except ValueError as err:
        raise InputError(f"{path}: invalid JSON in {what}: {err}") from err


# --- the cloud machine catalogue ------------------------------------------------------------------------------

MACHINE_CATALOGUE = POLICIES / "data" / "cloud_machine_types.json"

Cloud = Literal["gcp", "azure"]


def machine_key(cloud: str, name: str) -> str:
    """The catalogue key of a machine type: ``azure/standard_ncc40ads_h100_v5``.

    Lower case because Azure VM sizes are case-insensitive; the gate looks up the same key.
    """
    return f"{cloud}/{name.lower()}"


class MachineConfidential(_Model):
    """How a machine type runs as a confidential VM with its GPU in CC mode."""

    cpu_tee: Literal["tdx", "sev-snp"]
    """The CPU trusted execution environment."""
    gpu_cc: bool
    """Whether the GPU runs in NVIDIA Confidential Computing mode."""
    how: str = Field(min_length=1)
    """What in the plan asks for it (a GKE nodeConfig setting, an AKS VM size)."""


class MachinePrice(_Model):
    """The vendor's list price of one node-hour, or why there is none."""

    usd_per_hour: float | None = Field(ge=0)
    """On-demand price per node-hour; None when no vendor price could be confirmed."""
    region: str = Field(min_length=1)
    """Region the price is for."""
    pricing: Literal["on-demand"]
    """Pricing model."""
    url: Annotated[str, StringConstraints(pattern=r"^https://")]
    """Vendor pricing page."""
    date: dt.date
    """When the price was read."""
    note: str | None = None
    """Caveats; required when there is no price, so a gap is explained, never silent."""

    @model_validator(mode="after")
    def _explained(self) -> MachinePrice:
        if self.usd_per_hour is None and not (self.note and self.note.strip()):
            raise ValueError("a price of null needs a note saying why")
        return self


class MachineType(_Model):
    """One GCE machine type or Azure VM size."""

    cloud: Cloud
    """Which cloud sells it."""
    name: str = Field(min_length=1)
    """The vendor's name (``Standard_NCC40ads_H100_v5``)."""
    gpu_model: str | None
    """A model of the GPU catalogue, or None for a CPU-only type."""
    gpu_count: int = Field(ge=0)
    """GPUs per node."""
    vcpus: int = Field(ge=1)
    """vCPUs per node."""
    memory_gib: int = Field(ge=1)
    """Memory per node."""
    confidential: MachineConfidential | None
    """How it runs confidential with a CC GPU, or None when it cannot."""
    price: MachinePrice
    """List price per node-hour."""
    source: GpuSource
    """The vendor page its confidential-computing facts rest on."""

    @model_validator(mode="after")
    def _gpus(self) -> MachineType:
        if (self.gpu_model is None) != (self.gpu_count == 0):
            raise ValueError("gpu_model must be null exactly when gpu_count is 0")
        return self


class MachineCatalogue(_Model):
    """Every machine type a cloud node pool may use, keyed by :func:`machine_key`."""

    source: str = Field(min_length=1)
    """What the catalogue is and how to read it."""
    updated: dt.date
    """When its facts were last checked."""
    machine_types: dict[str, MachineType] = Field(min_length=1)
    """Catalogue key → machine type."""

    @model_validator(mode="after")
    def _keys(self) -> MachineCatalogue:
        for key, machine in self.machine_types.items():
            expected = machine_key(machine.cloud, machine.name)
            if key != expected:
                raise ValueError(f"machine_types.{key}: key must be {expected!r}, the key of {machine.name!r}")
        return self

    def lookup(self, cloud: str, name: str) -> MachineType | None:
        """The machine type ``name`` of ``cloud`` (any case), or None for unknown hardware."""
        return self.machine_types.get(machine_key(cloud, name))


def _check_gpus(catalogue: MachineCatalogue, gpus: GpuCatalogue, path: Path) -> None:
    """Each GPU resolves in the GPU catalogue, and only a CC-capable GPU may be declared in CC mode."""
    for key, machine in catalogue.machine_types.items():
        profile = gpus.lookup(machine.gpu_model) if machine.gpu_model is not None else None
        if machine.gpu_model is not None and profile is None:
            raise InputError(
                f"{path}: machine_types.{key}.gpu_model: {machine.gpu_model!r} is not a known GPU model "
                f"(known: {gpus.known()})"
            )
        claims_cc = machine.confidential is not None and machine.confidential.gpu_cc
        if claims_cc and (profile is None or not profile.confidential_computing):
            raise InputError(
                f"{path}: machine_types.{key}.confidential.gpu_cc: {machine.gpu_model or 'no GPU'} has no "
                f"NVIDIA Confidential Computing mode in {GPU_CATALOGUE.name}"
            )


def load_machine_catalogue(path: Path, gpus: GpuCatalogue) -> MachineCatalogue:
    """Read and validate a machine catalogue against ``gpus``; errors name the file and the key."""
    catalogue = validate(MachineCatalogue, _read_json(path, "the machine catalogue"), path)
    _check_gpus(catalogue, gpus, path)
    return catalogue


@functools.cache
def machine_catalogue(path: Path = MACHINE_CATALOGUE) -> MachineCatalogue:
    """The shipped machine catalogue, read and validated once."""
    return load_machine_catalogue(path, gpu_catalogue())
