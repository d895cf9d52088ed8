// SPDX-License-Identifier: MIT
// The simulated room of --simulate-room, as pure logic: the acoustic path from the speaker
// back into the microphone, the near-end talker's schedule, and the echo figures taken from
// what is sent. No GStreamer here; pipelines/room_sim.cpp feeds it from pad probes.
#pragma once

#include "common/result.h"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace duet::pipelines::room {

// Everything in the room runs at one rate, mono, 16-bit: what webrtcdsp takes as is.
inline constexpr int kRate = 48000;
inline constexpr int kSamplesPerMs = kRate / 1000;

struct RoomSpec {
    std::string talk_path; // the near-end talker: any audio file GStreamer decodes
    // < 0: the talker loops from the start (a far end that just talks). >= 0: the talker
    // speaks once, this long after the first far-end sound, over the far end (double talk),
    // then once more with the speaker silent (the near end alone); then the figures.
    int talk_after_ms = -1;
    int delay_ms = 80;       // speaker to microphone, the direct sound
    double echo_gain = 0.5;  // of the direct sound (linear); 0: no echo at all
};

// "talk=FILE,talk-after-ms=N,delay-ms=N,echo-gain=X" in any order; talk is required.
Result<RoomSpec> parse_room_spec(const std::string &text);

// Sample indices count from running time 0 at kRate: a speaker sample's index is the time
// it is heard (its running time plus the sink's latency), a microphone sample's the time it
// is captured. Both sides of the room share this clock.
using Index = std::int64_t;

// The room's response: the direct sound after delay_ms, a few reflections after it (the
// walls), all through a gentle low-pass (a small speaker in a furnished room).
class EchoPath {
  public:
    EchoPath(int delay_ms, double gain);
    // The speaker plays [first, first + n). Thread-safe against echo().
    void played(Index first, const std::int16_t *samples, std::size_t n);
    // Adds the echo heard at the microphone over [first, first + n) to `out`. Called with
    // increasing, contiguous ranges (the filter keeps state between calls).
    void echo(Index first, float *out, std::size_t n);

  private:
    float heard(Index i) const; // under mu_; 0 where nothing was played
    struct Tap {
        Index delay;
        float gain;
    };
    std::vector<Tap> taps_;
    mutable std::mutex mu_;
    std::vector<float> ring_; // power-of-two size
    Index written_end_ = 0;   // one past the last index played
    float lowpass_ = 0;
    float alpha_;
};

// Where a sample index falls in the measurement, once the first far-end sound is known.
enum class Phase { Waiting, Converging, EchoOnly, DoubleTalk, Gap, NearAlone, Done };

struct EchoFigures {
    double erle_db = 0;        // echo in the microphone over echo left in what is sent
    double echo_dbfs = 0;      // the echo's level in the microphone (echo-only phase)
    double residual_dbfs = 0;  // what was sent in that phase
    // Near-end speech in what is sent during double talk, relative to the same speech sent
    // with the speaker silent: 0 dB means double talk took nothing away.
    double near_kept_db = 0;
    double double_talk_gain_db = 0; // sent over near-end input, during double talk
    double alone_gain_db = 0;       // the same with the speaker silent
    double echo_only_s = 0;         // how long each window was, in seconds
    double double_talk_s = 0;
    int delay_ms = 0;               // the room's (filled in by RoomSim)
};

// Schedule and bookkeeping of one measurement. The speaker side calls far_sound() and
// speaker_gate(), the microphone side talk_sample() and add_mic(), the sent side add_sent();
// they may be different threads.
class EchoMeter {
  public:
    static constexpr int kConvergeMs = 2000; // the canceller learns the room first
    static constexpr int kGapMs = 500;       // lets the last echo die before "alone"
    static constexpr int kEdgeMs = 100;      // each window's edges are left out

    // `talk_len`: samples in the talker's file. talk_after_ms < 0: no measurement (loop).
    EchoMeter(int talk_after_ms, Index talk_len);

    // The first sound from the far end is heard at `at`; later calls do nothing.
    void far_sound(Index at);
    bool started() const { return t0_.load() >= 0; }
    Phase phase(Index i) const;
    // Index into the talker's samples for microphone sample i, or -1 for silence.
    Index talk_sample(Index i, Index first_mic) const;
    // True: the speaker plays silence at i (the far end pauses for the near-alone window).
    bool speaker_muted(Index i) const;

    // Samples normalised to full scale: the talker and the echo that made up microphone
    // samples [first, first + n), and what was sent for [first, first + n).
    void add_mic(Index first, const float *near, const float *echo, std::size_t n);
    void add_sent(Index first, const float *sent, std::size_t n);
    // Once everything up to the end of the last window has been sent: the figures, once.
    std::optional<EchoFigures> take_figures();

  private:
    struct Sums {
        double near = 0, echo = 0, sent = 0;
        Index mic_n = 0, sent_n = 0;
    };
    bool in_window(Index i, Phase &p) const;
    // Calls add(sums of i's window, k) for each i = first + k inside a window (under mu_).
    template <typename Add> void each_in_window(Index first, std::size_t n, Add add);
    Index at_ms(int ms) const; // t0 + ms
    int talk_after_ms_;
    Index talk_len_;
    std::atomic<Index> t0_{-1};
    std::mutex mu_;
    Sums echo_only_, double_talk_, alone_;
    Index sent_end_ = 0;
    bool reported_ = false;
};

// 10*log10(a/b), finite: +-99 dB when one side is silent.
double ratio_db(double a, double b);
// Mean power of full-scale-normalised samples in dBFS; -99 for silence.
double power_dbfs(double sum_squares, Index n);

} // namespace duet::pipelines::room
