// SPDX-License-Identifier: MIT
// The bandwidth controller and the picture ladder (see congestion.h). Pure arithmetic on
// the reports it is given; times come in as arguments.
#include "pipelines/congestion.h"

#include <algorithm>
#include <cmath>

namespace duet::pipelines {
namespace {

// Loss-based part (per report): above this share lost the path is overloaded and the rate
// drops in proportion to the loss; below the lower one the path has room; in between it
// holds. GCC's figures, which browsers use.
constexpr double kHighLoss = 0.10;
constexpr double kLowLoss = 0.02;
// Delay-based part: the round trip above its lowest value is queueing somewhere on the
// path. Past this much (or half the base round trip, if larger) a queue is building: the
// sender is over what the path carries, before any loss shows. Less than this is jitter
// (a loaded 2-core machine put 45 ms of it on a 40 ms round trip).
constexpr double kQueueingMs = 80;
// The base round trip is the lowest of this long. A round trip is both ways, and a queue
// on the way back (the other side's own traffic) looks just like ours; a window lets such
// a queue become the new base once it has lasted, while our own overshoot still shows as
// loss from the full queue. (TWCC's one-way delays would tell them apart; see README.)
constexpr gint64 kBaseRttWindowUs = 5 * G_USEC_PER_SEC;
// ... but a queue that comes with our own packets being lost is ours, however long it has
// lasted: a queue on the way back never loses what we send. Against this longer base, a
// round trip up by the queueing margin while loss is above kLowLoss is overuse. Without it
// a sender that fills a bottleneck's queue keeps it full once the queue is the base: 2-10%
// loss, NACKs that take the queue's 0.4 s to come back, and pictures that stall.
constexpr gint64 kLongBaseRttWindowUs = 60 * G_USEC_PER_SEC;
// On overuse the target goes to this share of what was actually being sent.
constexpr double kBackOff = 0.85;
// After a decrease, the next one waits this long, so that one queue is not punished twice
// before the lower rate could drain it: the encoder takes a few frames to follow, the queue
// a round trip or more to drain, and the reports that show it come 0.1-1 s apart.
constexpr gint64 kDecreaseHoldUs = 1500 * 1000;
// Increases: multiplicative (this factor per second) far from the rate where the path last
// pushed back, additive (this many kbit/s per second, or kNearGrowth of the target if that
// is more) within kNearBand of it.
constexpr double kFarGrowthPerSecond = 1.3;
constexpr double kNearKbpsPerSecond = 50;
constexpr double kNearGrowth = 0.08;
constexpr double kNearBand = 0.15;
// Reports further apart than this count as this long (a stalled stats poll must not turn
// into one huge increase).
constexpr double kMaxReportGapS = 2.0;
// Smoothing of the loss figure that is reported out (for Opus FEC).
constexpr double kLossSmoothing = 0.3;
// How far above what we send a REMB may be outgrown (see target_kbps).
constexpr double kRembProbe = 1.5;
// No new report about our video for this long while we send: the reports are stuck behind
// a full queue on their way back, or the receiver has nothing new to report because what
// we send is stuck in one on the way there. Either way the path does not carry our rate,
// and waiting for a report that says so could take as long as the queue holds: the rate
// goes to this share of what was sent, again after each kDecreaseHoldUs, until a report
// comes. (Receivers report at least once a second; browsers about that often.)
constexpr gint64 kReportSilenceUs = 3 * G_USEC_PER_SEC;
constexpr double kSilenceBackOff = 0.8;
// Round trips above this are not a measurement.
constexpr double kMaxRttMs = 60000;

// Picture ladder: the bits per pixel below which a picture is too coarse to be worth its
// size, and the margin (and wait) before stepping back up.
constexpr double kMinBitsPerPixel = 0.033;
constexpr double kStepUpMargin = 1.5;
constexpr gint64 kStepUpAfterUs = 2500 * 1000;
// A step down within this long of a step up undoes it: the next wait doubles, up to the
// longest. A rung held this long resets the wait.
constexpr gint64 kUndoneWithinUs = 20 * G_USEC_PER_SEC;
constexpr gint64 kLongestStepUpAfterUs = 20 * G_USEC_PER_SEC;
constexpr int kRungs = 3;

} // namespace

const char *bwe_action_name(BweAction a) {
    switch (a) {
    case BweAction::Hold:
        return "hold";
    case BweAction::Increase:
        return "increase";
    case BweAction::Decrease:
        return "decrease";
    }
    return "hold";
}

BandwidthController::BandwidthController(const BweLimits &limits) : limits_(limits) {
    limits_.min_kbps = std::max(1, limits_.min_kbps);
    limits_.max_kbps = std::max(limits_.min_kbps, limits_.max_kbps);
    target_ =
        std::clamp(double(limits_.start_kbps), double(limits_.min_kbps), double(limits_.max_kbps));
}

bool BandwidthController::delay_overuse(double rtt_ms, double fraction_lost) const {
    if (rtt_ms < 0 || base_rtt_ms_ < 0)
        return false;
    if (rtt_ms - base_rtt_ms_ > std::max(kQueueingMs, base_rtt_ms_ / 2))
        return true;
    return fraction_lost >= kLowLoss &&
           rtt_ms - long_base_rtt_ms_ > std::max(kQueueingMs, long_base_rtt_ms_ / 2);
}

namespace {

// The lowest round trip of the last `window_us` in `rtts` (oldest first), after dropping
// what is older (or from the future: a clock that went back).
double lowest_within(std::deque<std::pair<gint64, double>> &rtts, gint64 now_us, gint64 window_us) {
    while (!rtts.empty() &&
           (rtts.front().first > now_us || now_us - rtts.front().first > window_us))
        rtts.pop_front();
    double low = -1;
    for (const auto &[at, ms] : rtts)
        low = low < 0 ? ms : std::min(low, ms);
    return low;
}

} // namespace

BweAction BandwidthController::on_report(gint64 now_us, const ReceiverReport &r) {
    if (!std::isfinite(r.fraction_lost) || r.fraction_lost < 0 || r.fraction_lost > 1 ||
        !std::isfinite(r.rtt_ms) || r.rtt_ms > kMaxRttMs)
        return BweAction::Hold;
    double dt_s = last_report_us_ == 0 || now_us <= last_report_us_
                      ? 0
                      : std::min(kMaxReportGapS, double(now_us - last_report_us_) / 1e6);
    last_report_us_ = now_us;
    double rtt = r.rtt_ms >= 0 ? r.rtt_ms : -1;
    if (rtt >= 0) {
        rtts_.emplace_back(now_us, rtt);
        long_rtts_.emplace_back(now_us, rtt);
        base_rtt_ms_ = lowest_within(rtts_, now_us, kBaseRttWindowUs);
        long_base_rtt_ms_ = lowest_within(long_rtts_, now_us, kLongBaseRttWindowUs);
    }
    loss_ += kLossSmoothing * (r.fraction_lost - loss_);

    bool lossy = r.fraction_lost > kHighLoss;
    bool queueing = delay_overuse(rtt, r.fraction_lost);
    if (lossy || queueing) {
        if (last_decrease_us_ != 0 && now_us - last_decrease_us_ < kDecreaseHoldUs)
            return BweAction::Hold;
        double from = sent_kbps_ > 0 ? std::min(target_, sent_kbps_) : target_;
        double next = target_;
        if (lossy)
            next = from * (1 - 0.5 * r.fraction_lost);
        if (queueing)
            next = std::min(next, from * kBackOff);
        // The receiver's own estimate, when it has one, is what it sees arriving: on a path
        // that pushes back, no more than that (GCC takes the lower of its two parts too).
        // Without this a sender far over a bottleneck needed several decreases, 1.5 s
        // apart, to get under it.
        if (remb_kbps_ > 0)
            next = std::min(next, std::max(remb_kbps_, double(limits_.min_kbps)));
        congested_kbps_ = congested_kbps_ > 0 ? 0.7 * congested_kbps_ + 0.3 * from : from;
        target_ = std::clamp(next, double(limits_.min_kbps), double(limits_.max_kbps));
        last_decrease_us_ = now_us;
        return BweAction::Decrease;
    }
    if (r.fraction_lost >= kLowLoss || dt_s <= 0)
        return BweAction::Hold;
    double before = target_;
    bool near =
        congested_kbps_ > 0 && std::fabs(target_ - congested_kbps_) <= kNearBand * congested_kbps_;
    if (near)
        target_ += std::max(kNearKbpsPerSecond, kNearGrowth * target_) * dt_s;
    else
        target_ *= std::pow(kFarGrowthPerSecond, dt_s);
    target_ = std::clamp(target_, double(limits_.min_kbps), double(limits_.max_kbps));
    return target_ > before ? BweAction::Increase : BweAction::Hold;
}

BweAction BandwidthController::on_tick(gint64 now_us) {
    if (last_report_us_ == 0 || sent_kbps_ <= 0 || now_us - last_report_us_ < kReportSilenceUs)
        return BweAction::Hold;
    if (last_decrease_us_ != 0 && now_us - last_decrease_us_ < kDecreaseHoldUs)
        return BweAction::Hold;
    double from = std::min(target_, sent_kbps_);
    congested_kbps_ = congested_kbps_ > 0 ? 0.7 * congested_kbps_ + 0.3 * from : from;
    double before = target_;
    target_ =
        std::clamp(from * kSilenceBackOff, double(limits_.min_kbps), double(limits_.max_kbps));
    last_decrease_us_ = now_us;
    return target_ < before ? BweAction::Decrease : BweAction::Hold;
}

void BandwidthController::on_remb(int kbps) {
    remb_kbps_ = kbps > 0 ? kbps : 0;
}

void BandwidthController::on_sent_rate(int kbps) {
    sent_kbps_ = kbps > 0 ? kbps : 0;
}

int BandwidthController::estimate_kbps() const {
    return int(std::lround(target_));
}

int BandwidthController::target_kbps() const {
    double t = target_;
    // A REMB is the receiver's estimate from what it receives, so it tracks what we send:
    // taken strictly it would hold a sender that has been low (a simple picture, or after
    // a bottleneck) low for as long as it takes the receiver's own slow ramp. So it caps
    // the target no lower than kRembProbe times what we actually send, which lets the rate
    // climb while the loss and delay figures say the path is clear.
    if (remb_kbps_ > 0)
        t = std::min(t, std::max(remb_kbps_, kRembProbe * sent_kbps_));
    return int(std::lround(std::clamp(t, double(limits_.min_kbps), double(limits_.max_kbps))));
}

Picture PictureLadder::picture(int rung) const {
    Picture p = full_;
    if (rung >= 1) {
        // Even sizes: encoders want 4:2:0 chroma to divide evenly.
        p.width = std::max(2, (full_.width / 2) & ~1);
        p.height = std::max(2, (full_.height / 2) & ~1);
    }
    if (rung >= 2)
        p.fps = std::max(1, full_.fps / 2);
    return p;
}

int PictureLadder::floor_kbps(int rung) const {
    if (rung >= kRungs - 1)
        return 0;
    Picture p = picture(rung);
    return int(std::lround(double(p.width) * p.height * p.fps * kMinBitsPerPixel / 1000));
}

PictureLadder::PictureLadder(const Picture &full)
    : full_(full), step_up_after_us_(kStepUpAfterUs) {}

const Picture &PictureLadder::update(gint64 now_us, int kbps) {
    int wanted = 0;
    while (wanted < kRungs - 1 && kbps < floor_kbps(wanted))
        ++wanted;
    if (wanted > rung_) {
        if (stepped_up_us_ >= 0 && now_us - stepped_up_us_ < kUndoneWithinUs)
            step_up_after_us_ = std::min(2 * step_up_after_us_, kLongestStepUpAfterUs);
        rung_ = wanted;
        changed_us_ = now_us;
    } else if (now_us - changed_us_ >= kUndoneWithinUs) {
        step_up_after_us_ = kStepUpAfterUs; // this rung holds
    }
    if (wanted < rung_ && now_us - changed_us_ >= step_up_after_us_ &&
        kbps >= kStepUpMargin * floor_kbps(rung_ - 1)) {
        --rung_; // one rung at a time
        changed_us_ = now_us;
        stepped_up_us_ = now_us;
    }
    return current();
}

const Picture &PictureLadder::current() const {
    current_ = picture(rung_);
    return current_;
}

} // namespace duet::pipelines
