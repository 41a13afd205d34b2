"""Sign-in throttling for the review app, after OWASP's Authentication Cheat Sheet ("Protect Against
Automated Attacks": account lockout by throttling, keyed so that one attacker cannot lock everyone
out). Pure and clock-injectable.

Failed sign-ins are counted under three keys, each with its own allowance and exponential backoff:

- **account + IP** (the reviewer name as typed, case- and space-folded, and the client address):
  after ``pair_free`` failures the next attempt waits ``base_delay``, and every further failure
  doubles the wait (up to ``max_delay``). Only this pair waits: the correct token from the same
  address under another name, or from another address, still signs in;
- **IP** (any names): a much larger allowance (``ip_free``) against guessing under rotating names.
  A whole office behind one proxy only waits after that many failures;
- **account** (any address): ``account_free`` against guessing one name from many addresses.

While a key is delayed every attempt under it gets 429 with ``Retry-After``, the correct token
included (otherwise guessing would simply continue). A success clears its pair and account counts.
Counts are forgotten ``forget_after`` seconds after the last failure; at most ``max_tracked`` keys
are kept (the oldest are dropped), so memory is bounded whatever the traffic.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ThrottlePolicy:
    pair_free: int = 10
    ip_free: int = 100
    account_free: int = 30
    base_delay: float = 30.0
    max_delay: float = 15 * 60.0
    forget_after: float = 24 * 3600.0
    max_tracked: int = 20_000


@dataclass
class _Count:
    failures: int = 0
    last: float = 0.0


def _account(name: str) -> str:
    return " ".join(name.split()).casefold()[:80]


@dataclass
class LoginThrottle:
    policy: ThrottlePolicy = field(default_factory=ThrottlePolicy)
    clock: Callable[[], float] = time.monotonic
    _counts: OrderedDict[tuple[str, ...], _Count] = field(default_factory=OrderedDict)

    def _keys(self, account: str, ip: str) -> list[tuple[tuple[str, ...], int]]:
        name = _account(account)
        keys = [(("ip", ip), self.policy.ip_free)]
        if name:
            keys += [
                (("pair", name, ip), self.policy.pair_free),
                (("account", name), self.policy.account_free),
            ]
        return keys

    def _delay(self, count: _Count, free: int) -> float:
        over = count.failures - free  # the allowance used up: wait base_delay, then twice as long, ...
        if over < 0:
            return 0.0
        return min(self.policy.base_delay * 2 ** min(over, 40), self.policy.max_delay)

    def _get(self, key: tuple[str, ...], now: float) -> _Count | None:
        count = self._counts.get(key)
        if count is not None and now - count.last > self.policy.forget_after:
            del self._counts[key]
            return None
        return count

    def retry_after(self, account: str, ip: str) -> float:
        """Seconds this attempt must wait (0: it may proceed)."""
        now = self.clock()
        wait = 0.0
        for key, free in self._keys(account, ip):
            count = self._get(key, now)
            if count is not None:
                wait = max(wait, count.last + self._delay(count, free) - now)
        return max(wait, 0.0)

    def ip_retry_after(self, ip: str) -> float:
        """The address's own wait, known before the request body is read."""
        now = self.clock()
        count = self._get(("ip", ip), now)
        return max(count.last + self._delay(count, self.policy.ip_free) - now, 0.0) if count else 0.0

    def failure(self, account: str, ip: str) -> None:
        now = self.clock()
        for key, _free in self._keys(account, ip):
            count = self._get(key, now) or _Count()
            count.failures += 1
            count.last = now
            self._counts[key] = count
            self._counts.move_to_end(key)
        while len(self._counts) > self.policy.max_tracked:
            self._counts.popitem(last=False)

    def success(self, account: str, ip: str) -> None:
        name = _account(account)
        self._counts.pop(("pair", name, ip), None)
        self._counts.pop(("account", name), None)

    def __len__(self) -> int:
        return len(self._counts)
