"""Parsing an NVIDIA GPU attestation report: an SPDM 1.1 GET_MEASUREMENTS request and its response.

Layout (DMTF DSP0274 v1.1, as NVIDIA GPUs emit it through NVML):

request  (37 bytes): version, code 0xE0, param1, param2, nonce (32), slot id
response:            version, code 0x60, param1, param2, number of blocks (1),
                     measurement record length (3, little endian), measurement record,
                     responder nonce (32), opaque data length (2), opaque data, signature (96)

The signature is ECDSA P-384 (r‖s, 48 bytes each) over SHA-384 of every byte before it, request
included. NVIDIA's opaque data is a list of ``type (u16) | size (u16) | value`` fields; types
follow NVIDIA's local GPU verifier (nvtrust, ``OpaqueData.OPAQUE_DATA_TYPES``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from runtime.attestation.errors import AttestationError

REQUEST_LENGTH = 37
NONCE_LENGTH = 32
SIGNATURE_LENGTH = 96
GET_MEASUREMENTS = 0xE0
MEASUREMENTS = 0x60

# Opaque data field types we surface by name (the rest are kept by number).
OPAQUE_FIELD_NAMES = {
    1: "cert_issuer_name",
    2: "cert_authority_key_identifier",
    3: "driver_version",
    4: "gpu_info",
    5: "sku",
    6: "vbios_version",
    7: "manufacturer_id",
    8: "tamper_detection",
    9: "smc",
    10: "vpr",
    11: "nvdec0_status",
    12: "msrscnt",
    13: "cprinfo",
    14: "board_id",
    15: "chip_sku",
    16: "chip_sku_mod",
    17: "project",
    18: "project_sku",
    19: "project_sku_mod",
    20: "fwid",
    21: "protected_pcie_status",
    22: "switch_pdi",
    23: "floorswept_ports",
    24: "position_id",
    25: "lock_switch_status",
    32: "gpu_link_conn",
    33: "sys_enable_status",
    34: "opaque_data_version",
    35: "chip_info",
}


@dataclass(frozen=True)
class MeasurementBlock:
    """One DMTF measurement block: index, value type and the digest (48 bytes on Hopper)."""

    index: int
    specification: int
    value_type: int
    value: bytes


@dataclass(frozen=True)
class SpdmReport:
    """A parsed GET_MEASUREMENTS exchange; ``signed_bytes`` is what the signature covers."""

    raw: bytes
    request_nonce: bytes
    responder_nonce: bytes
    measurements: tuple[MeasurementBlock, ...]
    opaque: dict[int, bytes] = field(repr=False)
    signature: bytes = field(repr=False)

    @property
    def signed_bytes(self) -> bytes:
        return self.raw[:-SIGNATURE_LENGTH]

    @property
    def driver_version(self) -> str | None:
        """The driver version the GPU reports (e.g. ``535.86.09``), or None when absent."""
        value = self.opaque.get(3)
        return _c_string(value) if value is not None else None

    @property
    def vbios_version(self) -> str | None:
        """The VBIOS version in NVIDIA's dotted form (e.g. ``96.00.5E.00.01``), or None."""
        value = self.opaque.get(6)
        return format_vbios_version(value) if value is not None else None

    def named_opaque_fields(self) -> dict[str, str]:
        """Opaque fields by name, values as hex (strings for the textual ones)."""
        named: dict[str, str] = {}
        for kind, value in sorted(self.opaque.items()):
            name = OPAQUE_FIELD_NAMES.get(kind, f"type_{kind}")
            if kind in (3, 15, 16, 17, 18, 35):
                named[name] = _c_string(value)
            elif kind == 6:
                named[name] = format_vbios_version(value)
            else:
                named[name] = value.hex()
        return named


def _c_string(value: bytes) -> str:
    return value.split(b"\0", 1)[0].decode("ascii", errors="replace")


def format_vbios_version(value: bytes) -> str:
    """Format NVIDIA's 8-byte VBIOS version field: low word as four bytes, then the OEM byte."""
    if len(value) != 8:
        return value.hex()
    low, high = struct.unpack("<II", value)
    text = f"{low:08X}"
    return ".".join(text[i : i + 2] for i in range(0, 8, 2)) + f".{high & 0xFF:02X}"


class _Reader:
    """Bounds-checked reads with the offset in every error."""

    def __init__(self, data: bytes, start: int, end: int) -> None:
        self.data, self.pos, self.end = data, start, end

    def take(self, size: int, what: str) -> bytes:
        if self.pos + size > self.end:
            raise AttestationError(
                f"attestation report truncated: {what} needs {size} bytes at offset {self.pos}, "
                f"{self.end - self.pos} left"
            )
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk


def parse_report(raw: bytes) -> SpdmReport:
    """Parse an SPDM GET_MEASUREMENTS request+response; raise AttestationError on any malformation."""
    minimum = REQUEST_LENGTH + 8 + NONCE_LENGTH + 2 + SIGNATURE_LENGTH
    if len(raw) < minimum:
        raise AttestationError(f"attestation report too short: {len(raw)} bytes, at least {minimum} expected")
    if raw[1] != GET_MEASUREMENTS:
        raise AttestationError(f"attestation report does not start with GET_MEASUREMENTS (code 0x{raw[1]:02x})")
    request_nonce = raw[4 : 4 + NONCE_LENGTH]
    body_end = len(raw) - SIGNATURE_LENGTH
    reader = _Reader(raw, REQUEST_LENGTH, body_end)
    header = reader.take(8, "response header")
    if header[1] != MEASUREMENTS:
        raise AttestationError(f"response is not MEASUREMENTS (code 0x{header[1]:02x})")
    block_count = header[4]
    record_length = int.from_bytes(header[5:8], "little")
    record = _Reader(raw, reader.pos, reader.pos + record_length)
    if record.end > body_end:
        raise AttestationError(f"measurement record length {record_length} runs past the signature")
    blocks: list[MeasurementBlock] = []
    while record.pos < record.end:
        index, spec, size = struct.unpack("<BBH", record.take(4, "measurement block header"))
        body = record.take(size, f"measurement block {index}")
        if size < 3:
            raise AttestationError(f"measurement block {index} too short ({size} bytes)")
        value_size = int.from_bytes(body[1:3], "little")
        if value_size != size - 3:
            raise AttestationError(f"measurement block {index}: value size {value_size} != {size - 3}")
        blocks.append(MeasurementBlock(index, spec, body[0], body[3:]))
    if len(blocks) != block_count:
        raise AttestationError(f"report announces {block_count} measurement blocks but holds {len(blocks)}")
    reader.pos = record.end
    responder_nonce = reader.take(NONCE_LENGTH, "responder nonce")
    opaque_length = int.from_bytes(reader.take(2, "opaque data length"), "little")
    opaque_raw = reader.take(opaque_length, "opaque data")
    if reader.pos != body_end:
        raise AttestationError(f"attestation report has {body_end - reader.pos} unexpected bytes before the signature")
    return SpdmReport(
        raw=bytes(raw),
        request_nonce=request_nonce,
        responder_nonce=responder_nonce,
        measurements=tuple(blocks),
        opaque=_parse_opaque(opaque_raw),
        signature=raw[body_end:],
    )


def _parse_opaque(data: bytes) -> dict[int, bytes]:
    fields: dict[int, bytes] = {}
    reader = _Reader(data, 0, len(data))
    while reader.pos < reader.end:
        kind, size = struct.unpack("<HH", reader.take(4, "opaque field header"))
        fields[kind] = reader.take(size, f"opaque field {kind}")
    return fields
