// SPDX-License-Identifier: MIT
// Capped exponential backoff with jitter for reconnecting to the server.
#pragma once

#include <functional>

namespace duet::peer {

// The first retry comes quickly (a server restart takes about a second), later ones slow
// down to the cap so a long outage costs little; the cap keeps a kiosk back within 10 s of
// the server's return.
inline constexpr unsigned kBackoffInitialMs = 500;
inline constexpr unsigned kBackoffMaxMs = 10000;

// Delay for attempt n (1-based): d = min(max, initial * 2^(n-1)), then a random value in
// [d/2, d] ("equal jitter"), so peers dropped by one server restart do not all return in
// the same millisecond, yet none retries sooner than half the nominal delay.
class Backoff {
  public:
    explicit Backoff(unsigned initial_ms = kBackoffInitialMs, unsigned max_ms = kBackoffMaxMs,
                     std::function<double()> random01 = {})
        : initial_ms_(initial_ms), max_ms_(max_ms), random01_(std::move(random01)) {}

    // Counts an attempt and returns its delay in milliseconds.
    unsigned next();
    unsigned attempt() const { return attempt_; }
    void reset() { attempt_ = 0; }

  private:
    unsigned initial_ms_, max_ms_;
    std::function<double()> random01_;
    unsigned attempt_ = 0;
};

} // namespace duet::peer
