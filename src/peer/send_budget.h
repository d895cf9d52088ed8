// SPDX-License-Identifier: MIT
// A token bucket for our own signaling, so that a peer never runs into the server's limit.
#pragma once

#include <glib.h>

#include <algorithm>
#include <cmath>

namespace duet::peer {

// `per_second` messages on average, up to `burst` at once. Times are monotonic
// microseconds (g_get_monotonic_time), passed in so that tests choose them.
class SendBudget {
  public:
    SendBudget(double per_second, double burst)
        : rate_(per_second), burst_(burst), tokens_(burst) {}

    // Counts a message sent (the budget may go below zero: nothing is ever held back).
    void spend(gint64 now_us) {
        refill(now_us);
        tokens_ -= 1;
    }
    // Milliseconds until `n` messages fit, 0 if they do now.
    unsigned ms_until(gint64 now_us, double n) {
        refill(now_us);
        if (tokens_ >= n)
            return 0;
        return unsigned(std::ceil((n - tokens_) / rate_ * 1000));
    }

  private:
    void refill(gint64 now_us) {
        if (last_us_ != 0 && now_us > last_us_)
            tokens_ = std::min(burst_, tokens_ + double(now_us - last_us_) * rate_ / 1e6);
        last_us_ = now_us;
    }

    double rate_, burst_, tokens_;
    gint64 last_us_ = 0;
};

} // namespace duet::peer
