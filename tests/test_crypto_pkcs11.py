"""PKCS#11 KEKs on a real SoftHSM2 token, and RFC 7512 URI parsing."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from pkcs11 import Attribute
from pkcs11 import exceptions as p11err

from runtime.crypto import (
    KekError,
    UnsafeFileKek,
    UnsafeKekWarning,
    WrongKekError,
    decrypt_bytes,
    decrypt_file,
    encrypt_bytes,
    encrypt_file,
    open_kek,
    rewrap_file,
)
from runtime.crypto.kek_pkcs11 import Pkcs11Kek
from runtime.crypto.pkcs11_uri import MODULE_ENV, PIN_ENV, parse_pkcs11_uri
from tests.support.softhsm import IMPORTED_KEK, NO_WRAP_KEY, TOKEN_LABEL, USER_PIN, SoftHsm, shared_softhsm

OBJ = "ct-chest-77"
TENANT = "st-mary"


@pytest.fixture(scope="session")
def hsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHsm:
    return shared_softhsm(tmp_path_factory)


# --- RFC 7512 URIs -----------------------------------------------------------------------------------


def test_uri_attributes_are_percent_decoded(tmp_path: Path) -> None:
    uri = parse_pkcs11_uri(
        "pkcs11:token=My%20HSM;object=kek%3B2026;id=%01%02;type=secret-key;x-vendor=1"
        "?pin-value=12%2634&module-path=/opt/hsm%20lib.so",
        environ={},
    )
    assert (uri.token, uri.object_label, uri.object_id) == ("My HSM", "kek;2026", b"\x01\x02")
    assert (uri.pin, uri.module_path) == ("12&34", "/opt/hsm lib.so")
    assert uri.canonical() == "pkcs11:token=My%20HSM;object=kek%3B2026;id=%01%02"
    assert "12&34" not in repr(uri)


def test_uri_pin_source_and_environment(tmp_path: Path) -> None:
    (tmp_path / "pin").write_text("s3cret\nignored\n")
    uri = parse_pkcs11_uri(f"pkcs11:object=k?pin-source=file:{tmp_path}/pin", environ={MODULE_ENV: "/m.so"})
    assert (uri.pin, uri.module_path) == ("s3cret", "/m.so")
    uri = parse_pkcs11_uri("pkcs11:id=%07", environ={MODULE_ENV: "/m.so", PIN_ENV: "envpin"})
    assert (uri.pin, uri.object_id, uri.object_label) == ("envpin", b"\x07", None)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("pkcs11:token=t;object=k", r"no module-path and \$PHISTACK_PKCS11_MODULE is not set"),
        ("pkcs11:token=t?module-path=/m.so", r"must name the key with object= or id="),
        ("pkcs11:object=k;type=private-key?module-path=/m.so", r"must be a secret key"),
        ("pkcs11:object=k;colour=red?module-path=/m.so", r"unknown path attribute 'colour'"),
        ("pkcs11:object=k;object=j?module-path=/m.so", r"attribute 'object' given twice"),
        ("pkcs11:object=k?module-path=/m.so&pin-value=1&pin-source=/p", r"both pin-value and pin-source"),
        ("pkcs11:object=k;slot-id=x?module-path=/m.so", r"slot-id must be a decimal number"),
        ("pkcs11:object=k?pin-source=/nonexistent/pin&module-path=/m.so", r"cannot read pkcs11 pin-source"),
    ],
)
def test_malformed_uris_are_refused(uri: str, message: str) -> None:
    with pytest.raises(KekError, match=message):
        parse_pkcs11_uri(uri, environ={})


# --- SoftHSM2 ----------------------------------------------------------------------------------------


def test_encrypt_and_decrypt_with_an_hsm_kek(hsm: SoftHsm, tmp_path: Path) -> None:
    data = os.urandom(3 * 4096 + 5)
    (tmp_path / "in").write_bytes(data)
    with open_kek(hsm.uri("kek-a")) as kek:
        assert kek.kek_id == f"pkcs11:token={TOKEN_LABEL};object=kek-a"
        result = encrypt_file(
            tmp_path / "in", tmp_path / "enc", object_id=OBJ, tenant=TENANT, kek=kek, segment_size=4096
        )
        assert result.kek_id == kek.kek_id and result.segments == 4
    with open_kek(hsm.uri("kek-a")) as kek:
        decrypt_file(tmp_path / "enc", tmp_path / "out", object_id=OBJ, tenant=TENANT, kek=kek)
    assert (tmp_path / "out").read_bytes() == data


def test_the_kek_never_leaves_the_hsm(hsm: SoftHsm) -> None:
    with open_kek(hsm.uri("kek-a")) as kek:
        assert isinstance(kek, Pkcs11Kek)
        key = kek._key  # the HSM object handle, not key material
        assert key[Attribute.SENSITIVE] and not key[Attribute.EXTRACTABLE]
        with pytest.raises(p11err.AttributeSensitive):
            key[Attribute.VALUE]


def test_id_and_label_name_the_same_kek(hsm: SoftHsm) -> None:
    by_label = hsm.uri(IMPORTED_KEK)
    by_id = f"pkcs11:token={TOKEN_LABEL};id=%10?pin-value={USER_PIN}&module-path={hsm.module}"
    with open_kek(by_label) as one, open_kek(by_id) as two:
        assert one.kek_id == two.kek_id
        blob = encrypt_bytes(b"phi", object_id=OBJ, kek=one)
        assert decrypt_bytes(blob, object_id=OBJ, kek=two) == b"phi"


def test_module_and_pin_from_the_environment(hsm: SoftHsm, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODULE_ENV, hsm.module)
    monkeypatch.setenv(PIN_ENV, USER_PIN)
    with open_kek(hsm.uri("kek-b", pin=False, module=False)) as kek:
        assert decrypt_bytes(encrypt_bytes(b"x", object_id=OBJ, kek=kek), object_id=OBJ, kek=kek) == b"x"


def test_pin_source_file(hsm: SoftHsm) -> None:
    uri = f"pkcs11:token={TOKEN_LABEL};object=kek-b?pin-source=file:{hsm.pin_file}&module-path={hsm.module}"
    with open_kek(uri) as kek:
        assert kek.kek_id.endswith("object=kek-b")


def test_wrong_hsm_kek(hsm: SoftHsm) -> None:
    with open_kek(hsm.uri("kek-a")) as kek_a, open_kek(hsm.uri("kek-b")) as kek_b:
        blob = encrypt_bytes(b"phi", object_id=OBJ, kek=kek_a)
        with pytest.raises(
            WrongKekError, match=r"wrapped by KEK pkcs11:.*object=kek-a, not by pkcs11:.*object=kek-b"
        ):
            decrypt_bytes(blob, object_id=OBJ, kek=kek_b)


def test_hsm_and_file_keks_speak_rfc_3394(hsm: SoftHsm) -> None:
    """The HSM's CKM_AES_KEY_WRAP and cryptography's aes_key_wrap agree byte for byte."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsafeKekWarning)
        file_kek = UnsafeFileKek(hsm.imported_key)
    with open_kek(hsm.uri(IMPORTED_KEK)) as hsm_kek:
        dek = os.urandom(32)
        assert hsm_kek.wrap(dek) == file_kek.wrap(dek)
        assert hsm_kek.unwrap(file_kek.wrap(dek)) == dek


def test_rotation_between_hsm_keys_and_from_a_file_kek(hsm: SoftHsm, tmp_path: Path) -> None:
    data = os.urandom(10_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsafeKekWarning)
        dev = UnsafeFileKek(os.urandom(32))
    (tmp_path / "in").write_bytes(data)
    encrypt_file(tmp_path / "in", tmp_path / "enc", object_id=OBJ, tenant=TENANT, kek=dev, segment_size=4096)
    body = (tmp_path / "enc").read_bytes()[-9000:]
    with open_kek(hsm.uri("kek-a")) as kek_a, open_kek(hsm.uri("kek-b")) as kek_b:
        rewrap_file(tmp_path / "enc", object_id=OBJ, tenant=TENANT, kek=dev, new_kek=kek_a)
        rewrap_file(
            tmp_path / "enc", tmp_path / "enc-b", object_id=OBJ, tenant=TENANT, kek=kek_a, new_kek=kek_b
        )
        with pytest.raises(WrongKekError):
            decrypt_file(tmp_path / "enc-b", tmp_path / "out", object_id=OBJ, tenant=TENANT, kek=kek_a)
        assert not (tmp_path / "out").exists()
        decrypt_file(tmp_path / "enc-b", tmp_path / "out", object_id=OBJ, tenant=TENANT, kek=kek_b)
    assert (tmp_path / "out").read_bytes() == data
    assert (tmp_path / "enc-b").read_bytes()[-9000:] == body


@pytest.mark.parametrize(
    ("label", "pin", "message"),
    [
        ("kek-a", "0000", r"PKCS#11 login refused: incorrect PIN"),
        ("no-such-key", USER_PIN, r"no AES key matches pkcs11:token=phistack-test;object=no-such-key"),
        (NO_WRAP_KEY, USER_PIN, r"cannot wrap and unwrap \(needs CKA_WRAP and CKA_UNWRAP\)"),
    ],
)
def test_unusable_hsm_keys(hsm: SoftHsm, label: str, pin: str, message: str) -> None:
    uri = f"pkcs11:token={TOKEN_LABEL};object={label}?pin-value={pin}&module-path={hsm.module}"
    with pytest.raises(KekError, match=message):
        open_kek(uri)


def test_unknown_token_and_module(hsm: SoftHsm, tmp_path: Path) -> None:
    with pytest.raises(KekError, match=r"no PKCS#11 token matches pkcs11:token=absent"):
        open_kek(f"pkcs11:token=absent;object=k?module-path={hsm.module}")
    with pytest.raises(KekError, match=r"cannot load PKCS#11 module"):
        open_kek(f"pkcs11:object=k?module-path={tmp_path}/missing.so")


def test_keks_on_one_token_share_a_session(hsm: SoftHsm) -> None:
    from runtime.crypto import kek_pkcs11

    with open_kek(hsm.uri("kek-a")) as kek_a:
        with open_kek(hsm.uri("kek-b")) as kek_b:
            assert kek_b.unwrap(kek_b.wrap(b"\x05" * 32)) == b"\x05" * 32
            wrong_pin = f"pkcs11:token={TOKEN_LABEL};object=kek-b?pin-value=9999&module-path={hsm.module}"
            with pytest.raises(KekError, match=r"already open in this process with another PIN"):
                open_kek(wrong_pin)
        # Closing kek_b must not log kek_a out.
        assert kek_a.unwrap(kek_a.wrap(b"\x06" * 32)) == b"\x06" * 32
    assert kek_pkcs11._SESSIONS == {}
