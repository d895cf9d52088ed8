// SPDX-License-Identifier: MIT
// `--latency-ms auto` in a running call: reads the jitter of one webrtcbin's jitter buffers
// a few times a second and sets the latency AdaptiveLatency asks for.
#pragma once

#include "common/main_thread.h"
#include "common/ref.h"
#include "pipelines/adaptive_latency.h"

#include <gst/gst.h>

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace duet::pipelines {

class LatencyFollower {
  public:
    // A new latency (ms) and the jitter (ms) that asked for it.
    using OnChange = std::function<void(int latency_ms, double jitter_ms)>;

    // How often the jitter is read. Four times a second: a burst of jitter is answered
    // within a quarter second, and AdaptiveLatency's calm (10 samples) lasts 2.5 s.
    static constexpr guint kIntervalMs = 250;

    // Sets `webrtc`'s latency to the starting figure now. Create it on the main thread
    // (the timer runs on its context) and before webrtcbin makes its jitter buffers.
    LatencyFollower(GstElement *webrtc, AdaptiveLatencyConfig config, OnChange on_change);
    ~LatencyFollower();
    LatencyFollower(const LatencyFollower &) = delete;
    LatencyFollower &operator=(const LatencyFollower &) = delete;

    int current_ms() const { return logic_.current_ms(); }

  private:
    static void on_new_jitterbuffer(GstElement *rtpbin, GstElement *jb, guint, guint,
                                    gpointer self);
    static gboolean on_tick(gpointer self);
    // The highest jitter (ms) of the live jitter buffers, or a negative number if none.
    double read_jitter_ms();
    void apply(int latency_ms);

    GstElement *webrtc_; // borrowed: the session's, which outlives us
    Ref<GstElement> rtpbin_;
    gulong handler_ = 0;
    AdaptiveLatency logic_;
    OnChange on_change_;
    std::mutex lock_; // jitter buffers are announced from streaming threads
    std::vector<std::unique_ptr<GWeakRef, void (*)(GWeakRef *)>> jitterbuffers_;
    guint timer_ = 0;
    Lifeline lifeline_;
};

} // namespace duet::pipelines
