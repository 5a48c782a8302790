# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A circuit breaker for gateway requests: after repeated failures stop asking for a while,
then let one probe through (half-open) to see whether the gateway is back."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


class CircuitOpen(Exception):
    """Raised instead of calling while the breaker is open."""


class CircuitBreaker:
    def __init__(self, failure_threshold=3, reset_timeout=2.0, clock=time.monotonic):
        if failure_threshold < 1 or reset_timeout <= 0:
            raise ValueError("failure_threshold must be >= 1 and reset_timeout > 0")
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.clock = clock
        self.state = CLOSED
        self.failures = 0
        self.opened_at = None
        self.times_opened = 0

    def allow(self):
        if self.state == OPEN and self.clock() - self.opened_at >= self.reset_timeout:
            self.state = HALF_OPEN
        return self.state != OPEN

    def success(self):
        self.state = CLOSED
        self.failures = 0

    def failure(self):
        self.failures += 1
        if self.state == HALF_OPEN or self.failures >= self.failure_threshold:
            if self.state != OPEN:
                self.times_opened += 1
            self.state = OPEN
            self.opened_at = self.clock()
