// SPDX-License-Identifier: MIT
// Fault tests with real processes: a peer killed mid-call, the server killed mid-call, and a
// call across an impaired link between network namespaces, measured through `stats`.
#include "harness.h"
#include "impaired_link.h"
#include "peer_harness.h"

#include <glib.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <unistd.h>

using namespace duet::testing;

namespace {

// Product requirements (issue 5): after a kill -9 the other side hears of it, and a
// restarted peer is back in the call with media flowing, each within this.
constexpr gint64 kFaultBoundMs = 5000;
// While the server is down the call must keep its media for at least this long.
constexpr unsigned kServerDownMs = 10000;
// Under 5% loss and 100 ms delay each way video must keep at least this frame rate.
constexpr double kMinImpairedFps = 15;
// The total outage the impaired call must recover from.
constexpr unsigned kOutageMs = 3000;
// How long the frame rate under impairment is measured over: long enough that one stall
// for a keyframe (a lost packet whose NACK and retransmission were both lost, ~1 in 100
// at 5% each way) does not decide the mean. Measured, the lower of the two sides: 14-32 fps
// over 5 s in 22 runs, 24-31 fps over 10 s in 5 runs.
constexpr unsigned kImpairedWindowMs = 10000;
// Not a requirement, a bound: how long recovery after that outage may take before we call
// it broken (keyframe request round trips over a 200 ms RTT, on a loaded machine).
constexpr unsigned kRecoverBoundMs = 10000;
// After a restart the backoff may already be at its 10 s cap (jittered): reconnecting can
// take that long plus a join.
constexpr unsigned kRejoinTimeoutMs = 25000;
// Stats period where recoveries are timed: to a quarter of a second.
constexpr const char *kFineStatsMs = "250";
// Stats period where "fps > 0" is judged: the default, so that a rate is over a second, as
// people read fps (a quarter second with no frame is scheduling on a loaded machine).
constexpr unsigned kStatsMs = 1000;

gint64 now_ms() {
    return g_get_monotonic_time() / 1000;
}

int room_serial = 0;
std::string fresh_room(const char *what) {
    return std::string(what) + "-" + std::to_string(getpid()) + "-" + std::to_string(++room_serial);
}

bool stats_for(const std::string &e, const std::string &peer) {
    return json_str(e, "event") == "stats" && json_str(e, "peer") == peer;
}

// The latest `stats` line about `peer` (at index >= from), or "".
std::string last_stats(const PeerProcess &p, const std::string &peer, std::size_t from = 0) {
    const auto &ev = p.events();
    for (std::size_t i = ev.size(); i-- > from;)
        if (stats_for(ev[i], peer))
            return ev[i];
    return {};
}

// Waits for a `stats` line about `peer` after `from` whose video count is above `frames`.
std::string wait_frames_above(PeerProcess &p, const std::string &peer, double frames,
                              unsigned timeout_ms, std::size_t from) {
    return p.wait_event(
        "stats",
        [&](const std::string &e) {
            return json_str(e, "peer") == peer && json_num(e, "video_frames") > frames;
        },
        timeout_ms, from);
}

// The last few event lines of a peer, for the log of a failed wait: when one side stops
// hearing the other, what the sender said it sent tells a stalled sender from a lost path.
void print_recent_events(const char *who, const PeerProcess &p, std::size_t n = 6) {
    const auto &ev = p.events();
    g_printerr("last %zu of %zu events of %s:\n", std::min(n, ev.size()), ev.size(), who);
    for (std::size_t i = ev.size() > n ? ev.size() - n : 0; i < ev.size(); ++i)
        g_printerr("  %s\n", ev[i].c_str());
}

// Media really flows from `peer` to `p` now: two stats lines with rising video counts.
// `sender` (the process behind `peer`, when the test has it) is described on failure.
void assert_video_flowing(PeerProcess &p, const std::string &peer,
                          const PeerProcess *sender = nullptr) {
    std::string a = wait_frames_above(p, peer, 0, kMediaTimeoutMs, p.mark());
    std::string b;
    if (!a.empty())
        b = wait_frames_above(p, peer, json_num(a, "video_frames"), kMediaTimeoutMs, p.mark());
    if (b.empty()) {
        print_recent_events("the receiver", p);
        if (sender)
            print_recent_events("the sender", *sender);
    }
    g_assert_false(a.empty());
    g_assert_false(b.empty());
}

// A call with `stats` events every `stats_ms`, video seen rising on both sides.
Pair flowing_pair(const std::string &ws_url, const std::string &room, const char *stats_ms,
                  std::vector<std::string> extra = {}, std::vector<std::string> prefix_a = {},
                  std::vector<std::string> prefix_b = {}) {
    std::vector<std::string> args{"--stats-interval", stats_ms};
    args.insert(args.end(), extra.begin(), extra.end());
    Pair p = duet::testing::connected_pair(ws_url, room,
                                           {.a_args = args,
                                            .b_args = args,
                                            .a_prefix = std::move(prefix_a),
                                            .b_prefix = std::move(prefix_b)});
    assert_video_flowing(*p.a, p.b_id, p.b.get());
    assert_video_flowing(*p.b, p.a_id, p.a.get());
    return p;
}

// ---- a peer killed mid-call ----

void test_killed_peer() {
    ServerProcess server;
    std::string room = fresh_room("killed");
    Pair p = flowing_pair(server.ws_url(), room, kFineStatsMs);
    std::size_t mark = p.a->mark();
    gint64 t_kill = now_ms();
    p.b->send_signal(SIGKILL);
    std::string left = p.a->wait_event(
        "peer-left", [&](const std::string &e) { return json_str(e, "peer") == p.b_id; },
        kFaultBoundMs, mark);
    gint64 left_ms = now_ms() - t_kill;
    g_assert_false(left.empty());
    check_str_eq(json_str(left, "reason"), "dropped");
    g_assert_true(p.b->wait_exit());
    g_assert_cmpint(p.b->exit_status(), ==, -SIGKILL);

    // The restart, as a supervisor would do it: same state directory, so same seat.
    mark = p.a->mark();
    gint64 t_start = now_ms();
    PeerProcess b2("killed-b2-" + room, server.ws_url(), room, {"--stats-interval", kFineStatsMs});
    std::string joined = b2.wait_event("joined", {}, kFaultBoundMs);
    gint64 seat_ms = now_ms() - t_start;
    g_assert_false(joined.empty());
    check_str_eq(json_str(joined, "id"), p.b_id);
    g_assert_true(json_bool(joined, "resumed"));
    // Media both ways, each checked from after the decoder, within the bound from restart.
    auto remaining = [&] {
        return unsigned(std::max<gint64>(0, kFaultBoundMs - (now_ms() - t_start)));
    };
    g_assert_false(p.a->wait_first_frame("video", p.b_id, mark, remaining()).empty());
    g_assert_false(b2.wait_first_frame("video", p.a_id, 0, remaining()).empty());
    gint64 media_ms = now_ms() - t_start;
    g_test_message("killed peer: peer-left after %" G_GINT64_FORMAT " ms; restarted peer had "
                   "its seat after %" G_GINT64_FORMAT
                   " ms and video both ways after %" G_GINT64_FORMAT " ms",
                   left_ms, seat_ms, media_ms);
    g_assert_cmpint(left_ms, <=, kFaultBoundMs);
    g_assert_cmpint(media_ms, <=, kFaultBoundMs);
    // And it keeps flowing on the new call.
    assert_video_flowing(*p.a, p.b_id);
    assert_video_flowing(b2, p.a_id);
}

// ---- the server killed mid-call ----

// Over [from, end of events) of `p`: every stats line about `peer` shows video decoding,
// on the same call, and the count grows by at least `min_frames`. Returns frames decoded.
double assert_kept_decoding(const PeerProcess &p, const std::string &peer, std::size_t from,
                            double min_frames, const char *who) {
    double first = -1, last = -1;
    int lines = 0;
    bool ok = true;
    for (std::size_t i = from; i < p.events().size(); ++i) {
        const std::string &e = p.events()[i];
        if (json_str(e, "event") == "first-frame" || json_str(e, "event") == "connected") {
            g_printerr("%s: a new call started while the server was down: %s\n", who, e.c_str());
            ok = false;
        }
        if (!stats_for(e, peer))
            continue;
        ++lines;
        double frames = json_num(e, "video_frames");
        if (first < 0)
            first = frames;
        if (json_num(e, "video_fps") <= 0 || frames < last || json_str(e, "state") != "connected") {
            g_printerr("%s: video stalled while the server was down: %s\n", who, e.c_str());
            ok = false;
        }
        last = frames;
    }
    g_test_message("%s: %d stats lines, %.0f frames decoded in %u ms without the server", who,
                   lines, last - first, kServerDownMs);
    if (!ok)
        p.print_log_tail(10);
    g_assert_true(ok);
    // One line a second; a loaded machine may delay some.
    g_assert_cmpint(lines, >=, int(kServerDownMs / kStatsMs / 2));
    g_assert_cmpfloat(last - first, >=, min_frames);
    return last - first;
}

void test_killed_server() {
    auto server = std::make_unique<ServerProcess>();
    std::string url = server->ws_url(), port = server->port();
    std::string room = fresh_room("server-killed");
    Pair p = flowing_pair(url, room, std::to_string(kStatsMs).c_str());
    std::size_t ma = p.a->mark(), mb = p.b->mark();
    server->kill_hard();
    gint64 t_kill = now_ms();
    g_assert_false(p.a->wait_event("reconnecting", {}, kFaultBoundMs, ma).empty());
    g_assert_false(p.b->wait_event("reconnecting", {}, kFaultBoundMs, mb).empty());
    // The observation window is the requirement itself: a fixed stretch without a server.
    wait_until([] { return false; },
               unsigned(std::max<gint64>(0, kServerDownMs - (now_ms() - t_kill))));
    // 10 s at 15 fps sent; demand at least a third of it decoded, and no stall at all.
    double fa = assert_kept_decoding(*p.a, p.b_id, ma, 50, "a");
    double fb = assert_kept_decoding(*p.b, p.a_id, mb, 50, "b");
    for (auto *peer : {p.a.get(), p.b.get()}) {
        int attempts = 0;
        for (std::size_t i = peer == p.a.get() ? ma : mb; i < peer->events().size(); ++i) {
            const std::string &e = peer->events()[i];
            g_assert_true(json_str(e, "event") != "joined");
            if (json_str(e, "event") == "reconnecting") {
                ++attempts;
                g_assert_cmpfloat(json_num(e, "delay_ms"), <=, 10000); // capped
            }
        }
        g_assert_cmpint(attempts, >=, 3); // it keeps trying, backing off
    }

    ma = p.a->mark();
    mb = p.b->mark();
    gint64 t_restart = now_ms();
    server = std::make_unique<ServerProcess>(std::vector<std::string>{"--port", port});
    check_str_eq(server->ws_url(), url);
    // The new server knows no tokens: both join as new people and the newcomer offers.
    std::string ja = p.a->wait_event("joined", {}, kRejoinTimeoutMs, ma);
    std::string jb = p.b->wait_event("joined", {}, kRejoinTimeoutMs, mb);
    g_assert_false(ja.empty());
    g_assert_false(jb.empty());
    std::string a2 = json_str(ja, "id"), b2 = json_str(jb, "id");
    for (const char *kind : {"video", "audio"}) {
        g_assert_false(p.a->wait_first_frame(kind, b2, ma).empty());
        g_assert_false(p.b->wait_first_frame(kind, a2, mb).empty());
    }
    gint64 back_ms = now_ms() - t_restart;
    assert_video_flowing(*p.a, b2);
    assert_video_flowing(*p.b, a2);
    g_test_message("killed server: over %u ms without it, a decoded %.0f frames from b and b "
                   "%.0f from a; after the restart both were back in a call with media in "
                   "%" G_GINT64_FORMAT " ms",
                   kServerDownMs, fa, fb, back_ms);
}

// ---- an impaired link between two network namespaces ----

// Mean decoded video rate from `peer` over [from, end): first to last stats line, by the
// peer's own clock (t_ms).
double mean_fps(const PeerProcess &p, const std::string &peer, std::size_t from) {
    std::string first, last;
    for (std::size_t i = from; i < p.events().size(); ++i)
        if (stats_for(p.events()[i], peer)) {
            if (first.empty())
                first = p.events()[i];
            last = p.events()[i];
        }
    double dt = (json_num(last, "t_ms") - json_num(first, "t_ms")) / 1000;
    if (first.empty() || dt <= 0)
        return 0;
    return (json_num(last, "video_frames") - json_num(first, "video_frames")) / dt;
}

// Waits until `peer`'s video count at `p` rises above its count at index `from`; returns
// how long that took, or -1.
gint64 time_to_recover(PeerProcess &p, const std::string &peer, std::size_t from, gint64 t0) {
    double before = json_num(last_stats(p, peer), "video_frames");
    if (wait_frames_above(p, peer, before, kRecoverBoundMs, from).empty())
        return -1;
    return now_ms() - t0;
}

// A step that must work, with its reason in the failure.
void check_ok(const duet::Result<void> &r) {
    if (!r)
        g_error("%s", r.message().c_str());
}

void test_impaired_link() {
    if (auto usable = ImpairedLink::available(); !usable) {
        g_test_skip(usable.message().c_str());
        return;
    }
    auto made = ImpairedLink::create(5, 100);
    if (!made) {
        g_test_fail_printf("cannot set up the impaired link: %s", made.message().c_str());
        return;
    }
    std::unique_ptr<ImpairedLink> link = std::move(made).value();
    g_test_message("impaired link: %s", link->how());
    // The server on side a's address: b's signaling crosses the impaired link too.
    ServerProcess server({"--host", link->ip_a()}, {}, link->in_a());
    std::string room = fresh_room("netem");
    // 30 fps, so that 15 fps decoded is a margin to hold and not the ceiling. Lost packets
    // are repaired by NACK/RTX only within the jitter buffer's latency: with a 200 ms round
    // trip, 400 ms leaves room for one request (measured 12-30 fps on a loaded machine),
    // 600 ms for two (21-32 fps), so 600.
    Pair p = flowing_pair(server.ws_url(), room, kFineStatsMs,
                          {"--fps", "30", "--latency-ms", "600"}, link->in_a(), link->in_b());
    // Steady state under 5% loss and 100 ms delay each way.
    std::size_t ma = p.a->mark(), mb = p.b->mark();
    wait_until([] { return false; }, kImpairedWindowMs);
    double fps_a = mean_fps(*p.a, p.b_id, ma), fps_b = mean_fps(*p.b, p.a_id, mb);
    g_test_message("loss 5%%, delay 100 ms each way: a decodes %.1f fps from b, b %.1f fps "
                   "from a, over %u ms",
                   fps_a, fps_b, kImpairedWindowMs);
    g_assert_cmpfloat(fps_a, >=, kMinImpairedFps);
    g_assert_cmpfloat(fps_b, >=, kMinImpairedFps);
    // RED/ULPFEC: each side adds FEC for the loss the other reports, beside NACK/RTX. (How
    // many packets the other rebuilds from it is printed, not asserted: rtpulpfecdec acts
    // only on a packet the jitter buffer gave up on, and with 600 ms of latency for a 200
    // ms round trip retransmissions repair nearly all of them first.)
    std::string sa = last_stats(*p.a, p.b_id), sb = last_stats(*p.b, p.a_id);
    g_test_message("FEC: a sends %.0f%% and rebuilt %.0f packets of b's, b sends %.0f%% and "
                   "rebuilt %.0f of a's",
                   json_num(sa, "send_fec"), json_num(sa, "fec_recovered"),
                   json_num(sb, "send_fec"), json_num(sb, "fec_recovered"));
    g_assert_cmpfloat(json_num(sa, "send_fec"), >, 0);
    g_assert_cmpfloat(json_num(sb, "send_fec"), >, 0);

    // A total outage, then the impaired link again.
    check_ok(link->set_loss(100));
    wait_until([] { return false; }, kOutageMs);
    ma = p.a->mark();
    mb = p.b->mark();
    check_ok(link->set_loss(5));
    gint64 t_back = now_ms();
    gint64 rec_a = time_to_recover(*p.a, p.b_id, ma, t_back);
    gint64 rec_b = time_to_recover(*p.b, p.a_id, mb, t_back);
    g_assert_cmpint(rec_a, >=, 0);
    g_assert_cmpint(rec_b, >=, 0);
    // Recovered means the old rate again, not a trickle.
    std::size_t ra = p.a->mark(), rb = p.b->mark();
    wait_until([] { return false; }, kImpairedWindowMs);
    double after_a = mean_fps(*p.a, p.b_id, ra), after_b = mean_fps(*p.b, p.a_id, rb);
    g_test_message("after a %u ms outage: new frames at a after %" G_GINT64_FORMAT
                   " ms, at b after %" G_GINT64_FORMAT " ms; then %.1f and %.1f fps",
                   kOutageMs, rec_a, rec_b, after_a, after_b);
    g_assert_cmpfloat(after_a, >=, kMinImpairedFps);
    g_assert_cmpfloat(after_b, >=, kMinImpairedFps);
    // The call survived: no failure, no new call.
    for (auto *peer : {p.a.get(), p.b.get()})
        for (const auto &e : peer->events())
            g_assert_true(json_str(e, "event") != "error");
}

// Bandwidth adaptation (issue 14): a 300 kbit/s bottleneck, then plenty.
constexpr unsigned kCapKbps = 300;
constexpr unsigned kWideKbps = 2000;
// Bounds, not targets (the bench measures those): how long the controller may take to
// get under the cap, and to set the encoder back above kRiseKbps once the cap has gone.
// (The encoder's target, not what it sends: the test picture needs only ~300 kbit/s.)
constexpr unsigned kAdaptBoundMs = 15000;
constexpr unsigned kRecoverRateBoundMs = 25000;
constexpr double kRiseKbps = 600;
// How long video must keep flowing under the cap, and at what rate at least: a frozen
// picture (a stall waiting for a keyframe) fails, a lower frame rate by choice does not.
constexpr unsigned kCappedWindowMs = 6000;
constexpr double kMinCappedFps = 5;

// The next `stats` line (at index >= from) about `peer` whose sent video matches `pred`.
std::string wait_send(PeerProcess &p, const std::string &peer, std::size_t from,
                      unsigned timeout_ms, const std::function<bool(double, double)> &pred) {
    return p.wait_event(
        "stats",
        [&](const std::string &e) {
            return json_str(e, "peer") == peer &&
                   pred(json_num(e, "send_kbps"), json_num(e, "sent_kbps"));
        },
        timeout_ms, from);
}

void test_rate_cap() {
    if (auto usable = ImpairedLink::available(); !usable) {
        g_test_skip(usable.message().c_str());
        return;
    }
    auto made = ImpairedLink::create(0, 20);
    if (!made) {
        g_test_fail_printf("cannot set up the link: %s", made.message().c_str());
        return;
    }
    std::unique_ptr<ImpairedLink> link = std::move(made).value();
    g_test_message("rate-capped link: %s", link->how());
    ServerProcess server({"--host", link->ip_a()}, {}, link->in_a());
    // 640x480@30 at up to 800 kbit/s: well over the cap, so it has to adapt.
    Pair p = flowing_pair(server.ws_url(), fresh_room("ratecap"), "500",
                          {"--latency-ms", "200", "--size", "640x480", "--fps", "30"}, link->in_a(),
                          link->in_b());
    struct Side {
        PeerProcess *sender, *receiver;
        std::string to, from; // the sender's peer id for the receiver, and the receiver's
    };
    Side sides[] = {{p.a.get(), p.b.get(), p.b_id, p.a_id}, {p.b.get(), p.a.get(), p.a_id, p.b_id}};
    // Uncapped, each encodes at its --video-bitrate; with the audio and packet overhead
    // that is more than the cap carries.
    for (auto &s : sides)
        g_assert_false(
            wait_send(*s.sender, s.to, s.sender->mark(), kMediaTimeoutMs,
                      [](double target, double sent) { return target >= 700 && sent > 0; })
                .empty());

    check_ok(link->set_rate(kCapKbps));
    gint64 t_cap = now_ms();
    for (auto &s : sides) {
        // Video goes under the cap (with room for the audio and the packet overhead).
        std::string under = wait_send(*s.sender, s.to, s.sender->mark(), kAdaptBoundMs,
                                      [](double target, double sent) {
                                          return target < kCapKbps && sent > 0 && sent < kCapKbps;
                                      });
        g_assert_false(under.empty());
        g_test_message("under the cap after %" G_GINT64_FORMAT " ms: %s", now_ms() - t_cap,
                       under.c_str());
    }
    // ... and keeps flowing there.
    std::size_t ma = p.a->mark(), mb = p.b->mark();
    wait_until([] { return false; }, kCappedWindowMs);
    double fps_a = mean_fps(*p.a, p.b_id, ma), fps_b = mean_fps(*p.b, p.a_id, mb);
    g_test_message("under %u kbit/s: a decodes %.1f fps, b %.1f fps; a sends %s", kCapKbps, fps_a,
                   fps_b, last_stats(*p.a, p.b_id).c_str());
    g_assert_cmpfloat(fps_a, >=, kMinCappedFps);
    g_assert_cmpfloat(fps_b, >=, kMinCappedFps);
    // What each sent over that window stayed under the cap. (The encoder's target may
    // probe above it for a moment: a simple picture does not fill it.)
    for (auto &s : sides) {
        std::size_t from = &s == &sides[0] ? ma : mb;
        double sum = 0;
        int n = 0;
        for (std::size_t i = from; i < s.sender->events().size(); ++i)
            if (stats_for(s.sender->events()[i], s.to)) {
                sum += json_num(s.sender->events()[i], "sent_kbps");
                ++n;
            }
        g_assert_cmpint(n, >, 0);
        g_test_message("mean video sent under the cap: %.0f kbit/s", sum / n);
        g_assert_cmpfloat(sum / n, <, kCapKbps);
    }

    check_ok(link->set_rate(kWideKbps));
    gint64 t_wide = now_ms();
    for (auto &s : sides) {
        std::string up = wait_send(*s.sender, s.to, s.sender->mark(), kRecoverRateBoundMs,
                                   [](double target, double) { return target >= kRiseKbps; });
        g_assert_false(up.empty());
        g_test_message("encoder above %.0f kbit/s %" G_GINT64_FORMAT " ms after the cap went: %s",
                       kRiseKbps, now_ms() - t_wide, up.c_str());
    }
    for (auto *peer : {p.a.get(), p.b.get()})
        for (const auto &e : peer->events())
            g_assert_true(json_str(e, "event") != "error");
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/faults/killed-peer", test_killed_peer);
    g_test_add_func("/faults/killed-server", test_killed_server);
    g_test_add_func("/faults/impaired-link", test_impaired_link);
    g_test_add_func("/faults/rate-cap", test_rate_cap);
    return finish_tests(g_test_run());
}
