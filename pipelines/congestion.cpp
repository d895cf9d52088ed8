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
// No new report about our video (receiver report or transport-wide feedback) for this long
// while we send: the reports are stuck behind a full queue on their way back, or the
// receiver has nothing new to report because what we send is stuck in one on the way
// there. Either way the path does not carry our rate, and waiting for a report that says
// so could take as long as the queue holds: the rate goes to this share of what was sent,
// again after each kDecreaseHoldUs, until a report comes. (Receivers report at least once
// a second, browsers about that often; transport-wide feedback comes every 100 ms.)
constexpr gint64 kReportSilenceUs = 3 * G_USEC_PER_SEC;
constexpr double kSilenceBackOff = 0.8;
// How fast the loss reported out from transport-wide feedback falls, per feedback (every
// ~100 ms: about 2 s to fall by two thirds).
constexpr double kTwccLossFall = 0.05;
// Round trips above this are not a measurement.
constexpr double kMaxRttMs = 60000;

// Transport-wide feedback. Packets sent within this long of a group's first are one group
// (a frame's packets leave together; their spacing on arrival says nothing about a queue).
constexpr gint64 kGroupUs = 5 * 1000;
// The trend of the one-way delay: a line fitted through the smoothed accumulated delay
// variation of this many groups, its slope scaled by the number of groups seen (at most
// kTrendScaleGroups) and by kTrendGain, against a threshold that follows what the trend
// usually is (quickly up to it, slowly down), between the lowest and the highest.
// GCC's figures (draft-ietf-rmcat-gcc and libwebrtc's trendline estimator).
constexpr std::size_t kTrendGroups = 20;
constexpr double kTrendSmoothing = 0.9;
constexpr double kTrendGain = 4;
constexpr int kTrendScaleGroups = 60;
constexpr double kThresholdStartMs = 12.5;
constexpr double kThresholdUp = 0.0087;
constexpr double kThresholdDown = 0.039;
constexpr double kThresholdMinMs = 6;
constexpr double kThresholdMaxMs = 600;
// A trend that far above the threshold is a spike and does not move it.
constexpr double kThresholdIgnoreMs = 15;
// Over the threshold for this long and more than one group (and not falling): overuse.
constexpr double kOveruseMs = 10;
// The one-way delay's level above its lowest of kLongBaseRttWindowUs is our own queue (no
// reverse traffic in it); above kQueueingMs for this long it is overuse even if the trend
// is flat (a full queue, which only loss would show otherwise). Long enough that a
// keyframe's burst, which drains by itself, does not count.
constexpr gint64 kQueueHighUs = 500 * 1000;
// Feedback that says one group arrived before the previous or that the delay jumped by
// this much is a discontinuity (the receiver's 24-bit reference time wrapped, a new
// route): the delay parts start again.
constexpr double kDiscontinuityMs = 2000;
// The acked rate is measured over this much arrival time. While a queue builds, packets
// arrive at exactly the bottleneck's rate, so a short window is enough, and it has to be
// short: a longer one still holds the rate from before a path narrowed.
constexpr gint64 kAckedWindowUs = 500 * 1000;
// After a decrease on transport-wide feedback the next waits only this long: it goes to
// what the receiver got, which does not compound, and feedback shows within a round trip
// whether the queue still grows. (With receiver reports alone, kDecreaseHoldUs.)
constexpr gint64 kTwccDecreaseHoldUs = 500 * 1000;
// Without feedback for this long the round trip is the delay signal again.
constexpr gint64 kTwccStaleUs = 3 * G_USEC_PER_SEC;
// Transport-wide feedback's loss figure is over this long, and counts from this many packets.
constexpr gint64 kTwccLossWindowUs = 1000 * 1000;
constexpr int kTwccLossMinPackets = 20;
// A decrease on transport-wide feedback goes to this share of what the receiver got.
constexpr double kAckedBackOff = 0.85;

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

const char *delay_trend_name(DelayTrend t) {
    switch (t) {
    case DelayTrend::Normal:
        return "normal";
    case DelayTrend::Overuse:
        return "overuse";
    case DelayTrend::Underuse:
        return "underuse";
    }
    return "normal";
}

BandwidthController::BandwidthController(const BweLimits &limits)
    : limits_(limits), threshold_ms_(kThresholdStartMs) {
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
    // With transport-wide feedback the one-way delays (on_twcc) are the delay signal: a
    // round trip that is high from a queue on the way back says nothing about ours.
    bool twcc = twcc_active(now_us);
    bool queueing = !twcc && delay_overuse(rtt, r.fraction_lost);
    if (lossy || queueing)
        return decrease(now_us, lossy, r.fraction_lost, queueing, kDecreaseHoldUs);
    // With transport-wide feedback the increases come with it (on_twcc): it arrives many
    // times a second, receiver reports may not (GStreamer 1.22 sends few beside it).
    if (r.fraction_lost >= kLowLoss || dt_s <= 0 || twcc)
        return BweAction::Hold;
    return increase(dt_s);
}

BweAction BandwidthController::increase(double dt_s) {
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

BweAction BandwidthController::decrease(gint64 now_us, bool lossy, double fraction_lost,
                                        bool queueing, gint64 hold_us) {
    if (last_decrease_us_ != 0 && now_us - last_decrease_us_ < hold_us)
        return BweAction::Hold;
    double from = sent_kbps_ > 0 ? std::min(target_, sent_kbps_) : target_;
    double next = target_;
    if (lossy)
        next = from * (1 - 0.5 * fraction_lost);
    if (queueing) {
        // What the receiver got is what the path carried: just under it, the queue drains.
        if (twcc_active(now_us) && acked_kbps_ > 0)
            next = std::min(next, std::min(from, acked_kbps_) * kAckedBackOff);
        else
            next = std::min(next, from * kBackOff);
    }
    // The receiver's own estimate, when it has one, is what it sees arriving: on a path
    // that pushes back, no more than that (GCC takes the lower of its two parts too).
    // Without this a sender far over a bottleneck needed several decreases, 1.5 s apart,
    // to get under it.
    if (remb_kbps_ > 0)
        next = std::min(next, std::max(remb_kbps_, double(limits_.min_kbps)));
    congested_kbps_ = congested_kbps_ > 0 ? 0.7 * congested_kbps_ + 0.3 * from : from;
    target_ = std::clamp(next, double(limits_.min_kbps), double(limits_.max_kbps));
    last_decrease_us_ = now_us;
    return BweAction::Decrease;
}

BweAction BandwidthController::on_tick(gint64 now_us) {
    gint64 heard_us = std::max(last_report_us_, twcc_seen_us_);
    if (heard_us == 0 || sent_kbps_ <= 0 || now_us - heard_us < kReportSilenceUs)
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

bool BandwidthController::twcc_active(gint64 now_us) const {
    return twcc_seen_us_ != 0 && now_us >= twcc_seen_us_ && now_us - twcc_seen_us_ < kTwccStaleUs;
}

BweAction BandwidthController::on_twcc(gint64 now_us, const std::vector<TwccPacket> &packets) {
    int total = 0, lost = 0;
    for (const auto &p : packets) {
        if (p.sent_us <= 0 || p.bytes <= 0 || p.bytes > 65536)
            continue; // not one of ours we know
        ++total;
        if (p.arrived_us >= 0)
            add_packet(p);
        else
            ++lost;
    }
    if (total == 0)
        return BweAction::Hold;
    bool was_active = twcc_active(now_us);
    gint64 since_us = twcc_seen_us_ != 0 && now_us > twcc_seen_us_ ? now_us - twcc_seen_us_ : 0;
    twcc_seen_us_ = now_us;
    ++twcc_feedbacks_;
    // The share lost over the last second of feedback.
    losses_.push_back({now_us, lost, total});
    twcc_lost_ += lost;
    twcc_total_ += total;
    while (!losses_.empty() &&
           (losses_.front().at_us > now_us || now_us - losses_.front().at_us > kTwccLossWindowUs)) {
        twcc_lost_ -= losses_.front().lost;
        twcc_total_ -= losses_.front().total;
        losses_.pop_front();
    }
    twcc_loss_ = twcc_total_ > 0 ? double(twcc_lost_) / twcc_total_ : 0;
    // What is reported out (for the FEC shares) rises with the window at once but falls
    // slowly: a second with no loss in it is common at 5% random loss and 30-100 packets a
    // second, and the FEC turned off and on with it (/faults/impaired-link saw 0% FEC).
    twcc_loss_held_ =
        std::max(twcc_loss_, twcc_loss_held_ + kTwccLossFall * (twcc_loss_ - twcc_loss_held_));

    if (trend_ == DelayTrend::Overuse || forward_queue_overuse())
        return decrease(now_us, false, 0, true, kTwccDecreaseHoldUs);
    if (twcc_loss_ > kHighLoss && twcc_total_ >= kTwccLossMinPackets)
        return decrease(now_us, true, twcc_loss_, false, kDecreaseHoldUs);
    // No increase while packets are lost, our own packets queue, or a queue drains.
    if (!was_active || since_us == 0 || twcc_loss_ >= kLowLoss || trend_ != DelayTrend::Normal ||
        queue_high_since_us_ >= 0)
        return BweAction::Hold;
    return increase(std::min(kMaxReportGapS, double(since_us) / 1e6));
}

bool BandwidthController::forward_queue_overuse() const {
    return queue_high_since_us_ >= 0 && queue_high_for_us_ >= kQueueHighUs;
}

void BandwidthController::reset_delay() {
    group_open_ = false;
    have_prev_group_ = false;
    accumulated_ms_ = 0;
    smoothed_ms_ = 0;
    first_arrival_us_ = -1;
    trend_deltas_ = 0;
    trend_points_.clear();
    prev_trend_ = 0;
    overuse_ms_ = -1;
    overuse_groups_ = 0;
    trend_ = DelayTrend::Normal;
    owds_.clear();
    queue_ms_ = -1;
    queue_high_since_us_ = -1;
    queue_high_for_us_ = 0;
    arrivals_.clear();
    arrivals_bytes_ = 0;
    acked_kbps_ = 0;
}

double BandwidthController::smoothed_loss() const {
    return std::max(loss_, twcc_loss_held_);
}

void BandwidthController::add_packet(const TwccPacket &p) {
    if (group_open_ && p.sent_us < group_.last_sent_us)
        return; // sent before what the group has: out of order, not a delay sample
    if (group_open_ &&
        (std::fabs(double(p.arrived_us - group_.arrived_us)) / 1000 > kDiscontinuityMs))
        reset_delay();
    gint64 owd = p.arrived_us - p.sent_us;
    if (group_open_ && p.sent_us - group_.first_sent_us <= kGroupUs) {
        group_.last_sent_us = p.sent_us;
        group_.arrived_us = std::max(group_.arrived_us, p.arrived_us);
        group_.lowest_owd_us = std::min(group_.lowest_owd_us, owd);
    } else {
        if (group_open_)
            complete_group();
        group_open_ = true;
        group_ = Group{p.sent_us, p.sent_us, p.arrived_us, owd};
    }
    update_acked(p);
}

void BandwidthController::update_acked(const TwccPacket &p) {
    if (!p.video)
        return;
    if (!arrivals_.empty() && p.arrived_us < arrivals_.back().first) {
        // Arrivals in sequence order may step back a little (reordering): count the bytes
        // at the latest arrival seen, so the window stays ordered.
        arrivals_.emplace_back(arrivals_.back().first, p.bytes);
    } else {
        arrivals_.emplace_back(p.arrived_us, p.bytes);
    }
    arrivals_bytes_ += p.bytes;
    gint64 newest = arrivals_.back().first;
    gint64 oldest = arrivals_.front().first;
    while (!arrivals_.empty() && newest - arrivals_.front().first > kAckedWindowUs) {
        arrivals_bytes_ -= arrivals_.front().second;
        arrivals_.pop_front();
    }
    // Only once a whole window has been seen: the first packets alone are no rate.
    if (newest - oldest >= kAckedWindowUs)
        acked_kbps_ = double(arrivals_bytes_) * 8 / 1000 / (double(kAckedWindowUs) / 1e6);
}

void BandwidthController::complete_group() {
    const Group g = group_;
    // The one-way delay's level above its lowest (two clocks: only the level counts).
    // owds_ keeps only what could still become the lowest: each value is lower than all
    // after it, so the front is the lowest of the window (a group per frame, a minute's
    // worth, would otherwise be walked on every group).
    double owd_ms = double(g.lowest_owd_us) / 1000;
    while (!owds_.empty() && owds_.back().second >= owd_ms)
        owds_.pop_back();
    owds_.emplace_back(g.last_sent_us, owd_ms);
    while (g.last_sent_us - owds_.front().first > kLongBaseRttWindowUs)
        owds_.pop_front();
    double base = owds_.front().second;
    queue_ms_ = std::max(0.0, owd_ms - base);
    if (queue_ms_ > kQueueingMs) {
        if (queue_high_since_us_ < 0)
            queue_high_since_us_ = g.arrived_us;
        queue_high_for_us_ = g.arrived_us - queue_high_since_us_;
    } else {
        queue_high_since_us_ = -1;
        queue_high_for_us_ = 0;
    }
    if (have_prev_group_) {
        double arrival_ms = double(g.arrived_us - prev_group_.arrived_us) / 1000;
        double sent_ms = double(g.last_sent_us - prev_group_.last_sent_us) / 1000;
        double variation = arrival_ms - sent_ms;
        if (arrival_ms < 0 || std::fabs(variation) > kDiscontinuityMs) {
            reset_delay();
            return;
        }
        update_trend(variation, g.arrived_us, arrival_ms);
    }
    prev_group_ = g;
    have_prev_group_ = true;
}

void BandwidthController::update_trend(double variation_ms, gint64 arrived_us, double dt_ms) {
    if (first_arrival_us_ < 0)
        first_arrival_us_ = arrived_us;
    accumulated_ms_ += variation_ms;
    smoothed_ms_ = kTrendSmoothing * smoothed_ms_ + (1 - kTrendSmoothing) * accumulated_ms_;
    trend_points_.emplace_back(double(arrived_us - first_arrival_us_) / 1000, smoothed_ms_);
    if (trend_points_.size() > kTrendGroups)
        trend_points_.pop_front();
    trend_deltas_ = std::min(trend_deltas_ + 1, kTrendScaleGroups);
    if (trend_points_.size() < kTrendGroups)
        return;
    // Least squares slope of delay against arrival time.
    double mx = 0, my = 0;
    for (const auto &[x, y] : trend_points_) {
        mx += x;
        my += y;
    }
    mx /= double(trend_points_.size());
    my /= double(trend_points_.size());
    double num = 0, den = 0;
    for (const auto &[x, y] : trend_points_) {
        num += (x - mx) * (y - my);
        den += (x - mx) * (x - mx);
    }
    if (den <= 0)
        return;
    double trend = num / den * trend_deltas_ * kTrendGain;
    if (trend > threshold_ms_) {
        overuse_ms_ = overuse_ms_ < 0 ? dt_ms / 2 : overuse_ms_ + dt_ms;
        ++overuse_groups_;
        if (overuse_ms_ > kOveruseMs && overuse_groups_ > 1 && trend >= prev_trend_) {
            overuse_ms_ = 0;
            overuse_groups_ = 0;
            trend_ = DelayTrend::Overuse;
        }
    } else if (trend < -threshold_ms_) {
        overuse_ms_ = -1;
        overuse_groups_ = 0;
        trend_ = DelayTrend::Underuse;
    } else {
        overuse_ms_ = -1;
        overuse_groups_ = 0;
        trend_ = DelayTrend::Normal;
    }
    prev_trend_ = trend;
    double excess = std::fabs(trend) - threshold_ms_;
    if (excess <= kThresholdIgnoreMs) {
        double k = std::fabs(trend) < threshold_ms_ ? kThresholdDown : kThresholdUp;
        threshold_ms_ += k * excess * std::min(dt_ms, 100.0);
        threshold_ms_ = std::clamp(threshold_ms_, kThresholdMinMs, kThresholdMaxMs);
    }
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
