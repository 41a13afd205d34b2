"""Password hashing (Argon2id through argon2-cffi) and the password policy (ASVS V2.1)."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 128
#: OWASP's Argon2id floor (19 MiB, 2 iterations, 1 lane): cheap enough for a shared review server
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)
_DUMMY: list[str] = []  # verified against when the account does not exist: both answers take the same time

#: the most common passwords of at least MIN_LENGTH characters in public breach corpora
COMMON = {
    "123456789012",
    "1234567890123",
    "12345678910",
    "password1234",
    "password12345",
    "passwordpassword",
    "qwertyuiopasdfgh",
    "qwerty123456",
    "1q2w3e4r5t6y",
    "iloveyou1234",
    "abcdefghijkl",
    "abc123456789",
    "000000000000",
    "111111111111",
    "aaaaaaaaaaaa",
    "welcome12345",
    "letmein12345",
    "administrator",
    "adminadmin123",
    "changeme1234",
    "p@ssw0rd1234",
    "monkeymonkey",
    "football1234",
    "baseball1234",
    "sunshine1234",
    "princess1234",
    "trustno1trustno1",
    "correcthorsebatterystaple",
}


class PasswordPolicyError(ValueError):
    pass


def check_policy(password: str, login: str = "") -> None:
    """ASVS 2.1.1-2.1.9: at least 12 characters (spaces count, nothing truncated), at most 128, no
    composition rules, not a common password, not the account name."""
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(f"the password must have at most {MAX_LENGTH} characters")
    folded = password.lower()
    if folded in COMMON or len(set(folded)) < 4:
        raise PasswordPolicyError("that password is too common or too simple; choose another")
    if login and login.lower().split("@")[0] in folded:
        raise PasswordPolicyError("the password must not contain the account name")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Constant work whether or not the account has a hash (no timing oracle for user enumeration)."""
    if not _DUMMY:
        _DUMMY.append(HASHER.hash(secrets.token_urlsafe(24)))
    try:
        return HASHER.verify(stored or _DUMMY[0], password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return HASHER.check_needs_rehash(stored)


def generate_password() -> str:
    return secrets.token_urlsafe(15)  # 20 characters, 120 bits
