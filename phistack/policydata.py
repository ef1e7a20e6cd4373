"""What the trust lists kept as policy data share (waiver approvers, de-identification signers): public keys
whose stated id must be their own, and validation errors that are policy errors naming the key path."""

from __future__ import annotations

from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ValidationError

from phistack.errors import PolicyError
from runtime.configfile import key_path
from runtime.ed25519 import key_id, public_key_from_text

Model = TypeVar("Model", bound=BaseModel)


def stated_key(text: str, stated_id: str) -> Ed25519PublicKey:
    """The public key written as ``text``, which must have the id ``stated_id``: the id is stated so that a
    waiver or manifest can name its key, and an id that is not the key's own would let it name one signer and
    be checked with another's key. Raises ValueError (inside a pydantic validator) with the reason."""
    try:
        key = public_key_from_text(text)
    except ValueError as err:
        raise ValueError(f"public_key: {err}") from None
    actual = key_id(key)
    if actual != stated_id:
        raise ValueError(f"key_id is not the id of public_key (that is {actual})")
    return key


def validate_policy_data(model: type[Model], document: Any, where: str) -> Model:
    """``document`` as ``model``; the first problem is a PolicyError (exit 3) naming ``where`` and its key path."""
    try:
        return model.model_validate(document)
    except ValidationError as err:
        problem = err.errors()[0]
        reason = str(problem["msg"]).removeprefix("Value error, ")
        raise PolicyError(f"{where}: {key_path(tuple(problem['loc']))}: {reason}") from None
