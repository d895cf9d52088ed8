// SPDX-License-Identifier: MIT
// Lines the echo canceller's view of the speaker up with the echo the microphone hears:
// measures the delay that timestamps do not show (echo_delay.h) and hands webrtcechoprobe
// what the speaker played that long ago, so webrtcdsp finds each echo where its filter can
// cancel it. What the speaker plays is not touched.
//
// Measured (bench/media.sh --echo): with the delay right from the start the canceller
// removes 25-55 dB of echo at 30-150 ms. Moving the reference after webrtcdsp 1.22 has
// converged on the echo where it was is re-learnt only partly (3-16 dB when the delay was
// found ~2 s into the far end's speech), so the delay is found from the far end's first
// words (echo_delay.h), the reference moves again only for a real change (20 ms), and
// duet-peer keeps the delay for its next run (start_delay_ms).
#pragma once

#include "common/ref.h"
#include "common/result.h"
#include "pipelines/echo_delay.h"

#include <gst/gst.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace duet::pipelines {

// The last second of what the speaker played, by sample index; silence where nothing was.
class SampleRing {
  public:
    void played(std::int64_t first, const std::int16_t *s, std::size_t n);
    void read(std::int64_t first, std::int16_t *out, std::size_t n) const;

  private:
    static constexpr std::size_t kSize = std::size_t(1) << 16; // 1.4 s at 48 kHz
    std::vector<std::int16_t> ring_ = std::vector<std::int16_t>(kSize, 0);
    std::int64_t end_ = 0; // one past the newest sample
};

class EchoAligner {
  public:
    // (delay ms, whether the reference moved to it); called from a streaming thread.
    using FoundFn = std::function<void(int, bool)>;
    // Hooks onto the webrtcechoprobe named `probe` and the webrtcdsp named `dsp` in `bin`.
    // fixed_delay_ms >= 0: the reference is moved by that from the start and stays there
    // (the estimate is still reported); < 0: it follows the estimate, starting from
    // start_delay_ms when that is >= 0 (an earlier run's estimate).
    static Result<std::unique_ptr<EchoAligner>> attach(GstBin *bin, const std::string &probe,
                                                       const std::string &dsp, int fixed_delay_ms,
                                                       int start_delay_ms, FoundFn found);
    // Only once the pipeline has stopped (its probes run on streaming threads).
    ~EchoAligner();
    EchoAligner(const EchoAligner &) = delete;
    EchoAligner &operator=(const EchoAligner &) = delete;

    // The delay found beyond the timestamps, in ms (0 until found). Any thread.
    int delay_ms() const { return delay_ms_.load(); }

  private:
    EchoAligner() = default;
    // Sums samples into EchoDelayEstimator frames.
    struct Framer {
        std::int64_t frame = -1;
        double sum = 0;
        int n = 0;
        template <typename Emit> void add(std::int64_t first, const std::int16_t *s, std::size_t count, Emit emit);
    };
    static GstPadProbeReturn on_far_in(GstPad *, GstPadProbeInfo *, gpointer);
    static GstPadProbeReturn on_far_out(GstPad *, GstPadProbeInfo *, gpointer);
    static GstPadProbeReturn on_mic(GstPad *, GstPadProbeInfo *, gpointer);

    std::mutex mu_; // the estimator, fed from the speaker and the microphone threads
    EchoDelayEstimator estimator_;
    Framer far_, mic_;                   // each its own thread's
    std::atomic<GstClockTime> latency_{0}; // the pipeline's, from the LATENCY event
    std::atomic<GstClockTime> shift_{0};   // how far back the probe's copy reaches
    SampleRing ring_;                    // speaker thread: what was played, by when
    std::atomic<int> delay_ms_{0};
    int followed_ms_ = 0; // microphone thread: the estimate the reference follows (0: none)
    GstBuffer *stash_ = nullptr; // speaker thread: the played buffer while the probe has the copy
    bool fixed_ = false;
    FoundFn found_;
    struct Probe {
        Ref<GstPad> pad;
        gulong id;
    };
    std::vector<Probe> probes_;
};

} // namespace duet::pipelines
