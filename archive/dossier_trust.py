"""A dossier's signature: who vouches for it, and what an import may take from it.

`data.json` carries the agency's latest checkpoint and an Ed25519 signature over everything else
in it (canonical JSON). On import, a dossier signed by this agency's key, or by a key the agency
trusts (its hex public key in a file `SWFLOW_HOME/keys/trusted/*.pub`), is a record as any other;
an unsigned, altered or foreign-signed one imports only as a read-only record: no act is taken on
the project, and the people it brings get no role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from swflow.archive.checkpoints import key_id, latest_checkpoint, public_key_hex, sign_bytes, verify_signature
from swflow.config.settings import get_settings
from swflow.db.chain import canonical_json

__all__ = ["Trust", "dossier_trust", "sign_dossier"]


@dataclass(frozen=True)
class Trust:
    trusted: bool
    key_id: str | None
    reason: str  # in Chinese, for the import's answer and its event


def sign_dossier(data: dict[str, Any]) -> None:
    """Add the latest checkpoint and the signature (in place; the signature covers all the rest)."""
    data["checkpoint"] = latest_checkpoint()
    data.pop("signature", None)
    data["signature"] = sign_bytes(canonical_json(data).encode())


def _trusted_keys() -> set[str]:
    keys = {public_key_hex()}
    folder = get_settings().home / "keys" / "trusted"
    for path in sorted(folder.glob("*.pub")) if folder.is_dir() else []:
        keys.add(path.read_text(encoding="utf-8").strip().lower())
    return keys


def dossier_trust(data: dict[str, Any]) -> Trust:
    signature = data.get("signature")
    if not isinstance(signature, dict) or not all(isinstance(signature.get(k), str) for k in ("key", "signature")):
        return Trust(False, None, "档案没有签名")
    rest = {k: v for k, v in data.items() if k != "signature"}
    try:
        identity = key_id(signature["key"])
    except ValueError:
        return Trust(False, None, "签名的密钥格式不对")
    if not verify_signature(canonical_json(rest).encode(), signature["key"], signature["signature"]):
        return Trust(False, identity, "签名与档案内容不符（档案在导出后被改动）")
    if signature["key"].lower() not in _trusted_keys():
        return Trust(False, identity, f"签名密钥 {identity} 不是本机构或本机构信任的密钥")
    return Trust(True, identity, f"签名有效（密钥 {identity}）")
