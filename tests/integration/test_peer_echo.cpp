// SPDX-License-Identifier: MIT
// Echo cancellation for real: two duet-peer processes in a call, each with a simulated room
// (--simulate-room) for microphone and speaker. The far end talks; the kiosk's speaker
// plays it into an echo path (delay, reflections, low-pass) that its microphone hears,
// later with a near-end talker on top. The kiosk measures what it sends against both and
// reports it in an `echo-report` event. Speech comes from espeak-ng.
#include "harness.h"
#include "peer_harness.h"

#include <glib.h>

#include <cmath>
#include <string>
#include <vector>

using namespace duet::testing;

namespace {

// Clearly cancelling, against ~0 dB with processing off. The target (25 dB after 2 s of
// convergence) is the bench's to show (bench/media.sh --echo-only: 38-67 dB); here the
// suite's other tests share the two cores, and real-time audio starved of CPU has measured
// as low as 24 dB.
constexpr double kMinErleDb = 15.0;
// Near-end speech in double talk against alone: "kept within a few dB".
constexpr double kMaxNearLossDb = 6.0;
constexpr unsigned kReportTimeoutMs = 60000;
int room_serial = 0;

const std::string &speech(const char *name, const char *voice, const char *text) {
    static std::vector<std::string> made;
    std::string path = scratch_dir() + "/" + name + ".wav";
    gchar *out = nullptr, *err = nullptr;
    gint status = 0;
    const char *argv[] = {"espeak-ng", "-v", voice, "-s", "165", "-w", path.c_str(), text, nullptr};
    GError *e = nullptr;
    if (!g_spawn_sync(nullptr, const_cast<char **>(argv), nullptr, G_SPAWN_SEARCH_PATH, nullptr,
                      nullptr, &out, &err, &status, &e) ||
        !g_spawn_check_wait_status(status, nullptr))
        g_error("espeak-ng (package espeak-ng, which scripts/setup.sh installs) could not "
                "make %s: %s %s",
                path.c_str(), e ? e->message : "", err ? err : "");
    g_free(out);
    g_free(err);
    made.push_back(path);
    return made.back();
}

struct Voices {
    std::string far, near;
};

const Voices &voices() {
    static Voices v{
        speech("far", "en-us",
               "The quick brown fox jumps over the lazy dog. She sells sea shells by the sea "
               "shore. How much wood would a woodchuck chuck if a woodchuck could chuck wood."),
        speech("near", "en-gb+f3", "Hello from the kiosk. Can you hear me over your own voice?")};
    return v;
}

// One call: the far end talks in a room without echo; the kiosk's room has `delay_ms` of
// echo and its talker starts 5 s after it first hears the far end. Returns the kiosk's
// echo-report line and leaves its events in `events`.
std::string echo_call(const ServerProcess &server, int delay_ms,
                      const std::vector<std::string> &kiosk_args,
                      std::vector<std::string> *events = nullptr) {
    std::string room = "echo-" + std::to_string(++room_serial);
    PeerProcess far("far-" + room, server.ws_url(), room,
                    {"--simulate-room", "talk=" + voices().far + ",echo-gain=0",
                     "--audio-processing", "off"});
    g_assert_false(joined_id(far).empty());
    std::vector<std::string> args{"--simulate-room",
                                  "talk=" + voices().near + ",talk-after-ms=5000,delay-ms=" +
                                      std::to_string(delay_ms)};
    args.insert(args.end(), kiosk_args.begin(), kiosk_args.end());
    PeerProcess kiosk("kiosk-" + room, server.ws_url(), room, args);
    std::string report = kiosk.wait_event("echo-report", {}, kReportTimeoutMs);
    g_assert_false(report.empty());
    g_test_message("delay %d ms %s: %s", delay_ms,
                   kiosk_args.empty() ? "(defaults)" : kiosk_args.front().c_str(), report.c_str());
    // The measurement had its windows (no missing audio on either side).
    g_assert_cmpfloat(json_num(report, "echo_only_s"), >, 2.0);
    g_assert_cmpfloat(json_num(report, "double_talk_s"), >, 1.5);
    // A real echo reached the microphone (not silence, not clipping).
    g_assert_cmpfloat(json_num(report, "echo_dbfs"), >, -40.0);
    g_assert_cmpfloat(json_num(report, "echo_dbfs"), <, -10.0);
    if (events)
        *events = kiosk.events();
    return report;
}

// With a microphone and a speaker, processing is on by default and removes the echo of a
// room with a short delay, while the near-end talker still gets through in double talk.
void test_cancels_echo() {
    ServerProcess server;
    std::string r = echo_call(server, 30, {});
    g_assert_true(r.find("\"processing\":true") != std::string::npos);
    g_assert_cmpfloat(json_num(r, "erle_db"), >=, kMinErleDb);
    g_assert_cmpfloat(std::fabs(json_num(r, "near_kept_db", 99)), <=, kMaxNearLossDb);
}

// The same room with processing off: the measurement sees the whole echo in what is sent
// (so the figure above is the canceller's doing, not the meter's).
void test_off_sends_the_echo() {
    ServerProcess server;
    std::string r = echo_call(server, 30, {"--audio-processing", "off"});
    g_assert_true(r.find("\"processing\":false") != std::string::npos);
    g_assert_cmpfloat(std::fabs(json_num(r, "erle_db", 99)), <, 3.0);
}

// A long delay (an HDMI screen's speaker): duet-peer measures it and says so in an
// `echo-delay` event; given with --echo-delay-ms, the echo is cancelled as well.
void test_long_delay() {
    ServerProcess server;
    std::vector<std::string> events;
    std::string r = echo_call(server, 150, {"--echo-delay-ms", "150"}, &events);
    g_assert_cmpfloat(json_num(r, "erle_db"), >=, kMinErleDb);
    std::string found;
    for (const auto &e : events)
        if (json_str(e, "event") == "echo-delay")
            found = e;
    g_assert_false(found.empty());
    // Good to about two of its 4 ms frames, plus the low-pass's smear.
    g_assert_cmpfloat(std::fabs(json_num(found, "delay_ms") - 150), <=, 16);
    g_assert_true(found.find("\"following\":false") != std::string::npos);
}

// The same long delay learned during the call (no --echo-delay-ms): it is found from the
// far end's first words, before the canceller converges on the echo where it was, and the
// echo is cancelled about as well as with the delay given.
void test_long_delay_learned() {
    ServerProcess server;
    std::vector<std::string> events;
    std::string r = echo_call(server, 150, {}, &events);
    g_assert_cmpfloat(json_num(r, "erle_db"), >=, kMinErleDb);
    g_assert_cmpfloat(std::fabs(json_num(r, "near_kept_db", 99)), <=, kMaxNearLossDb);
    std::string found; // this call's own measurement, not what an earlier test's call kept
    for (const auto &e : events)
        if (json_str(e, "event") == "echo-delay" && found.empty() &&
            e.find("\"saved\":false") != std::string::npos)
            found = e;
    g_assert_false(found.empty());
    g_assert_cmpfloat(std::fabs(json_num(found, "delay_ms") - 150), <=, 16);
    g_assert_true(found.find("\"following\":true") != std::string::npos);
    // Kept in the state directory for the next run to start from (the simulated room's own
    // file; the bench measures that next call).
    gchar *kept = nullptr;
    g_assert_true(g_file_get_contents(
        (scratch_dir() + "/state/echo-delay-ms.simulated-room").c_str(), &kept, nullptr, nullptr));
    g_assert_cmpfloat(std::fabs(g_ascii_strtod(kept, nullptr) - 150), <=, 16);
    g_free(kept);
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/echo/cancels-echo", test_cancels_echo);
    g_test_add_func("/echo/off-sends-the-echo", test_off_sends_the_echo);
    g_test_add_func("/echo/long-delay", test_long_delay);
    g_test_add_func("/echo/long-delay-learned", test_long_delay_learned);
    return finish_tests(g_test_run());
}
