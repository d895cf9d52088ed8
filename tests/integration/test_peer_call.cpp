// SPDX-License-Identifier: MIT
// duet-peer end to end on loopback: real server, real peer processes, real media.
#include "harness.h"
#include "peer_harness.h"

#include <fstream>

#include <glib.h>

#include <glib/gstdio.h>

#include <csignal>
#include <cstring>
#include <memory>

using namespace duet::testing;

namespace {

// A peer that leaves cleanly is announced to the other side by the server at once; this
// bound only absorbs scheduling on a loaded machine.
constexpr unsigned kPromptMs = 3000;

int room_serial = 0;
std::string fresh_room(const char *what) {
    return std::string(what) + "-" + std::to_string(++room_serial);
}

// Every stdout line is one JSON object with an `event` field (nothing else on stdout).
void assert_clean_event_stream(const PeerProcess &p) {
    for (const auto &line : p.events())
        g_assert_false(json_str(line, "event").empty());
}

// Two peers in a room, each having decoded video and audio from the other.
Pair connected_pair(const ServerProcess &server, const std::string &room,
                    std::vector<std::string> a_extra = {}) {
    return duet::testing::connected_pair(server.ws_url(), room, {.a_args = std::move(a_extra)});
}

void test_usage_errors() {
    struct Case {
        std::vector<std::string> args;
        const char *why;
    } cases[] = {
        {{"--server", "ws://127.0.0.1:9/ws"}, "no --room"},
        {{"--room", "x", "--server", "http://127.0.0.1:9/ws"}, "http URL"},
        {{"--room", "x", "--server", "not a url"}, "garbage URL"},
        {{"--room", "   "}, "blank room"},
        {{"--room", "x", "--size", "640"}, "bad size"},
        {{"--room", "x", "--sink", "tv"}, "bad sink"},
        {{"--room", "x", "--bogus"}, "unknown flag"},
    };
    for (const auto &c : cases) {
        std::vector<const char *> argv{peer_path()};
        for (const auto &a : c.args)
            argv.push_back(a.c_str());
        argv.push_back(nullptr);
        GError *err = nullptr;
        GSubprocess *p = g_subprocess_newv(argv.data(), G_SUBPROCESS_FLAGS_STDERR_SILENCE, &err);
        g_assert_no_error(err);
        g_assert_true(g_subprocess_wait(p, nullptr, nullptr));
        if (g_subprocess_get_exit_status(p) != 2)
            g_printerr("case '%s' exited %d\n", c.why, g_subprocess_get_exit_status(p));
        g_assert_cmpint(g_subprocess_get_exit_status(p), ==, 2);
        g_object_unref(p);
    }
}

// No server: clear retries with growing delays, then exit 1 once --connect-timeout passes.
void test_unreachable_server_gives_up() {
    // Port 9 (discard) on loopback is closed on any normal machine: connection refused.
    PeerProcess p("unreachable", "ws://127.0.0.1:9/ws", "nowhere", {"--connect-timeout", "2"});
    std::string first = p.wait_event("reconnecting", {}, kJoinTimeoutMs);
    g_assert_false(first.empty());
    g_assert_true(p.wait_exit());
    g_assert_cmpint(p.exit_status(), ==, 1);
    std::string err = p.wait_event("error", {}, 100);
    check_str_eq(json_str(err, "code").c_str(), "signaling");
    int retries = 0;
    for (const auto &e : p.events())
        retries += json_str(e, "event") == "reconnecting";
    g_assert_cmpint(retries, >=, 2);
}

// A camera asked for by name that is not there is a runtime failure, said clearly, at once.
void test_missing_camera_fails() {
    PeerProcess p("no-camera", "ws://127.0.0.1:9/ws", "r",
                  {"--video-source", "camera", "--video-device", "/dev/video-none"});
    g_assert_true(p.wait_exit());
    g_assert_cmpint(p.exit_status(), ==, 1);
    std::string err = p.wait_event("error", {}, 100);
    check_str_eq(json_str(err, "code"), "media");
    g_assert_nonnull(strstr(json_str(err, "message").c_str(), "/dev/video-none"));
}

// An explicit libcamera with no libcamera camera (or no libcamerasrc) is the same clear
// failure, never a silent switch to v4l2 or the test picture.
void test_missing_libcamera_fails() {
    PeerProcess p("no-libcamera", "ws://127.0.0.1:9/ws", "r",
                  {"--video-source", "libcamera", "--connect-timeout", "1"});
    g_assert_true(p.wait_exit());
    g_assert_cmpint(p.exit_status(), ==, 1);
    std::string err = p.wait_event("error", {}, 100);
    std::string code = json_str(err, "code"), msg = json_str(err, "message");
    if (code == "signaling") {
        g_test_skip("a libcamera camera is attached here, so there is no missing one to report");
        return;
    }
    if (code == "missing-plugins") {
        g_assert_nonnull(strstr(msg.c_str(), "libcamerasrc (in gstreamer1.0-libcamera)"));
        return;
    }
    check_str_eq(code, "media");
    g_assert_true(g_str_has_prefix(msg.c_str(), "libcamera camera not usable: "));
}

// With no GStreamer plugins at all, duet-peer names what is missing and where to get it.
void test_missing_plugins_listed() {
    std::string empty = scratch_dir() + "/no-plugins";
    g_mkdir_with_parents(empty.c_str(), 0700);
    PeerProcess p("no-plugins", "ws://127.0.0.1:9/ws", "r", {},
                  {"GST_PLUGIN_SYSTEM_PATH_1_0=" + empty, "GST_PLUGIN_PATH_1_0=" + empty,
                   // A private registry: the user's cached one must not be rewritten.
                   "GST_REGISTRY_1_0=" + scratch_dir() + "/empty-registry.bin"});
    g_assert_true(p.wait_exit());
    g_assert_cmpint(p.exit_status(), ==, 1);
    std::string err = p.wait_event("error", {}, 100);
    check_str_eq(json_str(err, "code"), "missing-plugins");
    std::string msg = json_str(err, "message");
    for (const char *needle :
         {"webrtcbin (in gstreamer1.0-plugins-bad)", "nicesrc (in gstreamer1.0-nice)",
          "vp8enc (in gstreamer1.0-plugins-good)", "opusenc (in gstreamer1.0-plugins-base)",
          "apt-get install"})
        g_assert_nonnull(strstr(msg.c_str(), needle));
}

void test_call_both_ways() {
    ServerProcess server;
    Pair p = connected_pair(server, fresh_room("call"));
    g_assert_false(p.a->wait_event("connected", {}, 100).empty());
    g_assert_false(p.b->wait_event("connected", {}, 100).empty());
    check_str_eq(json_str(p.a->wait_event("peer-joined", {}, 100), "peer").c_str(), p.b_id.c_str());
    assert_clean_event_stream(*p.a);
    assert_clean_event_stream(*p.b);
    g_test_message("first frames: a from b %s; b from a %s",
                   p.a->wait_first_frame("video", p.b_id, 0, 100).c_str(),
                   p.b->wait_first_frame("video", p.a_id, 0, 100).c_str());
}

// The joiner takes its seat only once its pipeline is warm (its DTLS key exists), so the
// one waiting sees it arrive when a call can start at once: in its log the warm-up comes
// before the join, and the first join only once connected.
void test_joins_once_warm() {
    ServerProcess server;
    Pair p = connected_pair(server, fresh_room("warm"));
    for (auto *peer : {p.a.get(), p.b.get()}) {
        std::ifstream in(peer->log_path());
        std::string line;
        std::size_t n = 0, warm = 0, join = 0;
        while (std::getline(in, line)) {
            ++n;
            if (!warm && line.find("media pipeline warm") != std::string::npos)
                warm = n;
            if (!join && line.find("joining room") != std::string::npos)
                join = n;
        }
        if (!warm || !join || warm > join)
            g_error("%s: expected the warm-up (line %zu) before the join (line %zu)",
                    peer->log_path().c_str(), warm, join);
    }
}

void test_third_peer_room_full() {
    ServerProcess server;
    std::string room = fresh_room("full");
    PeerProcess a("full-a", server.ws_url(), room), b("full-b", server.ws_url(), room);
    joined_id(a);
    joined_id(b);
    PeerProcess c("full-c", server.ws_url(), room);
    g_assert_true(c.wait_exit());
    g_assert_cmpint(c.exit_status(), ==, 3);
    std::string err = c.wait_event("error", {}, 100);
    check_str_eq(json_str(err, "code").c_str(), "room-full");
    // The two inside are untouched.
    g_assert_false(a.exited());
    g_assert_false(b.exited());
}

void test_sigterm_leaves_promptly() {
    ServerProcess server;
    Pair p = connected_pair(server, fresh_room("term"));
    std::size_t mark = p.b->mark();
    gint64 t0 = g_get_monotonic_time();
    p.a->send_signal(SIGTERM);
    std::string left = p.b->wait_event(
        "peer-left", [&](const std::string &e) { return json_str(e, "peer") == p.a_id; }, kPromptMs,
        mark);
    g_assert_false(left.empty());
    check_str_eq(json_str(left, "reason").c_str(), "left");
    g_test_message("peer-left after %" G_GINT64_FORMAT " ms", (g_get_monotonic_time() - t0) / 1000);
    g_assert_true(p.a->wait_exit());
    g_assert_cmpint(p.a->exit_status(), ==, 0);
    // The one left behind waits for the next person; it does not exit.
    g_assert_false(p.b->exited());
}

void test_duration_exits_zero() {
    ServerProcess server;
    // Longer than the wait for a warm pipeline before joining (at most 3 s, see KIOSK.md):
    // with 1 s, a loaded machine left before it had joined, and the test saw no `joined`.
    PeerProcess p("duration", server.ws_url(), fresh_room("duration"), {"--duration", "4"});
    joined_id(p);
    g_assert_true(p.wait_exit());
    g_assert_cmpint(p.exit_status(), ==, 0);
}

// A peer that dies (SIGKILL) and is started again gets back into the call: it finds its
// resume token from the earlier run, reclaims its held seat (same id) and offers; the
// survivor replaces its old webrtcbin with a fresh one and media flows again.
void test_killed_peer_rejoins() {
    ServerProcess server;
    std::string room = fresh_room("kill");
    Pair p = connected_pair(server, room);
    std::size_t mark = p.a->mark();
    p.b->send_signal(SIGKILL);
    g_assert_true(p.b->wait_exit());
    std::string dropped = p.a->wait_event(
        "peer-left", [&](const std::string &e) { return json_str(e, "peer") == p.b_id; }, kPromptMs,
        mark);
    check_str_eq(json_str(dropped, "reason").c_str(), "dropped");
    PeerProcess b2("kill-b2", server.ws_url(), room);
    std::string joined = b2.wait_event("joined", {}, kJoinTimeoutMs);
    check_str_eq(json_str(joined, "id").c_str(), p.b_id.c_str());
    g_assert_true(json_bool(joined, "resumed"));
    std::string back = p.a->wait_event("peer-joined", {}, kPromptMs, mark);
    g_assert_true(json_bool(back, "resumed"));
    for (const char *kind : {"video", "audio"}) {
        g_assert_false(p.a->wait_first_frame(kind, p.b_id, mark).empty());
        g_assert_false(b2.wait_first_frame(kind, p.a_id).empty());
    }
}

// Two processes holding one resume token: the server gives the seat to the newer one and
// closes the older one's socket with 4001. The older one must exit 1, not reconnect (or
// the two would take the seat from each other forever).
void test_seat_taken_by_newer_connection() {
    ServerProcess server;
    std::string room = fresh_room("replaced");
    std::string dir1 = scratch_dir() + "/replaced-1", dir2 = scratch_dir() + "/replaced-2";
    PeerProcess first("replaced-1", server.ws_url(), room, {"--state-dir", dir1});
    std::string id = joined_id(first);
    // Clone its identity: the same slot file in another state directory.
    GDir *d = g_dir_open(dir1.c_str(), 0, nullptr);
    g_assert_nonnull(d);
    g_mkdir_with_parents(dir2.c_str(), 0700);
    int copied = 0;
    while (const char *name = g_dir_read_name(d)) {
        gchar *data = nullptr;
        gsize len = 0;
        g_assert_true(g_file_get_contents((dir1 + "/" + name).c_str(), &data, &len, nullptr));
        g_assert_cmpuint(len, >, 0);
        g_assert_true(g_file_set_contents((dir2 + "/" + name).c_str(), data, gssize(len), nullptr));
        g_free(data);
        ++copied;
    }
    g_dir_close(d);
    g_assert_cmpint(copied, ==, 1);

    PeerProcess second("replaced-2", server.ws_url(), room, {"--state-dir", dir2});
    std::string joined = second.wait_event("joined", {}, kJoinTimeoutMs);
    check_str_eq(json_str(joined, "id"), id);
    g_assert_true(json_bool(joined, "resumed"));
    g_assert_true(first.wait_exit());
    g_assert_cmpint(first.exit_status(), ==, 1);
    check_str_eq(json_str(first.wait_event("error", {}, 100), "code"), "replaced");
    for (const auto &e : first.events())
        g_assert_true(json_str(e, "event") != "reconnecting");
    g_assert_false(second.exited());
}

// The recording peer keeps running after the other side leaves: the file is finished at
// that point (and the peer, waiting for the next person, is unharmed), then it exits 0.
void test_record_webm() {
    ServerProcess server;
    std::string file = scratch_dir() + "/call.webm";
    Pair p = connected_pair(server, fresh_room("record"), {"--record", file});
    // Let the recording hold more than the first frames. Nothing signals "enough media
    // recorded", so this one wait is a plain bounded one.
    wait_until([] { return false; }, 1500);
    end_recorded_call(p, kPromptMs);
    for (const auto &e : p.a->events())
        g_assert_true(json_str(e, "event") != "error");
    std::string out = discover_media_file(file);
    if (out.empty())
        return;
    g_assert_true(out.find("container #0: WebM") != std::string::npos);
    g_assert_true(out.find("video #") != std::string::npos);
    g_assert_true(out.find("VP8") != std::string::npos);
    g_assert_true(out.find("audio #") != std::string::npos);
    g_assert_true(out.find("Opus") != std::string::npos);
}

// The server restarts under a live call: both peers retry with backoff, rejoin the new
// server (which knows no tokens, so as new people) and the newcomer's offer restores media.
void test_server_restart() {
    auto server = std::make_unique<ServerProcess>();
    std::string url = server->ws_url();
    std::string port = url.substr(url.rfind(':') + 1);
    port = port.substr(0, port.find('/'));
    std::string room = fresh_room("restart");
    Pair p = connected_pair(*server, room);
    std::size_t ma = p.a->mark(), mb = p.b->mark();
    server.reset(); // SIGTERM
    g_assert_false(p.a->wait_event("reconnecting", {}, kPromptMs, ma).empty());
    g_assert_false(p.b->wait_event("reconnecting", {}, kPromptMs, mb).empty());
    server = std::make_unique<ServerProcess>(std::vector<std::string>{"--port", port});
    std::string url2 = server->ws_url();
    check_str_eq(url2.c_str(), url.c_str());
    std::string ja = p.a->wait_event("joined", {}, kJoinTimeoutMs, ma);
    std::string jb = p.b->wait_event("joined", {}, kJoinTimeoutMs, mb);
    g_assert_false(ja.empty());
    g_assert_false(jb.empty());
    std::string a2 = json_str(ja, "id"), b2 = json_str(jb, "id");
    for (const char *kind : {"video", "audio"}) {
        g_assert_false(p.a->wait_first_frame(kind, b2, ma).empty());
        g_assert_false(p.b->wait_first_frame(kind, a2, mb).empty());
    }
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/peer/usage-errors", test_usage_errors);
    g_test_add_func("/peer/unreachable-server", test_unreachable_server_gives_up);
    g_test_add_func("/peer/missing-camera", test_missing_camera_fails);
    g_test_add_func("/peer/missing-libcamera", test_missing_libcamera_fails);
    g_test_add_func("/peer/missing-plugins", test_missing_plugins_listed);
    g_test_add_func("/peer/call-both-ways", test_call_both_ways);
    g_test_add_func("/peer/joins-once-warm", test_joins_once_warm);
    g_test_add_func("/peer/room-full", test_third_peer_room_full);
    g_test_add_func("/peer/sigterm-leaves", test_sigterm_leaves_promptly);
    g_test_add_func("/peer/duration", test_duration_exits_zero);
    g_test_add_func("/peer/killed-peer-rejoins", test_killed_peer_rejoins);
    g_test_add_func("/peer/seat-taken", test_seat_taken_by_newer_connection);
    g_test_add_func("/peer/record-webm", test_record_webm);
    g_test_add_func("/peer/server-restart", test_server_restart);
    return finish_tests(g_test_run());
}
