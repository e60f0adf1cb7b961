"""What to do after a failed try (pure, no Django): retry when, or fail.

| error                                  | decision                                            |
|----------------------------------------|-----------------------------------------------------|
| AuthorizationRevoked, PermanentError   | fail now (retrying cannot help)                     |
| (MalformedResponse is a PermanentError)|                                                     |
| TokenExpired                           | retry at once: the next try's context gets a token  |
|                                        | refreshed by accounts' `valid_token`                |
| RateLimited(retry_after)               | retry after max(retry_after, backoff floor) + <=10% |
| anything else (TransientError, a bug,  | exponential backoff: retry_delay * 2**(try-1),      |
| a timeout, a dead worker)              | capped at MAX_DELAY, "equal jitter" (50-100%)       |

Every retry spends one try of `max_tries` (retries + 1), so no error loops forever.
Jitter spreads the retries of thousands of accounts that failed together (a platform
outage) instead of sending them back in one wave.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from connectors.errors import AuthorizationRevoked, PermanentError, RateLimited, TokenExpired

MAX_DELAY = 3600.0


@dataclass(frozen=True)
class RetryDecision:
    retry: bool
    delay: float = 0.0
    reason: str = ""


def retry_decision(
    error: BaseException, *, try_number: int, max_tries: int, retry_delay: float, rng: random.Random | None = None
) -> RetryDecision:
    uniform = (rng or random).uniform
    if isinstance(error, (AuthorizationRevoked, PermanentError)):
        return RetryDecision(False, reason=f"{type(error).__name__}: not retried")
    if try_number >= max_tries:
        return RetryDecision(False, reason=f"no tries left ({try_number} of {max_tries})")
    if isinstance(error, TokenExpired):
        return RetryDecision(True, 0.0, "token expired: retry at once with a refreshed token")
    backoff = min(MAX_DELAY, retry_delay * 2 ** max(0, try_number - 1))
    if isinstance(error, RateLimited) and error.retry_after is not None:
        # The platform said when; never sooner, a little later so a crowd does not return at once.
        base = max(float(error.retry_after), 0.0)
        return RetryDecision(True, base * uniform(1.0, 1.1), f"rate limited: retry after {base:g}s")
    return RetryDecision(True, backoff * uniform(0.5, 1.0), f"backoff {backoff:g}s (with jitter)")
