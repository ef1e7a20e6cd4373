"""KEKs held in an HSM, reached through PKCS#11 (``python-pkcs11``).

The KEK never leaves the HSM: wrapping and unwrapping run inside it with ``CKM_AES_KEY_WRAP``
(RFC 3394; SoftHSM2 2.6 supports it for ``C_WrapKey``/``C_UnwrapKey``). To wrap, the DEK is
imported as a temporary session object (never stored on the token) and wrapped by the KEK; to
unwrap, the HSM unwraps into a temporary extractable session object whose value is read and which
is then destroyed. The KEK itself needs ``CKA_WRAP`` and ``CKA_UNWRAP``.
"""

from __future__ import annotations

import dataclasses
import hmac
import threading
from typing import Any

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11 import exceptions as p11err

from runtime.crypto.errors import KekError, WrongKekError
from runtime.crypto.kek import Kek
from runtime.crypto.pkcs11_uri import Pkcs11Uri, parse_pkcs11_uri

_LIBS: dict[str, Any] = {}
_LIBS_LOCK = threading.Lock()


def load_module(path: str) -> Any:
    """Load (once per process) and initialise the PKCS#11 module at ``path``.

    ``C_Initialize`` may be called only once per process, so every user of a module shares one handle.
    """
    with _LIBS_LOCK:
        if path not in _LIBS:
            try:
                _LIBS[path] = pkcs11.lib(path)
            except p11err.PKCS11Error as err:
                raise KekError(f"cannot load PKCS#11 module: {err or type(err).__name__} ({path})") from err
        return _LIBS[path]


def _find_token(lib: Any, uri: Pkcs11Uri) -> Any:
    if uri.slot_id is not None:
        for slot in lib.get_slots(token_present=True):
            if slot.slot_id == uri.slot_id:
                token = slot.get_token()
                if uri.token is not None and token.label != uri.token:
                    break
                return token
        raise KekError(f"no PKCS#11 token matches {uri.canonical()} in slot {uri.slot_id}")
    try:
        return lib.get_token(token_label=uri.token, token_serial=uri.serial)
    except p11err.NoSuchToken as err:
        raise KekError(f"no PKCS#11 token matches {uri.canonical()}") from err
    except p11err.MultipleTokensReturned as err:
        raise KekError(f"several PKCS#11 tokens match {uri.canonical()}: add token= or serial=") from err


@dataclasses.dataclass(eq=False)
class _SharedSession:
    """One logged-in session per token and process.

    PKCS#11 login state belongs to the application, not the session: a second ``C_Login`` fails with
    CKR_USER_ALREADY_LOGGED_IN and closing a session logs every session out. So every KEK on one
    token shares one session, closed when its last user closes.
    """

    key: tuple[str, int]
    session: Any
    pin: str | None
    users: int = 0
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)


_SESSIONS: dict[tuple[str, int], _SharedSession] = {}


def _acquire_session(uri: Pkcs11Uri) -> tuple[Any, _SharedSession]:
    token = _find_token(load_module(uri.module_path), uri)
    key = (uri.module_path, int(token.slot.slot_id))
    with _LIBS_LOCK:
        shared = _SESSIONS.get(key)
        if shared is not None:
            same_pin = (shared.pin is None and uri.pin is None) or (
                shared.pin is not None and uri.pin is not None and hmac.compare_digest(shared.pin, uri.pin)
            )
            if not same_pin:
                raise KekError(
                    f"PKCS#11 token is already open in this process with another PIN ({uri.canonical()})"
                )
        else:
            try:
                session = token.open(user_pin=uri.pin) if uri.pin is not None else token.open()
            except (p11err.PinIncorrect, p11err.PinInvalid, p11err.PinLenRange) as err:
                raise KekError(f"PKCS#11 login refused: incorrect PIN ({uri.canonical()})") from err
            except p11err.PinLocked as err:
                raise KekError(f"PKCS#11 login refused: PIN locked ({uri.canonical()})") from err
            except p11err.PKCS11Error as err:
                raise KekError(
                    f"cannot open a PKCS#11 session: {type(err).__name__} ({uri.canonical()})"
                ) from err
            shared = _SESSIONS[key] = _SharedSession(key=key, session=session, pin=uri.pin)
        shared.users += 1
        return token, shared


def _release_session(shared: _SharedSession) -> None:
    with _LIBS_LOCK:
        shared.users -= 1
        if shared.users == 0:
            del _SESSIONS[shared.key]
            shared.session.close()


class Pkcs11Kek(Kek):
    """An AES KEK inside an HSM, used through the token's shared session until :meth:`close`."""

    def __init__(self, uri: Pkcs11Uri) -> None:
        token, self._shared = _acquire_session(uri)
        self._session = self._shared.session
        self._lock = self._shared.lock
        self._closed = False
        try:
            with self._lock:
                self._key = self._session.get_key(
                    object_class=ObjectClass.SECRET_KEY,
                    key_type=KeyType.AES,
                    label=uri.object_label,
                    id=uri.object_id,
                )
                usable = self._key[Attribute.WRAP] and self._key[Attribute.UNWRAP]
                label = self._key.label or None
                object_id = None if label else self._key.id
        except p11err.NoSuchKey as err:
            self.close()
            raise KekError(
                f"no AES key matches {uri.canonical()} (wrong object=/id=, or not logged in)"
            ) from err
        except p11err.MultipleObjectsReturned as err:
            self.close()
            raise KekError(f"several AES keys match {uri.canonical()}: add id=") from err
        except BaseException:
            self.close()
            raise
        if not usable:
            self.close()
            raise KekError(
                f"PKCS#11 key cannot wrap and unwrap (needs CKA_WRAP and CKA_UNWRAP) ({uri.canonical()})"
            )
        # Name the key by what the token says, so object= and id= URIs of one key give one KEK id.
        self._kek_id = dataclasses.replace(
            uri, token=token.label, serial=None, object_label=label, object_id=object_id
        ).canonical()

    @classmethod
    def from_uri(cls, uri: str) -> Pkcs11Kek:
        """Open the key named by a ``pkcs11:`` URI."""
        return cls(parse_pkcs11_uri(uri))

    @property
    def kek_id(self) -> str:
        return self._kek_id

    def wrap(self, dek: bytes) -> bytes:
        with self._lock:
            try:
                temp = self._session.create_object(
                    {
                        Attribute.CLASS: ObjectClass.SECRET_KEY,
                        Attribute.KEY_TYPE: KeyType.AES,
                        Attribute.VALUE: dek,
                        Attribute.TOKEN: False,
                        Attribute.SENSITIVE: False,
                        Attribute.EXTRACTABLE: True,
                    }
                )
                try:
                    return bytes(self._key.wrap_key(temp, mechanism=Mechanism.AES_KEY_WRAP))
                finally:
                    temp.destroy()
            except p11err.PKCS11Error as err:
                raise KekError(
                    f"HSM refused to wrap the data key: {type(err).__name__} ({self.kek_id})"
                ) from err

    def unwrap(self, wrapped: bytes) -> bytes:
        with self._lock:
            try:
                temp = self._key.unwrap_key(
                    ObjectClass.SECRET_KEY,
                    KeyType.AES,
                    wrapped,
                    mechanism=Mechanism.AES_KEY_WRAP,
                    store=False,
                    template={Attribute.SENSITIVE: False, Attribute.EXTRACTABLE: True},
                )
            except p11err.PKCS11Error as err:
                # SoftHSM2 reports a failed RFC 3394 integrity check as CKR_GENERAL_ERROR.
                raise WrongKekError(
                    f"cannot unwrap the data key with KEK {self.kek_id}: wrong KEK or modified header "
                    f"(HSM: {type(err).__name__})"
                ) from err
            try:
                return bytes(temp[Attribute.VALUE])
            finally:
                temp.destroy()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            _release_session(self._shared)
