// SPDX-License-Identifier: MIT
// Counts failed attempts (wrong room keys) per source address and says when a source must
// wait: a token bucket per source, `burst` failures at once, then one per `refill`.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

namespace duet::signaling {

class AttemptLimiter {
  public:
    using Clock = std::chrono::steady_clock;

    AttemptLimiter(unsigned burst, std::chrono::milliseconds refill, std::size_t max_sources);

    // How long `source` must wait before its next attempt counts; zero if it may try now.
    std::chrono::milliseconds wait(std::string_view source, Clock::time_point now) const;
    // One more failure from `source`.
    void failed(std::string_view source, Clock::time_point now);
    // Forgets sources whose bucket is full again (nothing to remember about them).
    void prune(Clock::time_point now);

    std::size_t sources() const { return sources_.size(); }
    // Failures not recorded because `max_sources` were already tracked.
    std::size_t untracked() const { return untracked_; }

  private:
    struct Bucket {
        double tokens;
        Clock::time_point at;
    };
    double tokens_at(const Bucket &b, Clock::time_point now) const;

    double burst_;
    std::chrono::milliseconds refill_;
    std::size_t max_sources_;
    std::size_t untracked_ = 0;
    Clock::time_point last_prune_{};
    std::unordered_map<std::string, Bucket> sources_;
};

} // namespace duet::signaling
