// SPDX-License-Identifier: MIT
// Bandwidth adaptation for one call leg's video, as pure logic: what the receiver's
// reports say about the path goes in, a target bitrate and a picture size and rate come
// out. In the spirit of Google Congestion Control (a delay-based and a loss-based part,
// the lower of the two wins), written for what webrtcbin 1.22 hands us: RTCP receiver
// reports (fraction lost, round-trip time), where the peer sends one a REMB cap, and where
// transport-wide congestion control (TWCC) was negotiated, each packet's arrival time.
#pragma once

#include <glib.h>

#include <deque>
#include <utility>
#include <vector>

namespace duet::pipelines {

struct BweLimits {
    int min_kbps = 60;    // below this a picture is no longer worth sending
    int start_kbps = 800; // where a call starts (duet-peer's --video-bitrate)
    int max_kbps = 800;   // never more than this (--video-bitrate)
};

// What the controller did with a report, for logs and tests.
enum class BweAction { Hold, Increase, Decrease };
const char *bwe_action_name(BweAction a);

// One receiver report about our video, as webrtcbin's get-stats gives it (remote-inbound-
// rtp): the share of packets lost since the previous report (0..1) and the round trip
// (negative when not known yet). Reports with nonsense in them are ignored.
struct ReceiverReport {
    double fraction_lost = 0;
    double rtt_ms = -1;
};

// One packet of ours as the receiver's transport-wide feedback acknowledges it: when it
// left (our monotonic clock), when it arrived (the receiver's clock, whose origin is its
// own: only differences mean anything; negative when it never arrived), its size, and
// whether it was video (what the video's rate is measured from).
struct TwccPacket {
    gint64 sent_us = 0;
    gint64 arrived_us = -1;
    int bytes = 0;
    bool video = true;
};

// What the one-way delay of our packets is doing: growing (a queue is building on the way
// to the receiver), shrinking (one drains), or neither.
enum class DelayTrend { Normal, Overuse, Underuse };
const char *delay_trend_name(DelayTrend t);

class BandwidthController {
  public:
    explicit BandwidthController(const BweLimits &limits);

    // A new receiver report at `now_us` (monotonic). Returns what it did to the target.
    BweAction on_report(gint64 now_us, const ReceiverReport &r);
    // The receiver's own estimate (REMB), in kbit/s; 0 or less clears it. It caps the
    // target, but never below 1.5 times what we send (see target_kbps in the .cpp).
    void on_remb(int kbps);
    // A transport-wide feedback's packets (in sequence order) at `now_us`. While these
    // come, the delay-based part reads one-way delays instead of round trips: a round trip
    // cannot tell a queue on our way from one on the way back (the other side's own
    // video), one-way delays can. Returns what it did to the target.
    BweAction on_twcc(gint64 now_us, const std::vector<TwccPacket> &packets);
    // The rate our video actually left at recently (kbit/s), when known: a decrease starts
    // from it rather than from a target the encoder never reached.
    void on_sent_rate(int kbps);
    // Called every poll (`now_us` monotonic): once reports have come, a silence of new ones
    // while we send is itself congestion (see kReportSilenceUs in the .cpp).
    BweAction on_tick(gint64 now_us);

    // The bitrate for the video encoder now, kbit/s, within the limits.
    int target_kbps() const;
    // The loss the path showed in the last reports (0..1, smoothed), or over the last
    // second of transport-wide feedback if that is more (falling slowly after it); e.g.
    // for Opus FEC and video ULPFEC.
    double smoothed_loss() const;
    // The round trip's lowest value over the last few seconds (ms), -1 before the first.
    double base_rtt_ms() const { return base_rtt_ms_; }
    // The target before any REMB cap: what the path's reports alone allow. (A REMB follows
    // what it receives, so a picture chosen by it could never grow: see PictureLadder.)
    int estimate_kbps() const;

    // Whether transport-wide feedback came recently enough to be the delay signal.
    bool twcc_active(gint64 now_us) const;
    // From transport-wide feedback: our video's rate as the receiver got it (kbit/s, 0
    // before a second of it), the one-way delay above its lowest of the last minute (ms,
    // -1 before any), the delay trend, and how many feedback packets came.
    int acked_kbps() const { return int(acked_kbps_ + 0.5); }
    double queue_delay_ms() const { return queue_ms_; }
    DelayTrend delay_trend() const { return trend_; }
    guint64 twcc_feedbacks() const { return twcc_feedbacks_; }

  private:
    bool delay_overuse(double rtt_ms, double fraction_lost) const;
    // The one-way delay parts (on_twcc): a packet group is what left within a few ms (a
    // frame's packets); each completed group updates the trend and the queue level.
    void add_packet(const TwccPacket &p);
    void complete_group();
    void update_trend(double variation_ms, gint64 arrived_us, double dt_ms);
    void update_acked(const TwccPacket &p);
    void reset_delay();
    bool forward_queue_overuse() const;
    BweAction decrease(gint64 now_us, bool lossy, double fraction_lost, bool queueing,
                       gint64 hold_us);
    BweAction increase(double dt_s);

    BweLimits limits_;
    double target_;        // kbit/s
    double sent_kbps_ = 0; // 0: unknown
    double remb_kbps_ = 0; // 0: none
    double loss_ = 0;      // smoothed fraction lost
    double base_rtt_ms_ = -1;
    // Round trips of the last kBaseRttWindowUs, oldest first: (time, ms).
    std::deque<std::pair<gint64, double>> rtts_;
    // The same over kLongBaseRttWindowUs, and its lowest: a queue with loss is ours.
    std::deque<std::pair<gint64, double>> long_rtts_;
    double long_base_rtt_ms_ = -1;
    // The rate at which the path last pushed back, smoothed (0: never): increases are
    // cautious near it and quick far from it.
    double congested_kbps_ = 0;
    gint64 last_report_us_ = 0;
    gint64 last_decrease_us_ = 0;

    // Transport-wide feedback (see on_twcc).
    struct Group {
        gint64 first_sent_us = 0;
        gint64 last_sent_us = 0;
        gint64 arrived_us = 0; // the latest arrival in the group
        gint64 lowest_owd_us = 0;
    };
    gint64 twcc_seen_us_ = 0; // when the last feedback came (0: never)
    guint64 twcc_feedbacks_ = 0;
    bool group_open_ = false;
    Group group_;
    bool have_prev_group_ = false;
    Group prev_group_;
    double accumulated_ms_ = 0; // the delay variation summed since the start
    double smoothed_ms_ = 0;    // ... and smoothed
    gint64 first_arrival_us_ = -1;
    int trend_deltas_ = 0;
    // (arrival ms since the first, smoothed accumulated delay ms) of the last groups.
    std::deque<std::pair<double, double>> trend_points_;
    double threshold_ms_;
    double prev_trend_ = 0;
    double overuse_ms_ = -1; // how long the trend has been over the threshold
    int overuse_groups_ = 0;
    DelayTrend trend_ = DelayTrend::Normal;
    // One-way delays (send time, ms: arrival minus send, on two clocks) of the last minute
    // that could still be its lowest (see complete_group), the level above the lowest
    // now, and since when (and for how long) that level has been high.
    std::deque<std::pair<gint64, double>> owds_;
    double queue_ms_ = -1;
    gint64 queue_high_since_us_ = -1; // the receiver's clock; -1: not high
    gint64 queue_high_for_us_ = 0;
    // Video bytes by arrival time (the receiver's clock), for the acked rate.
    std::deque<std::pair<gint64, int>> arrivals_;
    gint64 arrivals_bytes_ = 0;
    double acked_kbps_ = 0;
    // Packets lost and reported per feedback over the last second, and the share lost.
    struct Losses {
        gint64 at_us;
        int lost, total;
    };
    std::deque<Losses> losses_;
    int twcc_lost_ = 0, twcc_total_ = 0;
    double twcc_loss_ = 0;
    double twcc_loss_held_ = 0; // twcc_loss_, falling slowly (what smoothed_loss reports)
};

// A picture size and frame rate.
struct Picture {
    int width = 0;
    int height = 0;
    int fps = 0;
    bool operator==(const Picture &o) const {
        return width == o.width && height == o.height && fps == o.fps;
    }
};

// Chooses the picture for a bitrate: the full picture while the bitrate carries it, half
// the width and height when it gets too low for that, then also half the frame rate. It
// steps down at once and back up only with a margin and after a while at the lower one,
// so that a bitrate hovering at a threshold does not flip the size on every report; a step
// up that has to be undone soon after makes the next one wait twice as long.
class PictureLadder {
  public:
    explicit PictureLadder(const Picture &full);
    // The picture for `kbps` at `now_us`; `current()` after.
    const Picture &update(gint64 now_us, int kbps);
    const Picture &current() const;
    // The lowest bitrate at which rung `i` (0 full, 1 half size, 2 half size and rate) is
    // used when stepping down. Exposed for tests and docs.
    int floor_kbps(int rung) const;

  private:
    Picture picture(int rung) const;

    Picture full_;
    int rung_ = 0;
    gint64 changed_us_ = 0;
    gint64 stepped_up_us_ = -1; // the last step up, -1 if none
    // How long a rung is held before stepping up: doubles each time a step up is undone
    // soon after (each change costs a keyframe), back to the shortest once one holds.
    gint64 step_up_after_us_;
    mutable Picture current_;
};

} // namespace duet::pipelines
