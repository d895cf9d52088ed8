// SPDX-License-Identifier: MIT
// `--latency-ms auto`: a receive latency that follows the measured network jitter, as
// browsers' jitter buffers do, instead of one fixed figure. Pure logic: the caller reads
// the jitter buffers' jitter and applies the latency this returns.
#pragma once

#include <optional>

namespace duet::pipelines {

struct AdaptiveLatencyConfig {
    int start_ms = 20; // before any jitter is known: small, as a LAN needs
    int min_ms = 10;
    int max_ms = 400;
    // target = multiple x jitter + margin. The jitter is RFC 3550's (a smoothed mean of
    // |transit difference|), about 1.1 standard deviations of the delay for a normal spread
    // and a third of the range for a uniform one, so 3x covers nearly every late packet.
    double jitter_multiple = 3.0;
    int margin_ms = 5;
    // Latencies are multiples of this, so the pipeline is not re-timed for noise.
    int step_ms = 5;
    // Lower only after this many samples in a row asked for at least one step less, and
    // then by at most max_decrease_ms: a brief calm does not undo what a burst of jitter
    // showed was needed. Raising happens at once.
    int hold_samples = 10;
    int max_decrease_ms = 10;
};

class AdaptiveLatency {
  public:
    explicit AdaptiveLatency(AdaptiveLatencyConfig config = {});

    int current_ms() const { return current_ms_; }
    // What the jitter alone asks for (before hysteresis), rounded up to a step.
    int target_ms(double jitter_ms) const;
    // One jitter sample (ms). Returns the new latency when it changes, else nothing.
    std::optional<int> update(double jitter_ms);

  private:
    AdaptiveLatencyConfig config_;
    int current_ms_;
    int calm_samples_ = 0; // consecutive samples whose target was below current_ms_
    int calm_target_ms_ = 0; // the highest target among them
};

} // namespace duet::pipelines
