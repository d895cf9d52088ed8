// SPDX-License-Identifier: MIT
// Codecs between real duet-peer processes: H.264 both ways with each software encoder,
// a recording in Matroska, an offer with no common video codec refused cleanly, and two
// legs of one peer on different codecs at once.
#include "harness.h"
#include "peer_harness.h"

#include <glib.h>
#include <gst/gst.h>

#include <csignal>
#include <cstring>
#include <string>
#include <vector>

using namespace duet::testing;

namespace {

// A clean leave is announced at once; this bound only absorbs a loaded machine.
constexpr unsigned kPromptMs = 3000;
// Decoded frames that show a stream keeps going past its first keyframe: one second at
// the test size's 30 fps (stats come every second).
constexpr double kFramesOfOngoingVideo = 30;

int room_serial = 0;
std::string fresh_room(const char *what) {
    return std::string(what) + "-" + std::to_string(++room_serial);
}

std::vector<std::string> h264_with(const char *encoder) {
    return {"--video-codec", "h264", "--video-encoder", encoder};
}

bool installed(const char *element) {
    GstElementFactory *f = gst_element_factory_find(element);
    if (f)
        gst_object_unref(f);
    return f != nullptr;
}

// `p`'s `connected` event for `peer` names this codec and encoder.
void assert_connected_with(PeerProcess &p, const std::string &peer, const char *codec,
                           const char *encoder) {
    std::string line =
        p.wait_event("connected", [&](const std::string &l) { return json_str(l, "peer") == peer; });
    g_assert_false(line.empty());
    check_str_eq(json_str(line, "codec").c_str(), codec);
    if (encoder)
        check_str_eq(json_str(line, "encoder").c_str(), encoder);
}

// `p` keeps decoding `peer`'s video, not just a first frame.
void assert_video_flows(PeerProcess &p, const std::string &peer) {
    std::string line = p.wait_event("stats", [&](const std::string &l) {
        return json_str(l, "peer") == peer && json_num(l, "video_frames") >= kFramesOfOngoingVideo;
    });
    g_assert_false(line.empty());
}

void run_h264_call(const char *encoder_a, const char *encoder_b) {
    for (const char *e : {encoder_a, encoder_b})
        if (!installed(e)) {
            g_test_skip((std::string(e) + " is not installed (scripts/setup.sh installs it)").c_str());
            return;
        }
    ServerProcess server;
    Pair p = connected_pair(server.ws_url(), fresh_room("h264"),
                            {.a_args = h264_with(encoder_a), .b_args = h264_with(encoder_b)});
    assert_connected_with(*p.a, p.b_id, "H264", encoder_a);
    assert_connected_with(*p.b, p.a_id, "H264", encoder_b);
    assert_video_flows(*p.a, p.b_id);
    assert_video_flows(*p.b, p.a_id);
}

void test_h264_openh264() {
    run_h264_call("openh264enc", "openh264enc");
}

void test_h264_x264_with_openh264() {
    run_h264_call("x264enc", "openh264enc");
}

// --video-codec h264 records into Matroska: H.264 and Opus as received.
void test_record_h264() {
    ServerProcess server;
    std::string file = scratch_dir() + "/call.mkv";
    std::vector<std::string> a_args{"--video-codec", "h264", "--record", file};
    Pair p = connected_pair(server.ws_url(), fresh_room("record-h264"),
                            {.a_args = a_args, .b_args = {"--video-codec", "h264"}});
    assert_video_flows(*p.a, p.b_id);
    end_recorded_call(p, kPromptMs);
    std::string out = discover_media_file(file);
    if (out.empty())
        return;
    g_assert_true(out.find("container #0: Matroska") != std::string::npos);
    g_assert_true(out.find("H.264") != std::string::npos);
    g_assert_true(out.find("Opus") != std::string::npos);
}

// An H.264-only offer to a peer held to VP8: the video m-line is rejected in the answer
// (both sides say so in an event naming the offered codec), the audio call goes on, and
// the VP8 peer keeps serving: the next caller gets a full call.
void test_no_common_video_codec() {
    ServerProcess server;
    std::string room = fresh_room("no-common-codec");
    PeerProcess a("vp8-only", server.ws_url(), room, {"--video-codec", "vp8"});
    std::string a_id = joined_id(a);
    std::string b_id;
    {
        PeerProcess b("h264-only", server.ws_url(), room, {"--video-codec", "h264"});
        b_id = joined_id(b);
        std::string refused = a.wait_event("error", [](const std::string &l) {
            return json_str(l, "code") == "no-common-video-codec";
        });
        g_assert_false(refused.empty());
        check_str_eq(json_str(refused, "peer").c_str(), b_id.c_str());
        g_assert_true(json_strs(refused, "offered") == std::vector<std::string>{"H264"});
        std::string told = b.wait_event("error", [](const std::string &l) {
            return json_str(l, "code") == "no-common-video-codec";
        });
        g_assert_false(told.empty());
        // Audio both ways; the connected events name no video codec.
        g_assert_false(a.wait_first_frame("audio", b_id).empty());
        g_assert_false(b.wait_first_frame("audio", a_id).empty());
        assert_connected_with(a, b_id, "", nullptr);
        assert_connected_with(b, a_id, "", nullptr);
        // No video either way: after a second of audio stats, still not one frame.
        for (PeerProcess *p : {&a, &b}) {
            const std::string &other = p == &a ? b_id : a_id;
            std::string stats = p->wait_event("stats", [&](const std::string &l) {
                return json_str(l, "peer") == other && json_num(l, "audio_buffers") >= 50;
            });
            g_assert_false(stats.empty());
            g_assert_cmpfloat(json_num(stats, "video_frames"), ==, 0);
        }
        std::size_t mark = a.mark();
        b.send_signal(SIGTERM);
        g_assert_true(b.wait_exit());
        g_assert_false(a.wait_event("peer-left", {}, kPromptMs, mark).empty());
    }
    // The VP8 peer still serves: a VP8 caller gets video both ways.
    PeerProcess c("vp8-caller", server.ws_url(), room, {"--video-codec", "vp8"});
    std::string c_id = joined_id(c);
    g_assert_false(a.wait_first_frame("video", c_id).empty());
    g_assert_false(c.wait_first_frame("video", a_id).empty());
    assert_connected_with(a, c_id, "VP8", "vp8enc");
    g_assert_false(a.exited());
}

// One peer, two legs on different codecs at once (each leg has its own encoder): `a`
// (auto) answers an H.264 offer from `b` and a VP8 offer from `c`, and decodes both.
void test_two_codecs_in_one_room() {
    ServerProcess server({"--max-peers", "3"});
    std::string room = fresh_room("two-codecs");
    PeerProcess a("auto", server.ws_url(), room);
    std::string a_id = joined_id(a);
    PeerProcess b("h264", server.ws_url(), room, {"--video-codec", "h264"});
    std::string b_id = joined_id(b);
    g_assert_false(a.wait_first_frame("video", b_id).empty());
    PeerProcess c("vp8", server.ws_url(), room, {"--video-codec", "vp8"});
    std::string c_id = joined_id(c);
    g_assert_false(a.wait_first_frame("video", c_id).empty());
    assert_connected_with(a, b_id, "H264", nullptr);
    assert_connected_with(a, c_id, "VP8", "vp8enc");
    assert_video_flows(a, b_id);
    assert_video_flows(a, c_id);
    g_assert_false(b.wait_first_frame("video", a_id).empty());
    g_assert_false(c.wait_first_frame("video", a_id).empty());
}

void test_video_codec_usage_errors() {
    struct Case {
        std::vector<std::string> args;
        const char *why;
    } cases[] = {
        {{"--room", "x", "--video-codec", "av1"}, "unknown codec"},
        {{"--room", "x", "--video-encoder", "nosuchenc"}, "unknown encoder"},
        {{"--room", "x", "--video-codec", "h264", "--record", "x.webm"}, "H.264 into WebM"},
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

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    gst_init(nullptr, nullptr);
    g_test_add_func("/peer/codecs/usage-errors", test_video_codec_usage_errors);
    g_test_add_func("/peer/codecs/h264-openh264", test_h264_openh264);
    g_test_add_func("/peer/codecs/h264-x264-with-openh264", test_h264_x264_with_openh264);
    g_test_add_func("/peer/codecs/record-h264", test_record_h264);
    g_test_add_func("/peer/codecs/no-common-video-codec", test_no_common_video_codec);
    g_test_add_func("/peer/codecs/two-codecs-in-one-room", test_two_codecs_in_one_room);
    return finish_tests(g_test_run());
}
