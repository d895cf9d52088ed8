// SPDX-License-Identifier: MIT
// Bandwidth adaptation for one call leg's video, as pure logic: what the receiver's
// reports say about the path goes in, a target bitrate and a picture size and rate come
// out. In the spirit of Google Congestion Control (a delay-based and a loss-based part,
// the lower of the two wins), written for what webrtcbin 1.22 hands us: RTCP receiver
// reports (fraction lost, round-trip time) and, where the peer sends one, a REMB cap.
#pragma once

#include <glib.h>

#include <deque>
#include <utility>

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

class BandwidthController {
  public:
    explicit BandwidthController(const BweLimits &limits);

    // A new receiver report at `now_us` (monotonic). Returns what it did to the target.
    BweAction on_report(gint64 now_us, const ReceiverReport &r);
    // The receiver's own estimate (REMB), in kbit/s; 0 or less clears it. It caps the
    // target, but never below 1.5 times what we send (see target_kbps in the .cpp).
    void on_remb(int kbps);
    // The rate our video actually left at recently (kbit/s), when known: a decrease starts
    // from it rather than from a target the encoder never reached.
    void on_sent_rate(int kbps);
    // Called every poll (`now_us` monotonic): once reports have come, a silence of new ones
    // while we send is itself congestion (see kReportSilenceUs in the .cpp).
    BweAction on_tick(gint64 now_us);

    // The bitrate for the video encoder now, kbit/s, within the limits.
    int target_kbps() const;
    // The loss the path showed in the last reports (0..1, smoothed), e.g. for Opus FEC.
    double smoothed_loss() const { return loss_; }
    // The round trip's lowest value over the last few seconds (ms), -1 before the first.
    double base_rtt_ms() const { return base_rtt_ms_; }
    // The target before any REMB cap: what the path's reports alone allow. (A REMB follows
    // what it receives, so a picture chosen by it could never grow: see PictureLadder.)
    int estimate_kbps() const;

  private:
    bool delay_overuse(double rtt_ms, double fraction_lost) const;

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
