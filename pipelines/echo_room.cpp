// SPDX-License-Identifier: MIT
// The simulated room's acoustics, schedule and figures (see echo_room.h).
#include "pipelines/echo_room.h"

#include <glib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace duet::pipelines::room {
namespace {

// Reflections after the direct sound: (extra ms, relative gain). A few walls and a table,
// a room of a few metres; the sign flips are what a reflection off a soft surface does.
constexpr struct {
    int ms;
    float gain;
} kReflections[] = {{11, 0.45f}, {23, -0.3f}, {37, 0.2f}, {53, -0.12f}, {71, 0.07f}};
constexpr int kLongestReflectionMs = 71;
// A small speaker rolls off the top: a one-pole low-pass at about 3.5 kHz.
constexpr double kLowpassHz = 3500.0;
// 2^17 samples: 2.7 s of what the speaker played, far more than any echo reaches back.
constexpr std::size_t kRingSize = std::size_t(1) << 17;
constexpr int kMaxDelayMs = 1000;

Result<int> parse_int(const std::string &key, const std::string &v, int lo, int hi) {
    char *end = nullptr;
    errno = 0;
    long n = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end || errno || n < lo || n > hi)
        return fail(key + " must be a whole number from " + std::to_string(lo) + " to " +
                    std::to_string(hi) + ", not '" + v + "'");
    return int(n);
}

} // namespace

Result<RoomSpec> parse_room_spec(const std::string &text) {
    RoomSpec spec;
    bool have_talk = false;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t comma = text.find(',', start);
        if (comma == std::string::npos)
            comma = text.size();
        std::string item = text.substr(start, comma - start);
        start = comma + 1;
        if (item.empty())
            continue;
        std::size_t eq = item.find('=');
        if (eq == std::string::npos)
            return fail("'" + item + "' is not KEY=VALUE");
        std::string key = item.substr(0, eq), v = item.substr(eq + 1);
        if (key == "talk") {
            if (v.empty())
                return fail("talk needs a file");
            spec.talk_path = v;
            have_talk = true;
        } else if (key == "talk-after-ms") {
            auto n = parse_int(key, v, EchoMeter::kConvergeMs + 1000, 600000);
            if (!n)
                return n.error();
            spec.talk_after_ms = n.value();
        } else if (key == "delay-ms") {
            auto n = parse_int(key, v, 0, kMaxDelayMs);
            if (!n)
                return n.error();
            spec.delay_ms = n.value();
        } else if (key == "echo-gain") {
            char *end = nullptr;
            double g = g_ascii_strtod(v.c_str(), &end);
            if (v.empty() || *end || !(g >= 0 && g <= 4))
                return fail("echo-gain must be a number from 0 to 4, not '" + v + "'");
            spec.echo_gain = g;
        } else {
            return fail("unknown key '" + key + "' (talk, talk-after-ms, delay-ms, echo-gain)");
        }
    }
    if (!have_talk)
        return fail("talk=FILE is required");
    return spec;
}

// ---- EchoPath ----

EchoPath::EchoPath(int delay_ms, double gain)
    : ring_(kRingSize, 0.0f),
      alpha_(float(1.0 - std::exp(-2.0 * G_PI * kLowpassHz / kRate))) {
    if (gain <= 0)
        return; // no taps: a room without echo
    taps_.push_back({Index(delay_ms) * kSamplesPerMs, float(gain)});
    for (const auto &r : kReflections)
        taps_.push_back({Index(delay_ms + r.ms) * kSamplesPerMs, float(gain) * r.gain});
    static_assert((kMaxDelayMs + kLongestReflectionMs) * kSamplesPerMs < Index(kRingSize) / 2);
}

void EchoPath::played(Index first, const std::int16_t *samples, std::size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    // A jump forward (the mixer skipped ahead) leaves silence, not stale samples.
    for (Index i = std::max(written_end_, first - Index(kRingSize)); i < first; ++i)
        ring_[std::size_t(i) & (kRingSize - 1)] = 0;
    for (std::size_t k = 0; k < n; ++k)
        ring_[std::size_t(first + Index(k)) & (kRingSize - 1)] = samples[k] / 32768.0f;
    written_end_ = std::max(written_end_, first + Index(n));
}

float EchoPath::heard(Index i) const {
    if (i < 0 || i >= written_end_ || i < written_end_ - Index(kRingSize))
        return 0;
    return ring_[std::size_t(i) & (kRingSize - 1)];
}

void EchoPath::echo(Index first, float *out, std::size_t n) {
    if (taps_.empty())
        return;
    std::lock_guard<std::mutex> lock(mu_);
    for (std::size_t k = 0; k < n; ++k) {
        Index i = first + Index(k);
        float x = 0;
        for (const Tap &t : taps_)
            x += t.gain * heard(i - t.delay);
        lowpass_ += alpha_ * (x - lowpass_);
        out[k] += lowpass_;
    }
}

// ---- EchoMeter ----

EchoMeter::EchoMeter(int talk_after_ms, Index talk_len)
    : talk_after_ms_(talk_after_ms), talk_len_(std::max<Index>(talk_len, 1)) {}

void EchoMeter::far_sound(Index at) {
    Index none = -1;
    t0_.compare_exchange_strong(none, std::max<Index>(at, 0));
}

Index EchoMeter::at_ms(int ms) const {
    return t0_.load() + Index(ms) * kSamplesPerMs;
}

Phase EchoMeter::phase(Index i) const {
    if (talk_after_ms_ < 0 || t0_.load() < 0 || i < t0_.load())
        return Phase::Waiting;
    Index talk = at_ms(talk_after_ms_);
    Index gap = talk + talk_len_, alone = gap + Index(kGapMs) * kSamplesPerMs;
    if (i < at_ms(kConvergeMs))
        return Phase::Converging;
    if (i < talk)
        return Phase::EchoOnly;
    if (i < gap)
        return Phase::DoubleTalk;
    if (i < alone)
        return Phase::Gap;
    if (i < alone + talk_len_)
        return Phase::NearAlone;
    return Phase::Done;
}

Index EchoMeter::talk_sample(Index i, Index first_mic) const {
    if (talk_after_ms_ < 0)
        return (i - first_mic) % talk_len_;
    switch (phase(i)) {
    case Phase::DoubleTalk:
        return i - at_ms(talk_after_ms_);
    case Phase::NearAlone:
        return i - (at_ms(talk_after_ms_) + talk_len_ + Index(kGapMs) * kSamplesPerMs);
    default:
        return -1;
    }
}

bool EchoMeter::speaker_muted(Index i) const {
    Phase p = phase(i);
    return p == Phase::Gap || p == Phase::NearAlone;
}

// Only the middle of each window counts: its edges hold the opus and filter delays.
bool EchoMeter::in_window(Index i, Phase &p) const {
    p = phase(i);
    if (p != Phase::EchoOnly && p != Phase::DoubleTalk && p != Phase::NearAlone)
        return false;
    Index edge = Index(kEdgeMs) * kSamplesPerMs;
    return phase(i - edge) == p && phase(i + edge) == p;
}

template <typename Add> void EchoMeter::each_in_window(Index first, std::size_t n, Add add) {
    for (std::size_t k = 0; k < n; ++k) {
        Phase p;
        if (in_window(first + Index(k), p))
            add(p == Phase::EchoOnly ? echo_only_ : p == Phase::DoubleTalk ? double_talk_ : alone_, k);
    }
}

void EchoMeter::add_mic(Index first, const float *near, const float *echo, std::size_t n) {
    if (!started())
        return;
    std::lock_guard<std::mutex> lock(mu_);
    each_in_window(first, n, [&](Sums &s, std::size_t k) {
        s.near += double(near[k]) * near[k];
        s.echo += double(echo[k]) * echo[k];
        ++s.mic_n;
    });
}

void EchoMeter::add_sent(Index first, const float *sent, std::size_t n) {
    if (!started())
        return;
    std::lock_guard<std::mutex> lock(mu_);
    each_in_window(first, n, [&](Sums &s, std::size_t k) {
        s.sent += double(sent[k]) * sent[k];
        ++s.sent_n;
    });
    sent_end_ = std::max(sent_end_, first + Index(n));
}

std::optional<EchoFigures> EchoMeter::take_figures() {
    if (!started() || talk_after_ms_ < 0)
        return std::nullopt;
    std::lock_guard<std::mutex> lock(mu_);
    if (reported_ || phase(sent_end_) != Phase::Done)
        return std::nullopt;
    reported_ = true;
    auto mean = [](double sum, Index n) { return n > 0 ? sum / double(n) : 0.0; };
    // Means, not sums: a window's microphone and sent sides may have lost different buffers.
    const Sums &e = echo_only_, &d = double_talk_, &a = alone_;
    EchoFigures f;
    f.erle_db = ratio_db(mean(e.echo, e.mic_n), mean(e.sent, e.sent_n));
    f.echo_dbfs = power_dbfs(e.echo, e.mic_n);
    f.residual_dbfs = power_dbfs(e.sent, e.sent_n);
    f.double_talk_gain_db = ratio_db(mean(d.sent, d.sent_n), mean(d.near, d.mic_n));
    f.alone_gain_db = ratio_db(mean(a.sent, a.sent_n), mean(a.near, a.mic_n));
    f.near_kept_db = f.double_talk_gain_db - f.alone_gain_db;
    f.echo_only_s = double(e.sent_n) / kRate;
    f.double_talk_s = double(d.sent_n) / kRate;
    return f;
}

double ratio_db(double a, double b) {
    if (a <= 0 && b <= 0)
        return 0;
    if (b <= 0)
        return 99;
    if (a <= 0)
        return -99;
    return std::clamp(10.0 * std::log10(a / b), -99.0, 99.0);
}

double power_dbfs(double sum_squares, Index n) {
    if (n <= 0 || sum_squares <= 0)
        return -99;
    return std::max(-99.0, 10.0 * std::log10(sum_squares / double(n)));
}

} // namespace duet::pipelines::room
