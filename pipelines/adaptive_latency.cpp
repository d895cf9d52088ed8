// SPDX-License-Identifier: MIT
#include "pipelines/adaptive_latency.h"

#include <algorithm>
#include <cmath>

namespace duet::pipelines {

AdaptiveLatency::AdaptiveLatency(AdaptiveLatencyConfig config)
    : config_(config),
      current_ms_(std::clamp(config.start_ms, config.min_ms, config.max_ms)) {}

int AdaptiveLatency::target_ms(double jitter_ms) const {
    if (!std::isfinite(jitter_ms) || jitter_ms < 0)
        jitter_ms = 0;
    double want = config_.jitter_multiple * jitter_ms + config_.margin_ms;
    int step = std::max(config_.step_ms, 1);
    // Up to the next step; the cap keeps the double->int conversion in range.
    double capped = std::min(want, double(config_.max_ms) + step);
    int rounded = int(std::ceil(capped / step)) * step;
    return std::clamp(rounded, config_.min_ms, config_.max_ms);
}

std::optional<int> AdaptiveLatency::update(double jitter_ms) {
    int target = target_ms(jitter_ms);
    if (target > current_ms_) {
        calm_samples_ = 0;
        current_ms_ = target;
        return current_ms_;
    }
    if (target > current_ms_ - config_.step_ms) {
        calm_samples_ = 0; // within a step of where we are: stay
        return std::nullopt;
    }
    calm_target_ms_ = calm_samples_ == 0 ? target : std::max(calm_target_ms_, target);
    if (++calm_samples_ < config_.hold_samples)
        return std::nullopt;
    calm_samples_ = 0;
    int lowered = std::max(calm_target_ms_, current_ms_ - config_.max_decrease_ms);
    current_ms_ = std::clamp(lowered, config_.min_ms, config_.max_ms);
    return current_ms_;
}

} // namespace duet::pipelines
