"""Optional bearer-token auth: off when no token is configured, else every request but ``/health``
must send ``Authorization: Bearer <token>``."""

from __future__ import annotations

import hmac


def token_matches(header: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``token``; the comparison takes the same time
    wherever the first wrong character is, so timing does not leak the token.

    >>> token_matches("Bearer s3cret", "s3cret"), token_matches("Bearer s3cre", "s3cret"), token_matches(None, "s3cret")
    (True, False, False)
    """
    if not header:
        return False
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(credentials.strip().encode(), token.encode())
