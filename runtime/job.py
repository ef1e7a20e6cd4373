"""The job spec: what ``phistack-runtime run JOB.yaml`` runs, validated once on load.

A job names a workload (a plugin in :mod:`runtime.workloads`), the classification of its data,
the encrypted inputs and where the encrypted outputs go, the pinned model file, and how the data
key is obtained: from the key broker after attestation, or (development mode, non-PHI data only)
from a local ``file:`` key-encryption key. Relative paths are resolved against the job file's folder.

Every error names the file, the line where the YAML has one, and the key path, on one line (exit 2).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from runtime.classification import Classification
from runtime.configfile import explain, key_path, line_of, more_suffix, parse_yaml_nodes, read_config_text
from runtime.errors import InputError

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_OBJECT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$")


def _check_object_id(value: str) -> str:
    if not _OBJECT_ID.match(value):
        raise ValueError("must be 1-200 characters of letters, digits and . _ : / -")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelRef(_Strict):
    """The model file and the SHA-256 it must have before it is loaded."""

    path: Path = Field(description="local model file (never a hub name)")
    sha256: str = Field(description="expected SHA-256 of the file, 64 lowercase hex digits")

    @field_validator("sha256")
    @classmethod
    def _hex_digest(cls, value: str) -> str:
        value = value.strip().lower().removeprefix("sha256:")
        if not _SHA256.match(value):
            raise ValueError("must be a SHA-256 digest: 64 hex digits")
        return value


class InputObject(_Strict):
    """One encrypted input object."""

    path: Path = Field(description="the encrypted object on disk")
    object_id: str = Field(description="the object id bound into the ciphertext")
    tenant: str = Field(min_length=1, max_length=128, description="the data owner the object belongs to")

    @field_validator("object_id")
    @classmethod
    def _object_id(cls, value: str) -> str:
        return _check_object_id(value)


class OutputObject(_Strict):
    """Where the encrypted results of the input at the same position go."""

    path: Path = Field(description="the encrypted output file, written atomically")
    object_id: str = Field(description="the object id bound into the output ciphertext")

    @field_validator("object_id")
    @classmethod
    def _object_id(cls, value: str) -> str:
        return _check_object_id(value)


class KeyBroker(_Strict):
    """The key broker that appraises attestation evidence and releases the data key."""

    url: str = Field(description="https URL of the broker (may end in /<dataset>)")
    ca: Path = Field(description="PEM file of the CA that signs the broker's TLS certificate")
    dataset: str | None = Field(default=None, description="the broker's dataset whose key wraps the data")

    @field_validator("url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("the key broker must be reached over https://")
        return value


class AuditConfig(_Strict):
    """Where the job's audit records go."""

    path: Path = Field(description="the local hash-chained audit log (appended to)")
    signing_key: Path | None = Field(default=None, description="Ed25519 private key that signs checkpoints")
    sink: str | None = Field(default=None, description="optional SIEM sink URI, e.g. syslog+tls://host:6514")


class Deidentification(_Strict):
    """The proof that a ``deidentified`` job's data was de-identified: its signed manifest and who may sign."""

    manifest: Path = Field(description="the dataset's phistack.deid-manifest/v1 file")
    trusted_keys: list[Path] = Field(min_length=1, description="PEM public keys (PREFIX.pub) of trusted signers")
    directory: Path | None = Field(
        default=None, description="the de-identified dataset; default: the manifest path without .manifest.json"
    )

    def dataset_directory(self) -> Path:
        """Where the dataset is: ``directory``, or ``OUT`` for a manifest written as ``OUT.manifest.json``."""
        if self.directory is not None:
            return self.directory
        name = self.manifest.name
        return self.manifest.with_name(name.removesuffix(".manifest.json") if name.endswith(".manifest.json") else name)


class JobSpec(_Strict):
    """A validated job. Build it with :func:`load_job`."""

    name: str = Field(min_length=1, max_length=128, description="a name for the job, used in audit records")
    workload: str = Field(description="the workload plugin, e.g. image-cnn or text-bow")
    classification: Classification
    development: bool = Field(default=False, description="CPU, no broker; only for none/deidentified data")
    model: ModelRef
    inputs: list[InputObject] = Field(min_length=1)
    outputs: list[OutputObject] = Field(min_length=1)
    key_broker: KeyBroker | None = None
    kek_uri: str | None = Field(default=None, description="development only: a file: key-encryption key")
    batch_size: int = Field(default=32, ge=1, le=4096)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    audit: AuditConfig
    deidentification: Deidentification | None = None
    """Required for ``deidentified`` data on a machine without confidential computing (checked at run time)."""

    @field_validator("workload")
    @classmethod
    def _known_workload(cls, value: str) -> str:
        from runtime.workloads import registry

        if value not in registry.names():
            raise ValueError(f"unknown workload {value!r} (known: {', '.join(registry.names())})")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> JobSpec:
        if self.deidentification is not None and self.classification is not Classification.DEIDENTIFIED:
            raise _KeyedError("deidentification", "only a job classified deidentified names a manifest")
        if len(self.outputs) != len(self.inputs):
            raise _KeyedError("outputs", f"needs one output per input ({len(self.inputs)}), got {len(self.outputs)}")
        if self.development:
            if self.classification.sensitive:
                raise _KeyedError(
                    "development",
                    f"development mode is refused for {self.classification.value} data "
                    "(only classification none or deidentified)",
                )
            if not self.kek_uri:
                raise _KeyedError("kek_uri", "development mode needs a file: key-encryption key")
            if not self.kek_uri.startswith("file:"):
                raise _KeyedError("kek_uri", "development mode takes only a file: URI")
        else:
            if self.key_broker is None:
                raise _KeyedError("key_broker", "required unless development: true")
            if self.kek_uri is not None:
                raise _KeyedError("kek_uri", "only allowed with development: true (use key_broker)")
        return self

    def resolved(self, base: Path) -> JobSpec:
        """A copy with every relative path made absolute against ``base`` (the job file's folder)."""

        def fix(p: Path) -> Path:
            return p if p.is_absolute() else (base / p).resolve()

        update: dict[str, Any] = {
            "model": self.model.model_copy(update={"path": fix(self.model.path)}),
            "inputs": [i.model_copy(update={"path": fix(i.path)}) for i in self.inputs],
            "outputs": [o.model_copy(update={"path": fix(o.path)}) for o in self.outputs],
            "audit": self.audit.model_copy(
                update={
                    "path": fix(self.audit.path),
                    "signing_key": fix(self.audit.signing_key) if self.audit.signing_key else None,
                }
            ),
        }
        if self.key_broker is not None:
            update["key_broker"] = self.key_broker.model_copy(update={"ca": fix(self.key_broker.ca)})
        if self.deidentification is not None:
            d = self.deidentification
            update["deidentification"] = d.model_copy(
                update={
                    "manifest": fix(d.manifest),
                    "trusted_keys": [fix(k) for k in d.trusted_keys],
                    "directory": fix(d.directory) if d.directory is not None else None,
                }
            )
        if self.kek_uri is not None and self.kek_uri.startswith("file:"):
            update["kek_uri"] = "file:" + str(fix(Path(self.kek_uri.removeprefix("file:"))))
        return self.model_copy(update=update)


class _KeyedError(ValueError):
    """A cross-field error that knows which key it is about (pydantic reports it at the root)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


def _where(path: Path, root: yaml.Node | None, loc: tuple[int | str, ...]) -> str:
    line = line_of(root, loc)
    return f"{path}:{line} {key_path(loc)}" if line else f"{path} {key_path(loc)}"


def parse_job(text: str, path: Path) -> JobSpec:
    """Validate job YAML ``text`` read from ``path``; raise :class:`InputError` naming file, line, key."""
    try:
        data, root = parse_yaml_nodes(text, path, "job spec")
    except InputError as err:
        cause = err.__cause__
        mark = getattr(cause, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(cause, "problem", None) or str(cause or err)
        raise InputError(f"invalid job spec: YAML error: {problem} ({where})") from cause
    if not isinstance(data, dict):
        raise InputError(f"invalid job spec: expected a mapping at the top level ({path})")
    try:
        spec = JobSpec.model_validate(data)
    except ValidationError as err:
        problem = explain(JobSpec, err)
        loc: tuple[int | str, ...] = problem.loc
        message = problem.message
        ctx_err = (problem.detail.get("ctx") or {}).get("error")
        if isinstance(ctx_err, _KeyedError):
            loc = (*loc, ctx_err.key)
            message = message.removeprefix(f"{ctx_err.key}: ")
        raise InputError(f"invalid job spec: {message}{more_suffix(problem.more)} ({_where(path, root, loc)})") from err
    return spec.resolved(path.parent.resolve())


def load_job(path: str | Path) -> JobSpec:
    """Read and validate the job file at ``path``; relative paths in it become absolute."""
    job_path = Path(path)
    if not job_path.exists():
        raise InputError(f"job file not found ({job_path})")
    return parse_job(read_config_text(job_path, "job file"), job_path)
