"""`homelab secrets backup` / `restore-bootstrap`: the bootstrap file (unseal keys, root token) under age.

Encryption happens in memory (pyrage): the plaintext is read from its 0600 home and only the
ciphertext is written, so the backup can live in Git or a password manager. Decryption also
happens in memory, and the plaintext is written only to the bootstrap file's 0600 home, never over
a different file there unless asked to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyrage

from homelabeazy.atomic_file import write_atomic
from homelabeazy.errors import UsageError
from homelabeazy.ops import vault_bootstrap
from homelabeazy.secret_files import ensure_outside_repo, read_input

MAX_BACKUP_BYTES = 1024 * 1024
"""An encrypted bootstrap file is well under a kilobyte; a larger `--from` is not one (and is not read)."""
MAX_IDENTITY_BYTES = 64 * 1024
"""An age identity file holds a few keys of ~75 characters each."""


def _recipients(values: list[str]) -> list[pyrage.x25519.Recipient]:
    if not values:
        raise UsageError(
            "homelab.yaml: services.vault.age_recipients is empty: add the age public key(s) (age1…) "
            "the bootstrap backup is encrypted to (`age-keygen -o key.txt` makes a pair)"
        )
    # The config validated them already; a failure here would be a bug, not bad input.
    return [pyrage.x25519.Recipient.from_str(value) for value in values]


def encrypt(bootstrap_path: Path, recipients: list[str]) -> bytes:
    """The age ciphertext of the bootstrap file (checked to be one, and 0600) for `recipients`."""
    vault_bootstrap.load(bootstrap_path)  # refuses a missing, foreign or world-readable file
    plaintext = bootstrap_path.read_bytes()
    return bytes(pyrage.encrypt(plaintext, _recipients(recipients)))


def write_ciphertext(path: Path, ciphertext: bytes) -> None:
    """Write the encrypted backup (replacing an older backup at `path`)."""
    if path.suffix != ".age":
        raise UsageError(f"{path}: name the encrypted backup FILE.age, so no one mistakes it for plaintext")
    write_atomic(path, ciphertext, "the backup", mode=0o666)  # ciphertext: the umask decides, as for any file


def _identities(keyfile: Path) -> list[pyrage.x25519.Identity]:
    try:
        lines = read_input(keyfile, "age identity file", MAX_IDENTITY_BYTES).decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise UsageError(f"{keyfile}: cannot read the age identity file (not UTF-8 text)") from None
    found = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            found.append(pyrage.x25519.Identity.from_str(text))
        except pyrage.IdentityError:
            raise UsageError(
                f"{keyfile}:{number}: not an age X25519 identity (AGE-SECRET-KEY-1…, as age-keygen writes)"
            ) from None
    if not found:
        raise UsageError(f"{keyfile}: holds no age identity (AGE-SECRET-KEY-1…)")
    return found


@dataclass(frozen=True)
class RestoredBootstrap:
    """What restore-bootstrap did: `written` False when an identical file was already there."""

    path: Path
    written: bool
    address: str


def decrypt(backup: Path, keyfile: Path) -> bytes:
    """The plaintext of `backup` (in memory), decrypted with the identities in `keyfile`."""
    ciphertext = read_input(backup, "encrypted bootstrap backup", MAX_BACKUP_BYTES)
    identities = _identities(keyfile)
    try:
        return bytes(pyrage.decrypt(ciphertext, identities))
    except pyrage.DecryptError as exc:
        if "no matching keys" in str(exc).lower():
            raise UsageError(
                f"{backup}: none of the identities in {keyfile} can decrypt it (it was encrypted to "
                "other age recipients); use the key file matching services.vault.age_recipients"
            ) from None
        raise UsageError(f"{backup}: not a readable age-encrypted file ({exc})") from None


def restore(backup: Path, keyfile: Path, home: Path, repo_dir: Path, *, force: bool) -> RestoredBootstrap:
    """Decrypt `backup` and write it to `home` (0600) unless a different bootstrap file is there.

    `home` follows the rule every secret-bearing file follows (outside the repository) and must be
    a file path: a directory or a device there is bad input, found before anything is decrypted."""
    ensure_outside_repo(home, repo_dir, vault_bootstrap.WHAT)
    if home.is_symlink() or (home.exists() and not home.is_file()):
        raise UsageError(
            f"{home}: not a regular file (a directory, link or device); name the bootstrap file itself "
            "with --bootstrap-file FILE"
        )
    plaintext = decrypt(backup, keyfile)
    try:
        text = plaintext.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{backup}: decrypts to something that is not a Vault bootstrap file") from None
    restored = vault_bootstrap.parse(text, f"{backup} (decrypted)")
    if home.exists():
        if read_input(home, "Vault bootstrap file", vault_bootstrap.MAX_BYTES) == plaintext:
            return RestoredBootstrap(home, False, restored.address)
        if not force:
            raise UsageError(
                f"{home} already exists and holds other keys (perhaps those of a freshly initialised "
                "Vault); move it away, or pass --force to replace it with the backup"
            )
    vault_bootstrap.replace(home, plaintext)
    return RestoredBootstrap(home, True, restored.address)
