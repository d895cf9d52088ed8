// SPDX-License-Identifier: MIT
// Pipeline descriptions from options, SDP/candidate helpers and the plugin check.
#include "pipelines/devices.h"
#include "pipelines/launch.h"
#include "pipelines/plugins.h"
#include "pipelines/receive_branch.h"
#include "pipelines/sdp_util.h"
#include "tests/check_str.h"

#include <gst/gst.h>

#include <string>

using namespace duet::pipelines;

namespace {

bool has(const std::string &haystack, const char *needle) {
    return haystack.find(needle) != std::string::npos;
}

// Parses a description the way the peer does (a bin with ghost pads) and reports why not.
void assert_parses(const std::string &desc) {
    GError *err = nullptr;
    GstElement *bin = gst_parse_bin_from_description(desc.c_str(), TRUE, &err);
    if (!bin)
        g_printerr("does not parse: %s\n  %s\n", desc.c_str(), err ? err->message : "?");
    g_assert_no_error(err);
    g_assert_nonnull(bin);
    gst_object_unref(gst_object_ref_sink(bin));
}

ResolvedMedia test_media(SinkMode sink = SinkMode::None) {
    ResolvedMedia m;
    m.sink = sink;
    return m;
}

void test_video_send_test_source() {
    MediaOptions o;
    o.width = 320;
    o.height = 240;
    o.fps = 15;
    o.video_kbps = 600;
    o.encoder_threads = 2;
    std::string d = video_send_description(o, test_media());
    // A moving, labelled test picture at the requested size and rate.
    g_assert_true(has(d, "videotestsrc is-live=true pattern=ball"));
    g_assert_true(has(d, "text=\"duet test source\""));
    g_assert_true(has(d, "timeoverlay"));
    g_assert_true(has(d, "width=320,height=240,framerate=15/1"));
    // Real-time VP8: these are what keep latency and CPU down.
    for (const char *setting : {"deadline=1", "cpu-used=8", "static-threshold=1", "end-usage=cbr",
                                "target-bitrate=600000", "keyframe-max-dist=3000",
                                "error-resilient=default", "lag-in-frames=0", "threads=1"})
        g_assert_true(has(d, setting));
    // A second encoder thread only spins at this size; a 720p picture gets the two allowed.
    o.width = 1280;
    o.height = 720;
    g_assert_true(has(video_send_description(o, test_media()), "threads=2"));
    g_assert_true(g_str_has_suffix(d.c_str(), "tee name=video_tee allow-not-linked=true"));
    g_assert_false(has(d, "v4l2src"));
    assert_parses(d);
}

void test_video_send_camera() {
    MediaOptions o;
    ResolvedMedia m = test_media();
    m.camera = true;
    m.video_device = "/dev/video0";
    std::string d = video_send_description(o, m);
    g_assert_true(g_str_has_prefix(d.c_str(), "v4l2src name=camera "));
    // The path is set as a property, never pasted into the string.
    g_assert_false(has(d, "/dev/video0"));
    g_assert_true(has(d, "videoscale"));
    g_assert_true(has(d, "width=640,height=480,framerate=30/1"));
    g_assert_false(has(d, "videotestsrc"));
    assert_parses(d);
}

void test_audio_send() {
    std::string t = audio_send_description(test_media());
    g_assert_true(has(t, "audiotestsrc is-live=true wave=ticks"));
    g_assert_true(has(t, "opusenc"));
    g_assert_true(has(t, "complexity=5"));
    g_assert_true(has(t, "perfect-timestamp=true"));
    g_assert_true(has(t, "tee name=audio_tee"));
    assert_parses(t);
    ResolvedMedia m = test_media();
    m.mic = true;
    std::string mic = audio_send_description(m);
    g_assert_true(g_str_has_prefix(mic.c_str(), "autoaudiosrc "));
    assert_parses(mic);
}

void test_payloaders() {
    std::string v = video_payload_description(100);
    g_assert_true(has(v, "rtpvp8pay pt=100 picture-id-mode=15-bit"));
    g_assert_true(
        has(v, "application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,payload=100"));
    assert_parses(v);
    std::string a = audio_payload_description(111);
    g_assert_true(has(a, "rtpopuspay pt=111"));
    g_assert_true(has(a, "media=audio,encoding-name=OPUS,clock-rate=48000,payload=111"));
    assert_parses(a);
    check_str_eq(video_rtp_caps(96).c_str(),
                 "application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,payload=96");
}

void test_receive_none_decodes_and_discards() {
    std::string v = video_receive_description(test_media(SinkMode::None), false);
    g_assert_true(has(v, "rtpvp8depay request-keyframe=true wait-for-keyframe=true"));
    g_assert_true(has(v, "vp8dec name=decoder"));
    g_assert_true(has(v, "fakesink sync=false async=false"));
    g_assert_false(has(v, "autovideosink"));
    g_assert_false(has(v, "record_tee"));
    assert_parses(v);
    std::string a = audio_receive_description(test_media(SinkMode::None), false);
    g_assert_true(has(a, "rtpopusdepay ! opusdec name=decoder"));
    g_assert_true(has(a, "fakesink"));
    assert_parses(a);
}

void test_receive_window() {
    ResolvedMedia m = test_media(SinkMode::Window);
    m.screen_width = 1920;
    m.screen_height = 1080;
    std::string v = video_receive_description(m, false);
    // Scaled to fill the screen (ximagesink cannot scale), then shown.
    g_assert_true(has(v, "width=1920,height=1080"));
    g_assert_true(has(v, "autovideosink"));
    assert_parses(v);
    m.wayland = true;
    std::string w = video_receive_description(m, false);
    // Not parsed here: waylandsink 1.22 logs a critical when `fullscreen` is set before it
    // has a window (harmless; the value is kept and used when the window is made).
    g_assert_true(has(w, "waylandsink fullscreen=true"));
    std::string a = audio_receive_description(m, false);
    g_assert_true(has(a, "autoaudiosink"));
    assert_parses(a);
}

void test_receive_record_tap() {
    std::string v = video_receive_description(test_media(), true);
    // The tap is before the decoder: VP8 goes into the file as received.
    g_assert_true(
        has(v, "rtpvp8depay request-keyframe=true wait-for-keyframe=true ! tee name=record_tee"));
    assert_parses(v);
    GError *err = nullptr;
    GstElement *bin = gst_parse_bin_from_description(v.c_str(), TRUE, &err);
    g_assert_nonnull(bin);
    GstPad *src = gst_element_get_static_pad(bin, "src");
    g_assert_nonnull(src); // the recorder's input
    gst_object_unref(src);
    gst_object_unref(gst_object_ref_sink(bin));
    assert_parses(audio_receive_description(test_media(), true));
}

void test_recorder() {
    std::string r = recorder_description();
    g_assert_true(has(r, "webmmux"));
    g_assert_true(has(r, "record_mux.video_0"));
    g_assert_true(has(r, "record_mux.audio_0"));
    g_assert_true(has(r, "filesink name=record_file"));
    GError *err = nullptr;
    GstElement *bin = gst_parse_bin_from_description(r.c_str(), FALSE, &err);
    g_assert_no_error(err);
    gst_object_unref(gst_object_ref_sink(bin));
}

void test_rtp_media_kind() {
    auto kind = [](const char *caps) {
        GstCaps *c = gst_caps_from_string(caps);
        auto k = rtp_media_kind(c);
        gst_caps_unref(c);
        return k;
    };
    g_assert_true(kind("application/x-rtp,media=video,encoding-name=VP8") == MediaKind::Video);
    g_assert_true(kind("application/x-rtp,media=audio,encoding-name=opus") == MediaKind::Audio);
    g_assert_false(kind("application/x-rtp,media=video,encoding-name=H264").has_value());
    g_assert_false(kind("application/x-rtp").has_value());
    g_assert_false(rtp_media_kind(nullptr).has_value());
}

// An offer shaped like Chromium's: audio first, Opus at 111, VP8 at 96, other codecs.
const char *kChromeOffer = "v=0\r\n"
                           "o=- 1 2 IN IP4 127.0.0.1\r\n"
                           "s=-\r\n"
                           "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9\r\n"
                           "a=mid:0\r\n"
                           "a=rtpmap:111 opus/48000/2\r\n"
                           "a=rtpmap:63 red/48000/2\r\n"
                           "a=rtpmap:9 G722/8000\r\n"
                           "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102\r\n"
                           "a=mid:1\r\n"
                           "a=rtpmap:96 VP8/90000\r\n"
                           "a=rtpmap:97 rtx/90000\r\n"
                           "a=rtpmap:102 H264/90000\r\n";

void test_payload_types_from_offer() {
    PayloadTypes pt = find_payload_types(kChromeOffer);
    g_assert_true(pt.vp8 && *pt.vp8 == 96);
    g_assert_true(pt.opus && *pt.opus == 111);
    // LF-only and odd input: no crash, nothing invented.
    PayloadTypes none = find_payload_types("m=video 9 X 300\na=rtpmap:300 VP8/90000\na=rtpmap:x\n");
    g_assert_false(none.vp8.has_value());
    g_assert_false(find_payload_types("").opus.has_value());
}

void test_media_mids() {
    auto mids = media_mids(kChromeOffer);
    g_assert_cmpuint(mids.size(), ==, 2);
    check_str_eq(mids[0].c_str(), "0");
    check_str_eq(mids[1].c_str(), "1");
    g_assert_cmpuint(media_mids("v=0\na=mid:stray\n").size(), ==, 0);
}

void test_candidates() {
    const char *host = "candidate:1 1 UDP 2122260223 192.168.1.4 54321 typ host";
    const char *mdns =
        "candidate:2 1 udp 2122260223 6a1f3c2e-93f1-4b9a-a7b6-1d2c1f0e9a11.local 50000 typ host";
    check_str_eq(candidate_address(host).c_str(), "192.168.1.4");
    g_assert_false(is_mdns_candidate(host));
    g_assert_true(is_mdns_candidate(mdns));
    g_assert_false(is_mdns_candidate("candidate:3 1"));
    g_assert_false(is_mdns_candidate(""));
}

void test_required_elements() {
    MediaOptions o;
    auto names = [](const std::vector<RequiredElement> &v) {
        std::string out;
        for (const auto &r : v)
            out += std::string(r.element) + " ";
        return out;
    };
    std::string autos = names(required_elements(o));
    g_assert_true(has(autos, "webrtcbin "));
    g_assert_true(has(autos, "nicesrc "));
    g_assert_true(has(autos, "videotestsrc ")); // the fallback must exist
    g_assert_false(has(autos, "webmmux "));
    o.record_path = "x.webm";
    o.sink = SinkMode::Window;
    o.video_source = VideoSource::Camera;
    std::string all = names(required_elements(o));
    g_assert_true(has(all, "webmmux "));
    g_assert_true(has(all, "autovideosink "));
    g_assert_true(has(all, "v4l2src "));
}

void test_missing_elements_message() {
    std::vector<RequiredElement> needed{{"webrtcbin", "gstreamer1.0-plugins-bad"},
                                        {"nicesrc", "gstreamer1.0-nice"},
                                        {"queue", "libgstreamer1.0-0"},
                                        {"dtlssrtpenc", "gstreamer1.0-plugins-bad"}};
    auto missing = missing_elements(needed, [](const char *e) { return g_str_equal(e, "queue"); });
    g_assert_cmpuint(missing.size(), ==, 3);
    std::string msg = describe_missing(missing);
    g_assert_true(has(msg, "webrtcbin (in gstreamer1.0-plugins-bad)"));
    g_assert_true(has(msg, "nicesrc (in gstreamer1.0-nice)"));
    // Each package once on the install line.
    g_assert_true(has(msg, "apt-get install gstreamer1.0-plugins-bad gstreamer1.0-nice"));
    // And on this machine, everything a default call needs is installed.
    g_assert_cmpuint(missing_elements(required_elements(MediaOptions{})).size(), ==, 0);
}

void test_resolve_sink() {
    g_assert_true(resolve_sink(SinkMode::Auto, false, false) == SinkMode::None);
    g_assert_true(resolve_sink(SinkMode::Auto, true, false) == SinkMode::Window);
    g_assert_true(resolve_sink(SinkMode::Auto, false, true) == SinkMode::Window);
    g_assert_true(resolve_sink(SinkMode::None, true, true) == SinkMode::None);
    g_assert_true(resolve_sink(SinkMode::Window, false, false) == SinkMode::Window);
}

void test_camera_probe_without_devices() {
    // Never hangs: a missing node is refused at once.
    ProbeOutcome o = probe_camera("/dev/video-does-not-exist", 500);
    g_assert_false(o.ok);
    g_assert_true(has(o.why, "does not exist"));
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    gst_init(nullptr, nullptr);
    g_test_add_func("/pipeline/video-send-test-source", test_video_send_test_source);
    g_test_add_func("/pipeline/video-send-camera", test_video_send_camera);
    g_test_add_func("/pipeline/audio-send", test_audio_send);
    g_test_add_func("/pipeline/payloaders", test_payloaders);
    g_test_add_func("/pipeline/receive-none", test_receive_none_decodes_and_discards);
    g_test_add_func("/pipeline/receive-window", test_receive_window);
    g_test_add_func("/pipeline/receive-record-tap", test_receive_record_tap);
    g_test_add_func("/pipeline/recorder", test_recorder);
    g_test_add_func("/pipeline/rtp-media-kind", test_rtp_media_kind);
    g_test_add_func("/pipeline/sdp/payload-types", test_payload_types_from_offer);
    g_test_add_func("/pipeline/sdp/mids", test_media_mids);
    g_test_add_func("/pipeline/sdp/candidates", test_candidates);
    g_test_add_func("/pipeline/plugins/required", test_required_elements);
    g_test_add_func("/pipeline/plugins/missing", test_missing_elements_message);
    g_test_add_func("/pipeline/devices/resolve-sink", test_resolve_sink);
    g_test_add_func("/pipeline/devices/camera-probe-missing-node",
                    test_camera_probe_without_devices);
    return g_test_run();
}
