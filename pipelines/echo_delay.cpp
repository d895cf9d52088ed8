// SPDX-License-Identifier: MIT
// Echo delay from the speaker's and the microphone's level envelopes (see echo_delay.h).
#include "pipelines/echo_delay.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace duet::pipelines {
namespace {

// Levels in dB; silence is floored so that a quiet room does not dominate the shape.
constexpr double kFloorDb = -70.0;
// A speaker frame above this is sound (speech's pauses and a silent mixer are below).
constexpr double kSoundDb = -50.0;
// The speaker must have played something with a shape: a window whose level barely moves
// (silence, a steady tone) says nothing about delay.
constexpr double kMinSpreadDb = 6.0;
// A lag is believed when the envelopes match this well and clearly better than any lag
// away from it (echo plus a talker at the microphone still correlates well above this).
constexpr double kMinCorrelation = 0.4;
constexpr double kMinMargin = 0.05;
// The first estimate is taken from one window when it is this clear.
constexpr double kFirstCorrelation = 0.6;
// Or from a shorter window, the far end's first words, when this clear: the echo's
// envelope matches the speaker's at 0.9 and more (the bench's room), while unrelated
// envelopes reach 0.7 over so few syllables.
constexpr double kEarlyCorrelation = 0.85;
constexpr int kPeakWidthFrames = 3;
// Two estimates this close are the same (jitter of a frame or two is normal).
constexpr int kSameFrames = 2;

double to_db(double power) {
    return power > 0 ? std::max(kFloorDb, 10.0 * std::log10(power)) : kFloorDb;
}

} // namespace

void EchoDelayEstimator::speaker(std::int64_t frame, double power) {
    if (frame < 0)
        return;
    // Frames skipped since the newest count as silence.
    for (std::int64_t f = std::max(far_newest_ + 1, frame - kRing + 1); f < frame; ++f)
        far_[std::size_t(f % kRing)] = float(kFloorDb);
    far_[std::size_t(frame % kRing)] = float(to_db(power));
    if (far_first_ < 0 || frame < far_first_)
        far_first_ = frame;
    far_newest_ = std::max(far_newest_, frame);
}

void EchoDelayEstimator::microphone(std::int64_t frame, double power) {
    if (frame < 0)
        return;
    for (std::int64_t f = std::max(mic_newest_ + 1, frame - kRing + 1); f < frame; ++f)
        mic_[std::size_t(f % kRing)] = float(kFloorDb);
    mic_[std::size_t(frame % kRing)] = float(to_db(power));
    if (mic_first_ < 0 || frame < mic_first_)
        mic_first_ = frame;
    mic_newest_ = std::max(mic_newest_, frame);
}

double EchoDelayEstimator::level(const std::vector<float> &ring, std::int64_t frame,
                                 std::int64_t newest) const {
    if (frame < 0 || frame > newest || frame <= newest - kRing)
        return kFloorDb;
    return ring[std::size_t(frame % kRing)];
}

std::optional<int> EchoDelayEstimator::update() {
    if (far_first_ < 0 || mic_first_ < 0)
        return std::nullopt;
    if (last_update_ >= 0 &&
        mic_newest_ - last_update_ < (found_ ? kEveryFrames : kFirstEveryFrames))
        return std::nullopt;
    // The window covers the last 2 s, or less at the start: only frames both sides have
    // had (the speaker's over every lag), so that both starting at once is no "match".
    std::int64_t end = mic_newest_ + 1;
    std::int64_t start =
        std::max({end - kWindowFrames, mic_first_, far_first_ + std::int64_t(kMaxLagFrames)});
    if (end - start < kMinWindowFrames)
        return std::nullopt;
    last_update_ = mic_newest_;
    const int window = int(end - start);

    // The microphone window, mean removed.
    std::vector<double> m(window);
    double mean_m = 0;
    for (int k = 0; k < window; ++k)
        mean_m += (m[std::size_t(k)] = level(mic_, start + k, mic_newest_));
    mean_m /= window;
    double norm_m = 0;
    for (double &v : m) {
        v -= mean_m;
        norm_m += v * v;
    }

    // The speaker over the window and the lags before it.
    int span = window + kMaxLagFrames;
    std::vector<double> f(static_cast<std::size_t>(span));
    double lo = 1e9, hi = -1e9;
    for (int k = 0; k < span; ++k) {
        f[std::size_t(k)] = level(far_, start - kMaxLagFrames + k, far_newest_);
        lo = std::min(lo, f[std::size_t(k)]);
        hi = std::max(hi, f[std::size_t(k)]);
    }
    if (hi - lo < kMinSpreadDb || norm_m <= 0)
        return std::nullopt;
    // The speaker must have played 0.5 s of sound in the window: the onset of its first
    // words alone makes a broad match whose top can be off by 20 ms.
    int sounding = 0;
    for (int k = kMaxLagFrames; k < span; ++k)
        sounding += f[std::size_t(k)] > kSoundDb ? 1 : 0;
    if (sounding < kMinWindowFrames)
        return std::nullopt;
    const bool early = window < kWindowFrames;

    std::vector<double> corr(kMaxLagFrames + 1, -1.0);
    for (int lag = 0; lag <= kMaxLagFrames; ++lag) {
        // Speaker frame t - lag against microphone frame t.
        const double *fs = f.data() + (kMaxLagFrames - lag);
        double mean_f = 0;
        for (int k = 0; k < window; ++k)
            mean_f += fs[k];
        mean_f /= window;
        double dot = 0, norm_f = 0;
        for (int k = 0; k < window; ++k) {
            double a = fs[k] - mean_f;
            dot += a * m[std::size_t(k)];
            norm_f += a * a;
        }
        if (norm_f > 0)
            corr[std::size_t(lag)] = dot / std::sqrt(norm_f * norm_m);
    }
    int best = int(std::max_element(corr.begin(), corr.end()) - corr.begin());
    // The best rival. For the first estimate, another peak set apart from the best by a
    // dip: a lone broad peak (a talk spurt's onset makes one) is no ambiguity, and
    // comparing against every lag a few frames away held the first estimate back until ~2 s
    // of speech, as the broad peak's shoulders (ripples and all) match almost as well as
    // its top. A change keeps the stricter test, every lag off the peak: it need not be
    // quick, and a wrong move costs the canceller what it has learnt.
    double second = -1;
    for (int lag = 0; lag <= kMaxLagFrames; ++lag) {
        double c = corr[std::size_t(lag)];
        if (std::abs(lag - best) <= kPeakWidthFrames)
            continue;
        if (!found_) {
            if ((lag > 0 && corr[std::size_t(lag - 1)] > c) ||
                (lag < kMaxLagFrames && corr[std::size_t(lag + 1)] > c))
                continue;
            double dip = c;
            for (int k = std::min(lag, best); k <= std::max(lag, best); ++k)
                dip = std::min(dip, corr[std::size_t(k)]);
            if (c - dip < kMinMargin)
                continue;
        }
        second = std::max(second, c);
    }
    confidence_ = std::max(0.0, corr[std::size_t(best)]);
    if (corr[std::size_t(best)] < kMinCorrelation || corr[std::size_t(best)] - second < kMinMargin)
        return std::nullopt;
    if (found_ && std::abs(best - delay_frames_) <= kSameFrames && candidate_ < 0)
        return std::nullopt; // nothing new
    if (!found_ && corr[std::size_t(best)] >= (early ? kEarlyCorrelation : kFirstCorrelation)) {
        found_ = true;
        delay_frames_ = best;
        candidate_ = -1;
        return delay_ms();
    }
    // Otherwise only full windows count, and a change is believed when two of them that
    // share no more than 1.5 s (kEveryFrames apart) agree on it.
    if (early)
        return std::nullopt;
    if (candidate_ >= 0 && std::abs(best - candidate_) <= kSameFrames) {
        if (mic_newest_ - candidate_at_ < kEveryFrames)
            return std::nullopt;
        candidate_ = -1;
        if (found_ && std::abs(best - delay_frames_) <= kSameFrames)
            return std::nullopt;
        delay_frames_ = best;
        found_ = true;
        return delay_ms();
    }
    candidate_ = best;
    candidate_at_ = mic_newest_;
    return std::nullopt;
}

} // namespace duet::pipelines
