// SPDX-License-Identifier: MIT
#include "attempts.h"

#include <algorithm>
#include <cmath>

namespace duet::signaling {

AttemptLimiter::AttemptLimiter(unsigned burst, std::chrono::milliseconds refill,
                               std::size_t max_sources)
    : burst_(std::max(1u, burst)), refill_(std::max(refill, std::chrono::milliseconds(1))),
      max_sources_(max_sources) {}

double AttemptLimiter::tokens_at(const Bucket &b, Clock::time_point now) const {
    double elapsed = std::chrono::duration<double, std::milli>(now - b.at).count();
    return std::min(burst_, b.tokens + std::max(0.0, elapsed) / double(refill_.count()));
}

std::chrono::milliseconds AttemptLimiter::wait(std::string_view source,
                                               Clock::time_point now) const {
    auto it = sources_.find(std::string(source));
    if (it == sources_.end())
        return std::chrono::milliseconds(0);
    double tokens = tokens_at(it->second, now);
    if (tokens >= 1)
        return std::chrono::milliseconds(0);
    return std::chrono::milliseconds(
        static_cast<long long>(std::ceil((1 - tokens) * double(refill_.count()))));
}

void AttemptLimiter::failed(std::string_view source, Clock::time_point now) {
    auto it = sources_.find(std::string(source));
    if (it == sources_.end()) {
        // Full: forget the sources that are quiet again, at most once a second, so a flood
        // from many addresses costs one scan a second, not one per attempt.
        if (sources_.size() >= max_sources_ && now - last_prune_ >= std::chrono::seconds(1)) {
            last_prune_ = now;
            prune(now);
        }
        if (sources_.size() >= max_sources_) {
            ++untracked_;
            return;
        }
        it = sources_.emplace(std::string(source), Bucket{burst_, now}).first;
    }
    Bucket &b = it->second;
    b.tokens = std::max(0.0, tokens_at(b, now) - 1);
    b.at = now;
}

void AttemptLimiter::prune(Clock::time_point now) {
    for (auto it = sources_.begin(); it != sources_.end();) {
        if (tokens_at(it->second, now) >= burst_)
            it = sources_.erase(it);
        else
            ++it;
    }
}

} // namespace duet::signaling
