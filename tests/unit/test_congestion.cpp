// SPDX-License-Identifier: MIT
// The bandwidth controller and the picture ladder, fed with receiver reports from a model
// of a bottleneck. Times are simulated (microseconds passed in), never waited for.
#include "pipelines/congestion.h"

#include <glib.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <vector>

using namespace duet::pipelines;

namespace {

constexpr gint64 kSecond = G_USEC_PER_SEC;

BweLimits limits(int min, int start, int max) {
    BweLimits l;
    l.min_kbps = min;
    l.start_kbps = start;
    l.max_kbps = max;
    return l;
}

void test_starts_within_limits() {
    g_assert_cmpint(BandwidthController(limits(60, 800, 800)).target_kbps(), ==, 800);
    g_assert_cmpint(BandwidthController(limits(60, 5000, 800)).target_kbps(), ==, 800);
    g_assert_cmpint(BandwidthController(limits(60, 10, 800)).target_kbps(), ==, 60);
    // A max below the min is taken as the min.
    g_assert_cmpint(BandwidthController(limits(100, 800, 50)).target_kbps(), ==, 100);
}

void test_heavy_loss_decreases_to_min_not_below() {
    BandwidthController c(limits(60, 800, 800));
    gint64 t = kSecond;
    int last = c.target_kbps();
    for (int i = 0; i < 40; ++i, t += 2 * kSecond) {
        BweAction a = c.on_report(t, {0.5, 40});
        g_assert_true(a == BweAction::Decrease);
        g_assert_cmpint(c.target_kbps(), <=, last);
        last = c.target_kbps();
    }
    g_assert_cmpint(c.target_kbps(), ==, 60);
    g_assert_cmpfloat(c.smoothed_loss(), >, 0.4);
}

void test_one_queue_is_not_punished_twice() {
    BandwidthController c(limits(60, 800, 800));
    g_assert_true(c.on_report(kSecond, {0.3, 40}) == BweAction::Decrease);
    int after = c.target_kbps();
    g_assert_cmpint(after, <, 800);
    // A second report right after (a burst of RTCP) holds.
    g_assert_true(c.on_report(kSecond + 100 * 1000, {0.3, 40}) == BweAction::Hold);
    g_assert_cmpint(c.target_kbps(), ==, after);
    g_assert_true(c.on_report(3 * kSecond, {0.3, 40}) == BweAction::Decrease);
    g_assert_cmpint(c.target_kbps(), <, after);
}

// Reports that stop while we send (stuck behind a full queue, or about nothing new) lower
// the rate every 1.5 s until one comes; before any report, and while nothing is sent, a
// silence means nothing.
void test_report_silence_decreases() {
    BandwidthController quiet(limits(60, 800, 800));
    quiet.on_sent_rate(500);
    g_assert_true(quiet.on_tick(10 * kSecond) == BweAction::Hold); // no report yet
    BandwidthController idle(limits(60, 800, 800));
    idle.on_report(kSecond, {0, 40});
    g_assert_true(idle.on_tick(10 * kSecond) == BweAction::Hold); // sending nothing

    BandwidthController c(limits(60, 800, 800));
    c.on_report(kSecond, {0, 40});
    c.on_sent_rate(500);
    g_assert_true(c.on_tick(3 * kSecond) == BweAction::Hold); // 2 s: a report may be late
    g_assert_true(c.on_tick(4 * kSecond + 100 * 1000) == BweAction::Decrease);
    g_assert_cmpint(c.target_kbps(), ==, 400);                // 0.8 of what was sent
    g_assert_true(c.on_tick(5 * kSecond) == BweAction::Hold); // one decrease per 1.5 s
    c.on_sent_rate(400);
    g_assert_true(c.on_tick(6 * kSecond) == BweAction::Decrease);
    g_assert_cmpint(c.target_kbps(), ==, 320);
    // A report ends the silence.
    c.on_report(6500 * 1000, {0, 40});
    g_assert_true(c.on_tick(8 * kSecond) == BweAction::Hold);
    g_assert_cmpint(c.target_kbps(), >=, 320);
}

void test_moderate_loss_holds() {
    BandwidthController c(limits(60, 400, 800));
    c.on_report(kSecond, {0, 40});
    for (int i = 2; i < 10; ++i)
        g_assert_true(c.on_report(i * kSecond, {0.05, 40}) == BweAction::Hold);
    g_assert_cmpint(c.target_kbps(), ==, 400);
}

void test_clean_path_grows_to_max() {
    BandwidthController c(limits(60, 100, 1500));
    gint64 t = kSecond;
    c.on_report(t, {0, 30});
    int last = c.target_kbps();
    for (int i = 0; i < 30; ++i) {
        t += kSecond;
        c.on_report(t, {0, 30});
        g_assert_cmpint(c.target_kbps(), >=, last);
        last = c.target_kbps();
    }
    g_assert_cmpint(c.target_kbps(), ==, 1500);
}

void test_rising_round_trip_decreases_without_loss() {
    BandwidthController c(limits(60, 800, 800));
    c.on_report(kSecond, {0, 40});
    g_assert_cmpfloat(c.base_rtt_ms(), ==, 40);
    // 20 ms of extra delay is jitter, not a queue.
    g_assert_true(c.on_report(2 * kSecond, {0, 60}) != BweAction::Decrease);
    // 150 ms more is a queue filling: back off before anything is lost.
    g_assert_true(c.on_report(3 * kSecond, {0, 190}) == BweAction::Decrease);
    g_assert_cmpint(c.target_kbps(), <=, 800 * 0.85 + 1);
}

// A queue on the way back (the other side's traffic) raises the round trip whatever we
// send: after backing off once or twice the controller takes it as the new base and
// grows again, until loss says otherwise.
void test_lasting_queue_becomes_the_base() {
    BandwidthController c(limits(60, 400, 800));
    c.on_report(kSecond, {0, 40});
    gint64 t = kSecond;
    int decreases = 0;
    for (int i = 0; i < 4; ++i) {
        t += kSecond;
        decreases += c.on_report(t, {0, 230}) == BweAction::Decrease;
    }
    g_assert_cmpint(decreases, >=, 1);
    int low = c.target_kbps();
    g_assert_cmpint(low, <, 400);
    for (int i = 0; i < 10; ++i) {
        t += kSecond;
        c.on_report(t, {0, 230});
    }
    g_assert_cmpfloat(c.base_rtt_ms(), ==, 230);
    g_assert_cmpint(c.target_kbps(), >, low);
    // The new base is a base: a queue on top of it is a queue again.
    g_assert_true(c.on_report(t + kSecond, {0, 400}) == BweAction::Decrease);
}

// A standing queue of our own (a bottleneck we keep full): the round trip stays up and
// some of our packets are lost. Past the 5 s window it must still count as queueing, or
// the queue stays full for good.
void test_lasting_queue_with_loss_is_ours() {
    BandwidthController c(limits(60, 600, 800));
    c.on_report(kSecond, {0, 40});
    gint64 t = kSecond;
    int late_decreases = 0;
    for (int i = 0; i < 20; ++i) {
        t += kSecond;
        BweAction a = c.on_report(t, {0.04, 400}); // 4%: the loss band where loss alone holds
        if (i >= 8)
            late_decreases += a == BweAction::Decrease;
    }
    g_assert_cmpint(late_decreases, >=, 3);
    g_assert_cmpint(c.target_kbps(), <, 150); // a decrease every 1.5 s, each to 85%
}

// Far over a bottleneck, the receiver's estimate says at once how far to go down.
void test_decrease_goes_to_the_remb() {
    BandwidthController c(limits(60, 800, 800));
    c.on_report(kSecond, {0, 40});
    c.on_sent_rate(800);
    c.on_remb(240);
    g_assert_true(c.on_report(2 * kSecond, {0.6, 400}) == BweAction::Decrease);
    g_assert_cmpint(c.estimate_kbps(), ==, 240);
    // On a clear path the REMB only caps (never below 1.5 times what we send).
    BandwidthController d(limits(60, 400, 800));
    d.on_report(kSecond, {0, 40});
    d.on_sent_rate(400);
    d.on_remb(240);
    g_assert_true(d.on_report(2 * kSecond, {0, 40}) != BweAction::Decrease);
    g_assert_cmpint(d.estimate_kbps(), >=, 400);
}

void test_remb_is_not_the_estimate() {
    BandwidthController c(limits(60, 800, 800));
    c.on_remb(250);
    g_assert_cmpint(c.target_kbps(), ==, 250);
    g_assert_cmpint(c.estimate_kbps(), ==, 800);
}

void test_decrease_starts_from_what_was_sent() {
    BandwidthController c(limits(60, 800, 800));
    c.on_report(kSecond, {0, 40});
    c.on_sent_rate(300); // the encoder never reached 800
    g_assert_true(c.on_report(2 * kSecond, {0.2, 40}) == BweAction::Decrease);
    g_assert_cmpint(c.target_kbps(), <=, 300);
}

void test_bad_reports_change_nothing() {
    BandwidthController c(limits(60, 500, 800));
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    for (ReceiverReport r :
         {ReceiverReport{nan, 40}, ReceiverReport{-0.1, 40}, ReceiverReport{1.5, 40},
          ReceiverReport{0, nan}, ReceiverReport{0, inf}, ReceiverReport{0, 1e12}})
        g_assert_true(c.on_report(kSecond, r) == BweAction::Hold);
    g_assert_cmpint(c.target_kbps(), ==, 500);
    g_assert_cmpfloat(c.base_rtt_ms(), ==, -1);
    // Time going backwards is no reason to grow.
    c.on_report(5 * kSecond, {0, 40});
    g_assert_true(c.on_report(4 * kSecond, {0, 40}) == BweAction::Hold);
    g_assert_cmpint(c.target_kbps(), ==, 500);
}

void test_remb_caps_the_target() {
    BandwidthController c(limits(60, 800, 800));
    c.on_remb(250);
    g_assert_cmpint(c.target_kbps(), ==, 250);
    c.on_remb(10);
    g_assert_cmpint(c.target_kbps(), ==, 60);
    c.on_remb(0);
    g_assert_cmpint(c.target_kbps(), ==, 800);
    // A REMB that only follows what we send does not hold us there: up to 1.5 times.
    c.on_sent_rate(200);
    c.on_remb(210);
    g_assert_cmpint(c.target_kbps(), ==, 300);
}

// A bottleneck of `capacity` kbit/s with a drop-tail queue of 200 ms, base round trip
// 40 ms: what a receiver report would say after a second of sending at `rate`.
struct Bottleneck {
    double capacity;
    double queue_ms = 0;
    ReceiverReport second_at(double rate) {
        double excess = rate - capacity; // kbit over the second
        double queue = std::clamp(queue_ms + excess / capacity * 1000, 0.0, 200.0);
        double overflow = queue_ms + excess / capacity * 1000 - queue; // ms that did not fit
        queue_ms = queue;
        double lost = overflow > 0 ? overflow * capacity / 1000 / rate : 0;
        return {std::clamp(lost, 0.0, 1.0), 40 + queue_ms};
    }
};

void test_follows_a_bottleneck_and_recovers() {
    BandwidthController c(limits(60, 800, 1500));
    Bottleneck path{250};
    gint64 t = 0;
    double sum = 0;
    int n = 0, lossy = 0;
    for (int s = 1; s <= 30; ++s) {
        t += kSecond;
        ReceiverReport r = path.second_at(c.target_kbps());
        c.on_report(t, r);
        if (s > 10) { // settled: near the capacity, neither starving nor flooding it
            lossy += r.fraction_lost > 0.1;
            sum += c.target_kbps();
            ++n;
            g_assert_cmpint(c.target_kbps(), >=, 125);
            g_assert_cmpint(c.target_kbps(), <=, 320);
        }
    }
    g_assert_cmpfloat(sum / n, >=, 170);
    // Probing costs some loss, but most seconds get through whole.
    g_assert_cmpint(lossy, <=, 6);
    // The bottleneck goes: back above 700 within 10 reports.
    path = Bottleneck{2000};
    int seconds = 0;
    while (c.target_kbps() < 700 && seconds < 60) {
        t += kSecond;
        c.on_report(t, path.second_at(c.target_kbps()));
        ++seconds;
    }
    g_assert_cmpint(seconds, <=, 10);
    for (int s = 0; s < 20; ++s, t += kSecond)
        c.on_report(t, path.second_at(c.target_kbps()));
    g_assert_cmpint(c.target_kbps(), ==, 1500);
}

// A path for transport-wide feedback: our packets (a frame every 40 ms, cut into packets of
// at most 1200 bytes, all leaving at once as a payloader sends them) through a first-in
// first-out bottleneck of `capacity` kbit/s, `one_way_ms` beyond it. The receiver's clock
// has an origin of its own (`offset_us`): only differences of its times mean anything.
struct TwccPath {
    double capacity;
    double one_way_ms = 20;
    gint64 offset_us = 987654321;
    gint64 free_at_us = 0; // when the bottleneck has sent what it holds
    std::vector<TwccPacket> pending;

    // A frame of `kbps` * 40 ms leaving at `at_us`.
    void frame(gint64 at_us, int kbps) {
        int bytes = std::max(200, kbps * 40 / 8);
        for (int left = bytes; left > 0; left -= 1200) {
            int size = std::min(left, 1200);
            gint64 start = std::max(at_us, free_at_us);
            free_at_us = start + gint64(size * 8 * 1000.0 / capacity);
            pending.push_back(
                {at_us, free_at_us + gint64(one_way_ms * 1000) + offset_us, size, true});
        }
    }
    // What a feedback packet at `now_us` tells: everything that has arrived by then.
    std::vector<TwccPacket> feedback(gint64 now_us) {
        std::vector<TwccPacket> out;
        auto it = pending.begin();
        while (it != pending.end() && it->arrived_us - offset_us <= now_us)
            out.push_back(*it++);
        pending.erase(pending.begin(), it);
        return out;
    }
};

constexpr gint64 kFrameUs = 40 * 1000;
constexpr gint64 kFeedbackUs = 100 * 1000;

// Runs `c` for `seconds` over `path`: frames at its target, feedback every 100 ms, and a
// receiver report every second with `rtt_ms` (no loss). Returns how many decreases.
int run_twcc(BandwidthController &c, TwccPath &path, gint64 &t, double seconds, double rtt_ms) {
    int decreases = 0;
    gint64 end = t + gint64(seconds * kSecond);
    for (; t < end; t += kFrameUs) {
        path.frame(t, c.target_kbps());
        if (t % kFeedbackUs == 0)
            decreases += c.on_twcc(t, path.feedback(t)) == BweAction::Decrease;
        if (t % kSecond == 0)
            decreases += c.on_report(t, {0, rtt_ms}) == BweAction::Decrease;
    }
    return decreases;
}

void test_twcc_own_queue_decreases_with_a_steady_round_trip() {
    BandwidthController c(limits(60, 800, 800));
    TwccPath path{2000};
    gint64 t = kSecond;
    // The round trip is high from the start and stays so (a queue on the way back): the
    // round trip alone never says anything about our own queue here.
    g_assert_cmpint(run_twcc(c, path, t, 5, 400), ==, 0);
    g_assert_cmpint(c.target_kbps(), ==, 800);
    g_assert_true(c.twcc_active(t));
    g_assert_cmpfloat(c.queue_delay_ms(), <, 5);
    // The path narrows to 300: our packets queue on the way, which only one-way delays show.
    path.capacity = 300;
    gint64 capped = t;
    int decreases = 0;
    while (decreases == 0 && t < capped + 2 * kSecond)
        decreases += run_twcc(c, path, t, 0.1, 400);
    g_assert_cmpint(decreases, ==, 1);
    g_assert_cmpint(c.target_kbps(), <, 800);
    // Settled: under the capacity, with our queue short (no loss needed to find it).
    run_twcc(c, path, t, 10, 400);
    double sum = 0, worst_queue = 0;
    int n = 0;
    for (int i = 0; i < 100; ++i) {
        run_twcc(c, path, t, 0.1, 400);
        sum += c.target_kbps();
        ++n;
        worst_queue = std::max(worst_queue, c.queue_delay_ms());
        // Probing above the capacity is how room is found; the queue says when to stop.
        g_assert_cmpint(c.target_kbps(), <=, 360);
    }
    g_assert_cmpfloat(sum / n, >=, 220);
    g_assert_cmpfloat(sum / n, <=, 310);
    g_assert_cmpfloat(worst_queue, <, 150); // the bench's queue holds 200 ms
    g_assert_cmpint(c.acked_kbps(), >, 150);
    g_assert_cmpint(c.acked_kbps(), <=, 310);
}

void test_twcc_reverse_queue_is_not_ours() {
    // The other side's video fills the queue on the way back: the round trip goes from 40
    // to 450 ms while our own packets cross an empty path.
    BandwidthController c(limits(60, 800, 800));
    BandwidthController rtt_only(limits(60, 800, 800));
    TwccPath path{2000};
    gint64 t = kSecond;
    run_twcc(c, path, t, 6, 40);
    int decreases = run_twcc(c, path, t, 20, 450);
    g_assert_cmpint(decreases, ==, 0);
    g_assert_cmpint(c.target_kbps(), ==, 800);
    g_assert_true(c.delay_trend() == DelayTrend::Normal);
    // The same reports without transport-wide feedback: the round trip is all there is,
    // and it is taken for our queue.
    int rtt_decreases = 0;
    for (gint64 u = kSecond; u <= 26 * kSecond; u += kSecond)
        rtt_decreases +=
            rtt_only.on_report(u, {0, u <= 6 * kSecond ? 40.0 : 450.0}) == BweAction::Decrease;
    g_assert_cmpint(rtt_decreases, >, 0);
}

void test_twcc_jitter_without_a_queue_is_not_overuse() {
    // A wide path whose delay jitters by up to 30 ms from packet to packet (a loaded
    // machine, a Wi-Fi hop) and never builds a queue: no decrease in a minute.
    BandwidthController c(limits(60, 800, 800));
    TwccPath path{5000};
    guint32 seed = 12345;
    auto jitter = [&seed] {
        seed = seed * 1103515245 + 12345;
        return gint64((seed >> 16) % 30000);
    };
    gint64 t = kSecond;
    int decreases = 0;
    for (gint64 end = t + 60 * kSecond; t < end; t += kFrameUs) {
        path.frame(t, c.target_kbps());
        for (auto &p : path.pending)
            if (p.sent_us == t)
                p.arrived_us += jitter();
        if (t % kFeedbackUs == 0) {
            auto fb = path.feedback(t - 20 * 1000);
            std::sort(fb.begin(), fb.end(), [](const TwccPacket &a, const TwccPacket &b) {
                return a.sent_us < b.sent_us;
            });
            decreases += c.on_twcc(t, fb) == BweAction::Decrease;
        }
    }
    g_assert_cmpint(decreases, ==, 0);
    g_assert_cmpint(c.target_kbps(), ==, 800);
}

void test_twcc_decrease_goes_under_what_arrived() {
    // 800 kbit/s on a wide path, which then narrows to 400: the decrease goes to 0.85 times
    // what the receiver got over the last second, which is less than what we sent.
    BandwidthController c(limits(60, 800, 800));
    TwccPath path{2000};
    gint64 t = kSecond;
    run_twcc(c, path, t, 3, 40);
    g_assert_cmpint(c.acked_kbps(), >=, 760);
    path.capacity = 400;
    int decreases = 0;
    int acked = 0;
    while (decreases == 0 && t < 10 * kSecond) {
        acked = c.acked_kbps();
        decreases += run_twcc(c, path, t, 0.1, 40);
    }
    g_assert_cmpint(decreases, ==, 1);
    g_assert_cmpint(acked, <, 760);
    g_assert_cmpint(c.target_kbps(), <=, int(0.85 * acked * 1.02));
    g_assert_cmpint(c.target_kbps(), >=, int(0.85 * 400 * 0.9));
}

void test_twcc_stale_falls_back_to_round_trips() {
    BandwidthController c(limits(60, 800, 800));
    TwccPath path{2000};
    gint64 t = kSecond;
    run_twcc(c, path, t, 6, 40);
    g_assert_true(c.twcc_active(t));
    // The feedback stops (the peer renegotiated without it): 3 s later the round trip is
    // the delay signal again.
    t += 4 * kSecond;
    g_assert_false(c.twcc_active(t));
    g_assert_true(c.on_report(t, {0, 400}) == BweAction::Decrease);
}

void test_twcc_alone_drives_increases_and_loss() {
    // No receiver reports at all (GStreamer 1.22 as the receiver sends few next to its
    // transport-wide feedback): the feedback alone takes the rate down under a cap and
    // back up once it lifts.
    BandwidthController c(limits(60, 800, 1500));
    TwccPath path{300};
    gint64 t = kSecond;
    for (gint64 end = t + 15 * kSecond; t < end; t += kFrameUs) {
        path.frame(t, c.target_kbps());
        if (t % kFeedbackUs == 0)
            c.on_twcc(t, path.feedback(t));
    }
    g_assert_cmpint(c.target_kbps(), <=, 360);
    path.capacity = 2000;
    gint64 lifted = t;
    while (c.target_kbps() < 700 && t < lifted + 30 * kSecond) {
        path.frame(t, c.target_kbps());
        if (t % kFeedbackUs == 0)
            c.on_twcc(t, path.feedback(t));
        t += kFrameUs;
    }
    g_assert_cmpint(c.target_kbps(), >=, 700);
    g_assert_cmpint(t - lifted, <=, 10 * kSecond);
    // A second of feedback with a fifth of it lost: a decrease, and the loss is reported.
    std::vector<TwccPacket> lossy;
    for (int i = 0; i < 50; ++i) {
        gint64 sent = t + i * 20 * 1000;
        lossy.push_back({sent, i % 5 == 0 ? -1 : sent + path.offset_us + 20 * 1000, 1000, true});
    }
    int before = c.target_kbps();
    t += 2 * kSecond;
    g_assert_true(c.on_twcc(t, lossy) == BweAction::Decrease);
    g_assert_cmpint(c.target_kbps(), <, before);
    g_assert_cmpfloat(c.smoothed_loss(), >=, 0.19);
    // A clean second after it: the decisions see no loss, what is reported out (for FEC)
    // falls slowly rather than to 0 at once.
    std::vector<TwccPacket> clean;
    t += 2 * kSecond;
    for (int i = 0; i < 50; ++i) {
        gint64 sent = t + i * 20 * 1000;
        clean.push_back({sent, sent + path.offset_us + 20 * 1000, 1000, true});
    }
    c.on_twcc(t + kSecond, clean);
    g_assert_cmpfloat(c.smoothed_loss(), >, 0.1);
    g_assert_cmpfloat(c.smoothed_loss(), <, 0.195); // one feedback: 5% of the way down
}

void test_twcc_bad_feedback_changes_nothing() {
    BandwidthController c(limits(60, 800, 800));
    gint64 t = kSecond;
    g_assert_true(c.on_twcc(t, {}) == BweAction::Hold);
    g_assert_false(c.twcc_active(t));
    // Nonsense sizes and send times are not feedback.
    g_assert_true(c.on_twcc(t, {{0, 5, 1000, true},
                                {1000, 5, 0, true},
                                {1000, 5, -3, true},
                                {1000, 5, 1 << 20, true}}) == BweAction::Hold);
    g_assert_false(c.twcc_active(t));
    // Some lost; arrivals before their send; arrivals that go back; huge jumps (the
    // receiver's 24-bit reference time wrapping): read without a crash, the target within
    // its limits, no queue made up from the jumps.
    std::vector<TwccPacket> odd;
    for (int i = 0; i < 400; ++i) {
        gint64 sent = kSecond + i * 10 * 1000;
        gint64 arrived = i % 53 == 0   ? -1
                         : i % 11 == 0 ? sent - 5 * kSecond
                         : i % 13 == 0 ? sent + 1073 * kSecond
                         : i % 2 == 0  ? sent + 20 * 1000
                                       : sent + 10 * 1000;
        odd.push_back({sent, arrived, 1000, i % 3 != 0});
    }
    for (std::size_t i = 0; i < odd.size(); i += 20, t += kFeedbackUs) {
        std::vector<TwccPacket> part(odd.begin() + i, odd.begin() + std::min(odd.size(), i + 20));
        c.on_twcc(t, part);
        g_assert_cmpint(c.target_kbps(), >=, 60);
        g_assert_cmpint(c.target_kbps(), <=, 800);
        g_assert_cmpfloat(c.queue_delay_ms(), <, 100);
    }
    g_assert_true(c.twcc_active(t));
    g_assert_cmpint(c.acked_kbps(), >=, 0);
}

void test_ladder_steps() {
    PictureLadder l({640, 480, 30});
    int full_floor = l.floor_kbps(0), half_floor = l.floor_kbps(1);
    g_assert_cmpint(full_floor, >, half_floor);
    g_assert_cmpint(half_floor, >, 0);
    g_assert_cmpint(l.floor_kbps(2), ==, 0);
    g_assert_true(l.update(0, 800) == (Picture{640, 480, 30}));
    // Down at once, one or two rungs as the bitrate asks.
    g_assert_true(l.update(kSecond, full_floor - 1) == (Picture{320, 240, 30}));
    g_assert_true(l.update(2 * kSecond, half_floor - 1) == (Picture{320, 240, 15}));
    // Up only with a margin, and after a while at the lower rung.
    g_assert_true(l.update(3 * kSecond, half_floor + 1) == (Picture{320, 240, 15}));
    g_assert_true(l.update(4 * kSecond, 2 * half_floor) == (Picture{320, 240, 15}));
    g_assert_true(l.update(5 * kSecond, 2 * half_floor) == (Picture{320, 240, 30}));
    // A jump to plenty still climbs one rung at a time.
    g_assert_true(l.update(6 * kSecond, 5000) == (Picture{320, 240, 30}));
    g_assert_true(l.update(8 * kSecond, 5000) == (Picture{640, 480, 30}));
}

// A bitrate that keeps crossing the threshold: each undone step up doubles the wait for
// the next, so the size changes (a keyframe each) get rarer; a rung that holds resets it.
void test_ladder_backs_off_flapping() {
    PictureLadder l({640, 480, 30});
    const int low = l.floor_kbps(0) - 1, high = 2 * l.floor_kbps(0);
    gint64 t = 0;
    l.update(t, low); // half size
    // Count the step ups over 60 s of a bitrate alternating every second, then the waits.
    int ups = 0;
    Picture last = l.current();
    for (int s = 1; s <= 60; ++s) {
        t = s * kSecond;
        const Picture &p = l.update(t, s % 2 ? high : low);
        ups += p.width > last.width;
        last = p;
    }
    // Every 2.5 s without the back-off would be 20 step ups.
    g_assert_cmpint(ups, >=, 2);
    g_assert_cmpint(ups, <=, 6);
    // Steady plenty for long enough: back to full size, and the short wait again after.
    for (int s = 61; s <= 100; ++s)
        l.update(s * kSecond, high);
    g_assert_cmpint(l.current().width, ==, 640);
    l.update(101 * kSecond, low);
    g_assert_cmpint(l.current().width, ==, 320);
    l.update(104 * kSecond, high);
    g_assert_cmpint(l.current().width, ==, 640);
}

void test_ladder_odd_sizes_stay_even() {
    PictureLadder l({642, 362, 25});
    const Picture &p = l.update(0, 1);
    g_assert_cmpint(p.width % 2, ==, 0);
    g_assert_cmpint(p.height % 2, ==, 0);
    g_assert_cmpint(p.width, ==, 320);
    g_assert_cmpint(p.fps, ==, 12);
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/congestion/start", test_starts_within_limits);
    g_test_add_func("/congestion/heavy-loss", test_heavy_loss_decreases_to_min_not_below);
    g_test_add_func("/congestion/decrease-hold", test_one_queue_is_not_punished_twice);
    g_test_add_func("/congestion/moderate-loss", test_moderate_loss_holds);
    g_test_add_func("/congestion/clean-path", test_clean_path_grows_to_max);
    g_test_add_func("/congestion/rising-rtt", test_rising_round_trip_decreases_without_loss);
    g_test_add_func("/congestion/lasting-queue", test_lasting_queue_becomes_the_base);
    g_test_add_func("/congestion/lasting-queue-with-loss", test_lasting_queue_with_loss_is_ours);
    g_test_add_func("/congestion/decrease-to-remb", test_decrease_goes_to_the_remb);
    g_test_add_func("/congestion/remb-estimate", test_remb_is_not_the_estimate);
    g_test_add_func("/congestion/sent-rate", test_decrease_starts_from_what_was_sent);
    g_test_add_func("/congestion/bad-reports", test_bad_reports_change_nothing);
    g_test_add_func("/congestion/report-silence", test_report_silence_decreases);
    g_test_add_func("/congestion/remb", test_remb_caps_the_target);
    g_test_add_func("/congestion/bottleneck", test_follows_a_bottleneck_and_recovers);
    g_test_add_func("/congestion/twcc-own-queue",
                    test_twcc_own_queue_decreases_with_a_steady_round_trip);
    g_test_add_func("/congestion/twcc-reverse-queue", test_twcc_reverse_queue_is_not_ours);
    g_test_add_func("/congestion/twcc-acked", test_twcc_decrease_goes_under_what_arrived);
    g_test_add_func("/congestion/twcc-jitter", test_twcc_jitter_without_a_queue_is_not_overuse);
    g_test_add_func("/congestion/twcc-stale", test_twcc_stale_falls_back_to_round_trips);
    g_test_add_func("/congestion/twcc-alone", test_twcc_alone_drives_increases_and_loss);
    g_test_add_func("/congestion/twcc-bad-feedback", test_twcc_bad_feedback_changes_nothing);
    g_test_add_func("/congestion/ladder", test_ladder_steps);
    g_test_add_func("/congestion/ladder-flapping", test_ladder_backs_off_flapping);
    g_test_add_func("/congestion/ladder-even", test_ladder_odd_sizes_stay_even);
    return g_test_run();
}
