"""Short, stable identifiers for HL7 v2 fields that cannot hold a UUID (pure)."""

import base64
import hashlib
import uuid

# HL7 v2.5 limits MSH-10 (message control ID) to 20 characters and ORC-2/3 (EI) to 22.
SHORT_ID_LENGTH = 20


def short_id(value: uuid.UUID) -> str:
    """20 base32 characters (A-Z, 2-7) from a hash of the UUID: 100 bits.

    Stable (the same record always gives the same id, so a receiver can drop a re-sent message)
    and free of HL7 delimiters. Hashing, rather than cutting the UUID short, keeps ids distinct
    for UUIDs that differ only in their last bits and spends no bits on the UUID's fixed version
    and variant bits. A collision among a billion records is about 4e-13 likely, and the outbox's
    unique constraint would refuse one rather than confuse two records.
    """
    digest = hashlib.blake2b(value.bytes, digest_size=13).digest()
    return base64.b32encode(digest).decode("ascii")[:SHORT_ID_LENGTH]
