// SPDX-License-Identifier: MIT
// Finds how long after the speaker plays something its echo reaches the microphone, beyond
// what GStreamer's timestamps already account for: an HDMI screen's or a Bluetooth
// speaker's own buffer, a USB speakerphone's DSP, the air. webrtcdsp's canceller (from
// webrtc-audio-processing 0.3) only covers a few tens of milliseconds of such delay; told
// the delay, it cancels echoes that arrive much later (measured in bench/media.sh --echo).
//
// Pure logic: the short-term level of the speaker and of the microphone, in 4 ms frames on
// one clock, are compared at every lag up to kMaxDelayMs; the lag where their envelopes
// match best is the delay, once it is clear and repeats. The first estimate comes sooner:
// from the far end's first words (0.5 s of sound), when they match very clearly.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace duet::pipelines {

class EchoDelayEstimator {
  public:
    static constexpr int kFrameSamples = 192;           // 4 ms at 48 kHz
    static constexpr int kFrameMs = 4;
    static constexpr int kWindowFrames = 500;           // compared over the last 2 s
    static constexpr int kMaxLagFrames = 125;           // up to 500 ms of delay
    static constexpr int kEveryFrames = 125;            // a new estimate every 0.5 s
    static constexpr int kFirstEveryFrames = 25;        // until the first, every 0.1 s
    static constexpr int kMinWindowFrames = 125;        // the first may come from 0.5 s

    // One frame of each side: its index (frame number on the shared clock) and mean power.
    // Frames may arrive late or out of step; missing ones count as silence.
    void speaker(std::int64_t frame, double power);
    void microphone(std::int64_t frame, double power);

    // A new delay in ms when the evidence changed it (after the microphone has moved on by
    // kEveryFrames, kFirstEveryFrames until the first), else nothing. The first estimate
    // needs one clear window (a shorter one clearer still); a change, two agreeing full
    // windows kEveryFrames apart.
    std::optional<int> update();
    // The current estimate in ms (0 until one is found).
    int delay_ms() const { return delay_frames_ * kFrameMs; }
    // Normalised correlation of the last window's best lag (0-1), for logs.
    double confidence() const { return confidence_; }

  private:
    static constexpr int kRing = 2048; // > kWindowFrames + kMaxLagFrames
    double level(const std::vector<float> &ring, std::int64_t frame, std::int64_t newest) const;
    std::vector<float> far_ = std::vector<float>(kRing, 0.0f);
    std::vector<float> mic_ = std::vector<float>(kRing, 0.0f);
    std::int64_t far_newest_ = -1, mic_newest_ = -1, last_update_ = -1;
    std::int64_t far_first_ = -1, mic_first_ = -1; // the first frame each side had
    int delay_frames_ = 0;
    int candidate_ = -1; // a lag seen once, waiting for a second window to agree
    std::int64_t candidate_at_ = -1; // the microphone frame it was seen at
    bool found_ = false;
    double confidence_ = 0;
};

} // namespace duet::pipelines
