"""Pixel rules (``--pixel-rules FILE``): where a device burns text into its images, and the rectangles to blank.

::

    rules:
      - manufacturer: ACME Medical        # Manufacturer (0008,0070), exact
        model: Sonic 3                     # Manufacturer's Model Name (0008,1090), exact
        rows: 480
        columns: 640
        blank:                             # [x, y, width, height] in pixels, from the top left corner
          - [0, 0, 640, 40]

A rule applies only to uncompressed pixel data (native transfer syntaxes): blanking a compressed image would
mean re-encoding it. An image that matches no rule, or whose pixels cannot be blanked, stays quarantined.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydicom.dataset import Dataset

from runtime.configfile import load_yaml_nodes, validate
from runtime.errors import InputError

Count = Annotated[int, Field(ge=0, le=65535)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule(_Strict):
    """One device and image size, and the rectangles ``[x, y, width, height]`` to set to zero."""

    manufacturer: str = Field(min_length=1)
    model: str = Field(min_length=1)
    rows: Count
    columns: Count
    blank: list[tuple[Count, Count, Count, Count]] = Field(min_length=1)


class _File(_Strict):
    rules: list[Rule]


@dataclass(frozen=True)
class PixelRules:
    """The rules of one file."""

    path: Path
    rules: tuple[Rule, ...]

    @classmethod
    def load(cls, path: Path) -> PixelRules:
        """Read and validate ``path``; a problem is bad input naming the file, line and key."""
        document, root = load_yaml_nodes(path, "pixel rules")
        parsed = validate(_File, document, path, root)
        for index, rule in enumerate(parsed.rules):
            for box in rule.blank:
                x, y, width, height = box
                if width == 0 or height == 0 or x + width > rule.columns or y + height > rule.rows:
                    raise _outside(path, index, box)
        return cls(path=path, rules=tuple(parsed.rules))

    def match(self, ds: Dataset) -> Rule | None:
        """The rule for ``ds``'s device and size whose pixels can be blanked in place, or None."""
        device = (str(ds.get("Manufacturer", "")).strip(), str(ds.get("ManufacturerModelName", "")).strip())
        size = (int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0))
        for rule in self.rules:
            if (rule.manufacturer, rule.model) == device and (rule.rows, rule.columns) == size and _blankable(ds):
                return rule
        return None


def _outside(path: Path, index: int, box: tuple[int, int, int, int]) -> InputError:
    return InputError(f"{path}: rules.{index}.blank: rectangle {list(box)} is empty or outside the image")


def _blankable(ds: Dataset) -> bool:
    syntax = getattr(ds.file_meta, "TransferSyntaxUID", None)
    return (
        syntax is not None
        and not syntax.is_compressed
        and "PixelData" in ds
        and int(ds.get("BitsAllocated", 0) or 0) in (8, 16, 32)
    )


def blank(ds: Dataset, rule: Rule) -> int:
    """Zero ``rule``'s rectangles in every frame of ``ds``; the number of rectangles blanked."""
    pixels = bytearray(ds.PixelData)
    depth = int(ds.BitsAllocated) // 8
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    planar = int(ds.get("PlanarConfiguration", 0) or 0) == 1 and samples > 1
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    rows, columns = rule.rows, rule.columns
    plane = rows * columns * depth
    frame = plane * samples
    if len(pixels) < frame * frames:
        return 0
    for index in range(frames):
        for x, y, width, height in rule.blank:
            for row in range(y, y + height):
                if planar:
                    for sample in range(samples):
                        start = index * frame + sample * plane + (row * columns + x) * depth
                        pixels[start : start + width * depth] = bytes(width * depth)
                else:
                    start = index * frame + (row * columns + x) * samples * depth
                    pixels[start : start + width * samples * depth] = bytes(width * samples * depth)
    ds.PixelData = bytes(pixels)
    return len(rule.blank) * frames
