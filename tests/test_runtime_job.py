"""The job spec: valid files load with resolved paths; every error names the file, line and key path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from runtime.classification import Classification
from runtime.cli import main
from runtime.errors import InputError
from runtime.job import load_job, parse_job

FIXTURES = Path(__file__).parent / "fixtures" / "jobs"


def _job(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(text)
    return path


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(InputError) as caught:
        load_job(_job(tmp_path, text))
    message = caught.value.diagnostic()
    assert "\n" not in message
    return message


def _dev_spec() -> dict:
    return yaml.safe_load((FIXTURES / "dev-image.yaml").read_text())


def _dump(spec: dict) -> str:
    return yaml.safe_dump(spec, sort_keys=False)


def test_fixture_jobs_load_with_paths_resolved_against_the_job_folder() -> None:
    dev = load_job(FIXTURES / "dev-image.yaml")
    assert dev.development and dev.classification is Classification.NONE
    assert dev.model.path == (FIXTURES / "model.pt").resolve()
    assert dev.inputs[0].path == (FIXTURES / "xray-001.enc").resolve()
    assert dev.kek_uri == f"file:{(FIXTURES / 'dev.key').resolve()}"
    assert dev.audit.path == (FIXTURES / "audit" / "job.log").resolve()
    phi = load_job(FIXTURES / "phi-text.yaml")
    assert phi.classification.sensitive and phi.key_broker is not None
    assert phi.key_broker.ca == (FIXTURES / "broker-ca.pem").resolve()


def test_missing_key_names_file_line_and_key_path(tmp_path: Path) -> None:
    spec = _dev_spec()
    del spec["inputs"][0]["object_id"]
    message = _error(tmp_path, _dump(spec))
    assert "Field required" in message
    assert f"{tmp_path / 'job.yaml'}:" in message and "inputs[0].object_id" in message


def test_line_number_points_at_the_offending_key(tmp_path: Path) -> None:
    text = (FIXTURES / "dev-image.yaml").read_text().replace("batch_size: 16", "batch_size: 0")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.startswith("batch_size"))
    message = _error(tmp_path, text)
    assert f"job.yaml:{line} batch_size" in message


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (lambda s: s.update(surprise=1), "surprise", "unknown key"),
        (lambda s: s["model"].update(sha256="abc"), "model.sha256", "64 hex digits"),
        (lambda s: s.update(classification="secret"), "classification", "phi"),
        (lambda s: s.update(workload="resnet-from-hub"), "workload", "unknown workload"),
        (lambda s: s.update(device="tpu"), "device", "auto"),
        (lambda s: s.update(classification="phi"), "development", "refused for phi data"),
        (lambda s: s.update(classification="genetic"), "development", "refused for genetic data"),
        (lambda s: s.pop("kek_uri"), "kek_uri", "needs a file: key-encryption key"),
        (lambda s: s.update(kek_uri="pkcs11:token=x"), "kek_uri", "only a file: URI"),
        (lambda s: s.update(development=False), "key_broker", "required unless development"),
        (lambda s: s.update(outputs=[]), "outputs", "at least 1"),
        (lambda s: s["outputs"].append(dict(s["outputs"][0])), "outputs", "one output per input"),
        (lambda s: s["inputs"][0].update(object_id="../../etc"), "inputs[0].object_id", "letters, digits"),
    ],
)
def test_invalid_specs_name_the_key(tmp_path: Path, change, key: str, words: str) -> None:
    spec = _dev_spec()
    change(spec)
    message = _error(tmp_path, _dump(spec))
    assert f" {key})" in message, message
    assert words in message


def test_broker_must_use_https(tmp_path: Path) -> None:
    spec = yaml.safe_load((FIXTURES / "phi-text.yaml").read_text())
    spec["key_broker"]["url"] = "http://kbs.example"
    message = _error(tmp_path, _dump(spec))
    assert "key_broker.url" in message and "https://" in message


def test_dev_fields_are_refused_outside_development(tmp_path: Path) -> None:
    spec = yaml.safe_load((FIXTURES / "phi-text.yaml").read_text())
    spec["kek_uri"] = "file:dev.kek"
    message = _error(tmp_path, _dump(spec))
    assert " kek_uri)" in message and "only allowed with development: true" in message


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    message = _error(tmp_path, "name: x\nworkload: [image-cnn\n")
    assert "YAML error" in message and "job.yaml:3" in message


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    assert "expected a mapping" in _error(tmp_path, "- just\n- a list\n")


def test_missing_file() -> None:
    with pytest.raises(InputError, match="job file not found"):
        load_job("/nonexistent/job.yaml")


def test_parse_job_accepts_sha256_prefix_and_upper_case(tmp_path: Path) -> None:
    spec = _dev_spec()
    spec["model"]["sha256"] = "sha256:" + spec["model"]["sha256"].upper()
    job = parse_job(_dump(spec), tmp_path / "job.yaml")
    assert job.model.sha256 == _dev_spec()["model"]["sha256"]


def test_cli_reports_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = _dev_spec()
    spec["batch_size"] = "many"
    code = main(["run", str(_job(tmp_path, _dump(spec)))])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("phistack-runtime: error: invalid job spec:")
    assert "batch_size" in err


def test_cli_check_prints_the_resolved_spec(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--check", str(FIXTURES / "phi-text.yaml")]) == 0
    out = capsys.readouterr().out
    assert '"classification": "phi"' in out and str((FIXTURES / "text-bow.pt").resolve()) in out
