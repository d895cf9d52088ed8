// SPDX-License-Identifier: MIT
// Pipeline descriptions from options, SDP/candidate helpers and the plugin check.
#include "pipelines/devices.h"
#include "pipelines/launch.h"
#include "pipelines/plugins.h"
#include "pipelines/receive_branch.h"
#include "pipelines/sdp_util.h"
#include "tests/check_str.h"
#include "tests/unit/parsed_pipeline.h"

#include <gst/gst.h>

#include <cstring>
#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace duet::pipelines;
using namespace duet::test;

namespace {

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
    Parsed p(video_send_description(o, test_media()));
    // A moving, labelled test picture at the requested size and rate.
    GstElement *src = p.one("videotestsrc");
    g_assert_true(bool_prop(src, "is-live"));
    check_str_eq(enum_prop(src, "pattern"), "ball");
    {
        CapsFields size(downstream(src));
        check_str_eq(size.media_type(), "video/x-raw");
        g_assert_cmpint(size.integer("width"), ==, 320);
        g_assert_cmpint(size.integer("height"), ==, 240);
        check_str_eq(size.fraction("framerate"), "15/1");
    }
    check_str_eq(str_prop(p.one("textoverlay"), "text"), "duet test source");
    g_assert_true(p.has_element("timeoverlay"));
    // Raw frames end in the tee the call's legs link to (each leg encodes for itself),
    // which runs with none linked.
    GstElement *tee = p.named(kVideoTeeName);
    g_assert_nonnull(tee);
    g_assert_cmpstr(factory(tee), ==, "tee");
    g_assert_true(bool_prop(tee, "allow-not-linked"));
    check_str_eq(CapsFields(upstream(tee)).media_type(), "video/x-raw");
    g_assert_cmpint(GST_ELEMENT(tee)->numsrcpads, ==, 0);
    g_assert_false(p.has_element("v4l2src"));
    g_assert_false(p.has_element("vp8enc"));
}

void test_video_send_camera() {
    MediaOptions o;
    ResolvedMedia m = test_media();
    m.camera = true;
    m.video_device = "/dev/v4l/by-id/usb-Cam ! fakesink name=injected";
    std::string d = video_send_description(o, m);
    // The path is set as a property, never pasted into the string: whatever it holds
    // cannot add elements.
    g_assert_false(has(d, m.video_device.c_str()));
    Parsed p(d);
    g_assert_null(p.named("injected"));
    GstElement *cam = p.named(kCameraName);
    g_assert_nonnull(cam);
    g_assert_cmpstr(factory(cam), ==, "v4l2src");
    g_assert_cmpint(GST_ELEMENT(cam)->numsinkpads, ==, 0); // the source of the branch
    g_assert_true(p.has_element("videoscale"));
    // Whatever the camera gives is scaled and paced to the default 640x480 at 30 fps.
    bool found = false;
    for (GstElement *f : p.all("capsfilter")) {
        CapsFields c(f);
        if (c.media_type() != "video/x-raw")
            continue;
        found = true;
        g_assert_cmpint(c.integer("width"), ==, 640);
        g_assert_cmpint(c.integer("height"), ==, 480);
        check_str_eq(c.fraction("framerate"), "30/1");
    }
    g_assert_true(found);
    g_assert_false(p.has_element("videotestsrc"));
}

void test_audio_send() {
    {
        Parsed t(audio_send_description(MediaOptions{}, test_media()));
        GstElement *src = t.one("audiotestsrc");
        g_assert_true(bool_prop(src, "is-live"));
        check_str_eq(enum_prop(src, "wave"), "ticks");
        GstElement *enc = t.one("opusenc");
        g_assert_cmpint(int_prop(enc, "complexity"), ==, 5);
        g_assert_true(bool_prop(enc, "perfect-timestamp"));
        GstElement *tee = t.named(kAudioTeeName);
        g_assert_nonnull(tee);
        g_assert_cmpstr(factory(tee), ==, "tee");
        g_assert_true(upstream(tee) == enc);
    }
    ResolvedMedia m = test_media();
    m.mic = true;
    Parsed mic(audio_send_description(MediaOptions{}, m));
    g_assert_cmpint(GST_ELEMENT(mic.one("autoaudiosrc"))->numsinkpads, ==, 0);
    g_assert_false(mic.has_element("audiotestsrc"));
    g_assert_false(mic.has_element("webrtcdsp")); // not resolved on: the microphone as is
}

// Audio processing: webrtcdsp between the microphone and the encoder, listening to the
// speaker's probe when there is one, and only noise and gain processing without one.
void test_audio_processing() {
    ResolvedMedia m = test_media(SinkMode::Window);
    m.mic = m.speaker = m.audio_processing = true;
    m.echo_probe = "probe_7";
    Parsed t(audio_send_description(MediaOptions{}, m));
    GstElement *dsp = t.one("webrtcdsp");
    g_assert_true(bool_prop(dsp, "echo-cancel"));
    g_assert_true(bool_prop(dsp, "noise-suppression"));
    g_assert_true(bool_prop(dsp, "gain-control"));
    g_assert_true(bool_prop(dsp, "delay-agnostic"));
    gchar *probe = nullptr;
    g_object_get(dsp, "probe", &probe, nullptr);
    check_str_eq(probe, "probe_7");
    g_free(probe);
    g_assert_cmpstr(factory(downstream(downstream(dsp))), ==, "queue"); // then the encoder

    m.echo_probe.clear();
    Parsed quiet(audio_send_description(MediaOptions{}, m));
    g_assert_false(bool_prop(quiet.one("webrtcdsp"), "echo-cancel"));
}

// The speaker: every call's audio into one mixer, kept running by a silent input, through
// the echo probe (when cancelling) to the audio device, or to the simulated room.
void test_speaker() {
    ResolvedMedia m = test_media(SinkMode::Window);
    m.speaker = true;
    {
        Parsed s(speaker_description(m), false);
        GstElement *mix = s.named(kSpeakerMixName);
        g_assert_cmpstr(factory(mix), ==, "audiomixer");
        g_assert_true(s.has_element("audiotestsrc")); // its silent input
        g_assert_true(bool_prop(s.one("autoaudiosink"), "sync"));
        g_assert_false(s.has_element("webrtcechoprobe"));
    }
    m.echo_probe = "probe_3";
    {
        Parsed s(speaker_description(m), false);
        GstElement *probe = s.named("probe_3");
        g_assert_cmpstr(factory(probe), ==, "webrtcechoprobe");
        g_assert_true(upstream(probe) == s.named(kSpeakerCapsName));
    }
    m.room_sim = true;
    Parsed room(speaker_description(m), false);
    g_assert_false(room.has_element("autoaudiosink"));
    GstElement *ear = room.named(kRoomSpeakerName);
    g_assert_cmpstr(factory(ear), ==, "fakesink");
    g_assert_true(bool_prop(ear, "sync"));
}

VideoPlan vp8_plan(unsigned pt) {
    const CodecSpec &vp8 = codec_spec(Codec::VP8);
    return VideoPlan{&vp8, &vp8.encoders.front(), pt, true};
}

void test_payloaders() {
    {
        MediaOptions o;
        o.width = 320;
        o.height = 240;
        o.video_kbps = 600;
        o.encoder_threads = 2;
        Parsed v(video_payload_description(vp8_plan(100), o));
        // Each leg's own encoder, fed through a queue that drops old frames rather than
        // adding latency when the encoder falls behind, then the scaler and size filter that
        // bandwidth adaptation narrows (no size until it does).
        GstElement *q = v.one("queue");
        check_str_eq(enum_prop(q, "leaky"), "downstream");
        GstElement *size = v.named(kVideoSizeName);
        GstElement *scale = v.one("videoscale");
        g_assert_true(upstream(scale) == q);
        g_assert_true(upstream(size) == scale);
        duet::Ref<GstCaps> any;
        g_object_get(size, "caps", any.out(), nullptr);
        g_assert_true(gst_caps_is_any(any.get()));
        // Real-time VP8: these are what keep latency and CPU down.
        GstElement *enc = v.one("vp8enc");
        g_assert_true(upstream(enc) == size);
        g_assert_cmpint(int_prop(enc, "deadline"), ==, 1);
        g_assert_cmpint(int_prop(enc, "cpu-used"), ==, 8);
        g_assert_cmpint(int_prop(enc, "static-threshold"), ==, 1);
        check_str_eq(enum_prop(enc, "end-usage"), "cbr");
        g_assert_cmpint(int_prop(enc, "target-bitrate"), ==, 600000);
        g_assert_cmpint(int_prop(enc, "keyframe-max-dist"), ==, 3000);
        check_str_eq(enum_prop(enc, "error-resilient"), "default");
        g_assert_cmpint(int_prop(enc, "lag-in-frames"), ==, 0);
        g_assert_cmpint(int_prop(enc, "threads"), ==, 1);
        GstElement *pay = v.one("rtpvp8pay");
        g_assert_cmpint(int_prop(pay, "pt"), ==, 100);
        check_str_eq(enum_prop(pay, "picture-id-mode"), "15-bit");
        CapsFields caps(downstream(pay));
        check_rtp_caps(caps, "video", "VP8", 90000, 100);
        // A second encoder thread only spins at this size; a 720p picture gets the two allowed.
        o.width = 1280;
        o.height = 720;
        Parsed hd(video_payload_description(vp8_plan(100), o));
        g_assert_cmpint(int_prop(hd.one("vp8enc"), "threads"), ==, 2);
    }
    {
        Parsed a(audio_payload_description(AudioPlan{111, false}));
        GstElement *pay = a.one("rtpopuspay");
        g_assert_cmpint(int_prop(pay, "pt"), ==, 111);
        CapsFields caps(downstream(pay));
        check_rtp_caps(caps, "audio", "OPUS", 48000, 111);
    }
    CapsFields caps(rtp_caps(codec_spec(Codec::VP8), 96));
    check_rtp_caps(caps, "video", "VP8", 90000, 96);
    g_assert_cmpint(gst_structure_n_fields(caps.s), ==, 4);
}

std::string video_receive_description(const ResolvedMedia &m, bool record) {
    const CodecSpec &vp8 = codec_spec(Codec::VP8);
    return receive_description(vp8, *installed_decoder(vp8), m, record);
}

std::string audio_receive_description(const ResolvedMedia &m, bool record) {
    const CodecSpec &opus = codec_spec(Codec::Opus);
    return receive_description(opus, *installed_decoder(opus), m, record);
}

void check_depayloader_waits_for_keyframes(GstElement *depay) {
    g_assert_true(bool_prop(depay, "request-keyframe"));
    g_assert_true(bool_prop(depay, "wait-for-keyframe"));
}

void test_receive_none_decodes_and_discards() {
    {
        Parsed v(video_receive_description(test_media(SinkMode::None), false));
        GstElement *depay = v.one("rtpvp8depay");
        check_depayloader_waits_for_keyframes(depay);
        GstElement *dec = v.named(kDecoderName);
        g_assert_cmpstr(factory(dec), ==, "vp8dec");
        g_assert_true(downstream(depay) == dec);
        GstElement *sink = v.one("fakesink");
        g_assert_false(bool_prop(sink, "sync"));
        g_assert_false(bool_prop(sink, "async"));
        g_assert_false(v.has_element("autovideosink"));
        g_assert_null(v.named("record_tee"));
    }
    Parsed a(audio_receive_description(test_media(SinkMode::None), false));
    GstElement *dec = a.named(kDecoderName);
    g_assert_cmpstr(factory(dec), ==, "opusdec");
    g_assert_true(downstream(a.one("rtpopusdepay")) == dec);
    g_assert_true(a.has_element("fakesink"));
}

gboolean only_wayland_fullscreen(const char *domain, GLogLevelFlags, const char *message,
                                 gpointer) {
    return !(g_strcmp0(domain, "GStreamer-Wayland") == 0 && strstr(message, "fullscreen"));
}
void swallow_log(const char *, GLogLevelFlags, const char *, gpointer) {}

void test_receive_window() {
    ResolvedMedia m = test_media(SinkMode::Window);
    m.screen_width = 1920;
    m.screen_height = 1080;
    {
        Parsed v(video_receive_description(m, false));
        // Scaled to fill the screen (ximagesink cannot scale), then shown.
        GstElement *sink = v.one("autovideosink");
        CapsFields size(upstream(sink));
        g_assert_cmpint(size.integer("width"), ==, 1920);
        g_assert_cmpint(size.integer("height"), ==, 1080);
        g_assert_cmpstr(factory(upstream(upstream(sink))), ==, "videoscale");
    }
    m.wayland = true;
    std::string w = video_receive_description(m, false);
    GstElementFactory *wayland = gst_element_factory_find("waylandsink");
    if (wayland) {
        gst_object_unref(wayland);
        // waylandsink 1.22 logs a critical when `fullscreen` is set before it has a window
        // (harmless: the value is kept and used when the window is made); let that one by.
        g_test_log_set_fatal_handler(only_wayland_fullscreen, nullptr);
        guint quiet = g_log_set_handler(
            "GStreamer-Wayland",
            GLogLevelFlags(G_LOG_LEVEL_CRITICAL | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION),
            swallow_log, nullptr);
        Parsed v(w);
        g_log_remove_handler("GStreamer-Wayland", quiet);
        g_test_log_set_fatal_handler(nullptr, nullptr);
        // Wayland scales by itself: straight to a full-screen window.
        GstElement *sink = v.one("waylandsink");
        g_assert_true(bool_prop(sink, "fullscreen"));
        g_assert_true(bool_prop(sink, "sync"));
        g_assert_cmpstr(factory(upstream(sink)), ==, "videoconvert");
    } else {
        g_test_message("waylandsink is not installed: checking the description only");
        g_assert_true(has(w, "waylandsink fullscreen=true"));
    }
    // Audio goes to the shared speaker (speaker_description), not to a sink of its own.
    m.speaker = true;
    Parsed a(audio_receive_description(m, false));
    g_assert_false(a.has_element("autoaudiosink"));
    g_assert_cmpstr(factory(a.named(kPlayOutName)), ==, "audioresample");
}

void test_receive_record_tap() {
    Parsed v(video_receive_description(test_media(), true));
    // The tap is before the decoder: VP8 goes into the file as received.
    GstElement *depay = v.one("rtpvp8depay");
    check_depayloader_waits_for_keyframes(depay);
    GstElement *tee = downstream(depay);
    g_assert_cmpstr(name(tee), ==, "record_tee");
    g_assert_cmpstr(factory(tee), ==, "tee");
    GstPad *src = gst_element_get_static_pad(v.bin(), "src");
    g_assert_nonnull(src); // the recorder's input
    gst_object_unref(src);
    Parsed a(audio_receive_description(test_media(), true));
}

void test_recorder() {
    Parsed r(recorder_description(codec_spec(Codec::VP8).record_muxer), false);
    GstElement *mux = r.named("record_mux");
    g_assert_cmpstr(factory(mux), ==, "webmmux");
    GstElement *file = r.named(kRecordSinkName);
    g_assert_cmpstr(factory(file), ==, "filesink");
    g_assert_true(downstream(mux) == file);
    // One queue feeds the muxer's video pad, the other its audio pad.
    for (auto [queue, pad] :
         {std::pair{kRecordVideoQueue, "video_0"}, std::pair{kRecordAudioQueue, "audio_0"}}) {
        GstElement *q = r.named(queue);
        g_assert_cmpstr(factory(q), ==, "queue");
        GstPad *out = gst_element_get_static_pad(q, "src");
        GstPad *in = gst_pad_get_peer(out);
        g_assert_nonnull(in);
        check_str_eq(GST_OBJECT_NAME(in), pad);
        g_assert_true(GST_OBJECT_PARENT(in) == GST_OBJECT(mux));
        gst_object_unref(in);
        gst_object_unref(out);
    }
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
        std::set<std::string> out;
        for (const auto &r : v)
            out.insert(r.element);
        return out;
    };
    auto autos = names(required_elements(o));
    g_assert_true(autos.count("webrtcbin"));
    g_assert_true(autos.count("nicesrc"));
    g_assert_true(autos.count("videotestsrc")); // the fallback must exist
    g_assert_false(autos.count("webmmux"));
    o.record_path = "x.webm";
    o.sink = SinkMode::Window;
    o.video_source = VideoSource::Camera;
    auto all = names(required_elements(o));
    g_assert_true(all.count("webmmux"));
    // Codecs come from the table: VP8 (every browser has it) unless --video-codec h264.
    g_assert_true(all.count("rtpvp8pay") && all.count("vp8dec") && all.count("opusenc"));
    g_assert_false(all.count("rtph264pay"));
    o.video_codec = VideoCodecPref::H264;
    auto h264 = names(required_elements(o));
    g_assert_true(h264.count("rtph264pay") && h264.count("h264parse"));
    g_assert_false(h264.count("rtpvp8pay"));
    g_assert_true(all.count("autovideosink"));
    g_assert_true(all.count("v4l2src"));
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
    // Alternatives: found if any one is there; named together if none is.
    RequiredElement h264dec{"avdec_h264", "gstreamer1.0-libav", {{"openh264dec", "gstreamer1.0-plugins-bad"}}};
    g_assert_cmpuint(missing_elements({h264dec}, [](const char *e) { return g_str_equal(e, "openh264dec"); }).size(), ==, 0);
    auto none = missing_elements({h264dec}, [](const char *) { return false; });
    g_assert_cmpuint(none.size(), ==, 1);
    g_assert_true(has(describe_missing(none), "avdec_h264 (in gstreamer1.0-libav) or openh264dec (in gstreamer1.0-plugins-bad)"));
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

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    gst_init(nullptr, nullptr);
    g_test_add_func("/pipeline/video-send-test-source", test_video_send_test_source);
    g_test_add_func("/pipeline/video-send-camera", test_video_send_camera);
    g_test_add_func("/pipeline/audio-send", test_audio_send);
    g_test_add_func("/pipeline/audio-processing", test_audio_processing);
    g_test_add_func("/pipeline/speaker", test_speaker);
    g_test_add_func("/pipeline/payloaders", test_payloaders);
    g_test_add_func("/pipeline/receive-none", test_receive_none_decodes_and_discards);
    g_test_add_func("/pipeline/receive-window", test_receive_window);
    g_test_add_func("/pipeline/receive-record-tap", test_receive_record_tap);
    g_test_add_func("/pipeline/recorder", test_recorder);
    g_test_add_func("/pipeline/sdp/candidates", test_candidates);
    g_test_add_func("/pipeline/plugins/required", test_required_elements);
    g_test_add_func("/pipeline/plugins/missing", test_missing_elements_message);
    g_test_add_func("/pipeline/devices/resolve-sink", test_resolve_sink);
    return g_test_run();
}
