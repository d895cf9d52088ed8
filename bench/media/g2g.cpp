// SPDX-License-Identifier: MIT
// Glass-to-glass latency: two PeerApps in one process; the sender's test picture flips between
// black and white at known instants and the receiver times each flip in its decoded frames.
//
// No product code is changed for this: GStreamer elements are found as they are added to
// bins (an emission hook on GstBin::element-added), the sender's videotestsrc gets its
// `pattern` flipped from the main thread, and a buffer probe on the receiving decoder's src
// pad reads the mean luma of every decoded frame. Both ends use CLOCK_MONOTONIC
// (g_get_monotonic_time, and GStreamer's system clock for the sync-sink estimate).
#include "pipelines/debug.h"
#include "pipelines/launch.h"
#include "tests/support/loopback_signaler.h"
#include "src/peer/peer_app.h"

#include <gst/gst.h>
#include <gst/video/video.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

using namespace duet::peer;

namespace {

// Mean luma (0-255) above this is "white". Black and white test frames sit near 16 and 235;
// the labels the sender draws on top move the mean by a few units only.
constexpr double kWhiteThreshold = 128.0;
// Every n-th pixel of every n-th row is enough for a mean of a flat picture.
constexpr int kLumaStep = 8;

struct Options {
    int latency_ms = duet::pipelines::kDefaultLatencyMs;
    int switches = 60;
    int interval_ms = 250;
    int width = 640, height = 480, fps = 30;
    int timeout_s = 30;
    std::string video_codec = "vp8"; // --video-codec of both peers
    std::string video_encoder;       // --video-encoder of both peers ("": the first that works)
};

// One decoded frame class change seen by the receiver.
struct Detection {
    bool white;
    gint64 at_us;        // g_get_monotonic_time() in the probe
    gint64 sync_wait_us; // how long a sync=true sink would still hold this frame
};

// Shared between the main thread and the receiver's streaming thread.
struct Shared {
    std::mutex lock;
    GstElement *sender_pipeline = nullptr; // frames decoded inside it are the other way round
    std::vector<GstElement *> test_sources;
    GstElement *sender_source = nullptr;    // the videotestsrc whose pattern flips
    GstPad *receiver_decoder_src = nullptr; // owned ref, for the LATENCY query
    std::vector<Detection> detections;
    std::vector<Detection> captures; // class changes leaving the sender's videotestsrc
    int last_capture_class = -1;
    int last_class = -1; // -1 unknown, 0 black, 1 white
    gint64 frames = 0;
    GstClockTime upstream_latency = 0; // of the receiving decoder, from a LATENCY query
} g_shared;

GstElement *top_level(GstElement *e) {
    GstObject *o = GST_OBJECT(e);
    while (GST_OBJECT_PARENT(o))
        o = GST_OBJECT_PARENT(o);
    return GST_ELEMENT(o);
}

const char *factory_name(GstElement *e) {
    GstElementFactory *f = gst_element_get_factory(e);
    return f ? GST_OBJECT_NAME(f) : "";
}

// Mean of the first colour component (Y, or R for RGB formats), planar or packed.
double mean_luma(GstBuffer *buf, const GstVideoInfo &info) {
    GstVideoFrame frame;
    if (!gst_video_frame_map(&frame, const_cast<GstVideoInfo *>(&info), buf, GST_MAP_READ))
        return -1;
    const guint8 *y = static_cast<const guint8 *>(GST_VIDEO_FRAME_COMP_DATA(&frame, 0));
    int stride = GST_VIDEO_FRAME_COMP_STRIDE(&frame, 0);
    int pstride = GST_VIDEO_FRAME_COMP_PSTRIDE(&frame, 0);
    guint64 sum = 0, n = 0;
    for (int row = 0; row < GST_VIDEO_FRAME_COMP_HEIGHT(&frame, 0); row += kLumaStep)
        for (int col = 0; col < GST_VIDEO_FRAME_COMP_WIDTH(&frame, 0); col += kLumaStep, ++n)
            sum += y[row * stride + col * pstride];
    gst_video_frame_unmap(&frame);
    return n ? double(sum) / double(n) : -1;
}

// Luma class of a raw buffer on `pad`: 1 white, 0 black, -1 unknown.
int frame_class(GstPad *pad, GstBuffer *buf) {
    GstCaps *caps = gst_pad_get_current_caps(pad);
    GstVideoInfo vinfo;
    bool ok = caps && gst_video_info_from_caps(&vinfo, caps);
    if (caps)
        gst_caps_unref(caps);
    if (!ok)
        return -1;
    double luma = mean_luma(buf, vinfo);
    return luma < 0 ? -1 : luma > kWhiteThreshold ? 1 : 0;
}

// When a sink with sync=true would render this buffer, minus now: what --sink window adds.
gint64 sync_wait_us(GstPad *pad, GstBuffer *buf, GstClockTime latency) {
    GstElement *el = GST_ELEMENT(GST_OBJECT_PARENT(pad));
    GstClock *clock = el ? gst_element_get_clock(el) : nullptr;
    GstEvent *seg_ev = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0);
    gint64 out = 0;
    if (clock && seg_ev && GST_BUFFER_PTS_IS_VALID(buf)) {
        const GstSegment *seg = nullptr;
        gst_event_parse_segment(seg_ev, &seg);
        guint64 rt = gst_segment_to_running_time(seg, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
        if (rt != GST_CLOCK_TIME_NONE) {
            GstClockTime render = gst_element_get_base_time(el) + rt + latency;
            out = (GstClockTimeDiff(render) - GstClockTimeDiff(gst_clock_get_time(clock))) / 1000;
        }
    }
    if (seg_ev)
        gst_event_unref(seg_ev);
    if (clock)
        gst_object_unref(clock);
    return std::max<gint64>(out, 0);
}

GstPadProbeReturn on_decoded(GstPad *pad, GstPadProbeInfo *info, gpointer) {
    gint64 now = g_get_monotonic_time();
    GstElement *dec = GST_ELEMENT(GST_OBJECT_PARENT(pad));
    {
        std::lock_guard<std::mutex> hold(g_shared.lock);
        if (!g_shared.sender_pipeline || top_level(dec) == g_shared.sender_pipeline)
            return GST_PAD_PROBE_OK; // the sender decoding the receiver's moving ball
    }
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    int cls = frame_class(pad, buf);
    if (cls < 0)
        return GST_PAD_PROBE_OK;
    std::lock_guard<std::mutex> hold(g_shared.lock);
    if (!g_shared.receiver_decoder_src)
        g_shared.receiver_decoder_src = GST_PAD(gst_object_ref(pad));
    ++g_shared.frames;
    if (cls != g_shared.last_class) {
        if (g_shared.last_class >= 0)
            g_shared.detections.push_back(
                {cls == 1, now, sync_wait_us(pad, buf, g_shared.upstream_latency)});
        g_shared.last_class = cls;
    }
    return GST_PAD_PROBE_OK;
}

// Raw frames leaving a test source: when does a flip become a captured frame?
GstPadProbeReturn on_captured(GstPad *pad, GstPadProbeInfo *info, gpointer) {
    gint64 now = g_get_monotonic_time();
    {
        std::lock_guard<std::mutex> hold(g_shared.lock);
        if (GST_ELEMENT(GST_OBJECT_PARENT(pad)) != g_shared.sender_source)
            return GST_PAD_PROBE_OK;
    }
    int cls = frame_class(pad, GST_PAD_PROBE_INFO_BUFFER(info));
    std::lock_guard<std::mutex> hold(g_shared.lock);
    if (cls >= 0 && cls != g_shared.last_capture_class) {
        if (g_shared.last_capture_class >= 0)
            g_shared.captures.push_back({cls == 1, now, 0});
        g_shared.last_capture_class = cls;
    }
    return GST_PAD_PROBE_OK;
}

// A receive branch's video decoder, whatever the codec: the element launch.cpp names
// "decoder", of the video decoder class.
bool is_video_decoder(GstElement *el) {
    GstElementFactory *f = gst_element_get_factory(el);
    const char *klass = f ? gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS) : "";
    return std::strcmp(GST_OBJECT_NAME(el), duet::pipelines::kDecoderName) == 0 && klass &&
           std::strstr(klass, "Decoder") && std::strstr(klass, "Video");
}

// Sees every element added to any bin: remembers test sources, probes video decoders.
gboolean on_element_added(GSignalInvocationHint *, guint n, const GValue *params, gpointer) {
    if (n < 2)
        return TRUE;
    auto *el = GST_ELEMENT(g_value_get_object(&params[1]));
    const char *f = factory_name(el);
    if (std::strcmp(f, "videotestsrc") == 0) {
        GstPad *src = gst_element_get_static_pad(el, "src");
        gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, on_captured, nullptr, nullptr);
        gst_object_unref(src);
        std::lock_guard<std::mutex> hold(g_shared.lock);
        g_shared.test_sources.push_back(el);
    } else if (is_video_decoder(el)) {
        GstPad *src = gst_element_get_static_pad(el, "src");
        gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, on_decoded, nullptr, nullptr);
        gst_object_unref(src);
    }
    return TRUE; // stay installed
}

// A peer with its events kept in memory, as in tests/integration/test_peer_loopback.cpp.
struct BenchPeer {
    EventWriter writer{stdout, false};
    std::vector<std::pair<Event, gint64>> events;
    std::unique_ptr<PeerApp> app;

    BenchPeer(LoopbackHub &hub, const Options &o, const std::string &state_dir) {
        writer.set_tap([this](const Event &e) { events.emplace_back(e, g_get_monotonic_time()); });
        PeerOptions p;
        p.room = "g2g";
        p.media.video_source = duet::pipelines::VideoSource::Test;
        p.media.audio_source = duet::pipelines::AudioSource::Test;
        p.media.sink = duet::pipelines::SinkMode::None;
        p.media.width = o.width;
        p.media.height = o.height;
        p.media.fps = o.fps;
        p.media.latency_ms = o.latency_ms;
        p.media.video_codec = o.video_codec == "h264" ? duet::pipelines::VideoCodecPref::H264
                                                      : duet::pipelines::VideoCodecPref::VP8;
        p.media.video_encoder = o.video_encoder;
        p.state_dir = state_dir;
        app = std::make_unique<PeerApp>(p, hub.make_signaler(), writer);
    }
    gint64 first(const std::string &name, const std::string &kind = {}) const {
        for (const auto &[e, t] : events)
            if (e.name == name && (kind.empty() || e.str("kind") == kind))
                return t;
        return -1;
    }
};

bool iterate_until(const std::function<bool()> &pred, gint64 deadline_us) {
    GMainContext *ctx = g_main_context_default();
    while (!pred()) {
        if (g_get_monotonic_time() >= deadline_us)
            return false;
        GSource *tick = g_timeout_source_new(5);
        g_source_set_callback(
            tick, [](gpointer) { return G_SOURCE_REMOVE; }, nullptr, nullptr);
        g_source_attach(tick, ctx);
        g_main_context_iteration(ctx, TRUE);
        g_source_destroy(tick);
        g_source_unref(tick);
    }
    return true;
}

double percentile(std::vector<double> v, double p) {
    if (v.empty())
        return -1;
    std::sort(v.begin(), v.end());
    double pos = p * double(v.size() - 1);
    size_t lo = size_t(pos);
    size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (pos - double(lo));
}

bool parse_args(int argc, char **argv, Options *o) {
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&](int *out) {
            if (i + 1 >= argc)
                return false;
            *out = std::atoi(argv[++i]);
            return true;
        };
        bool ok = true;
        if (a == "--latency-ms" && i + 1 < argc && std::strcmp(argv[i + 1], "auto") == 0)
            o->latency_ms = duet::pipelines::kLatencyAuto, ++i;
        else if (a == "--latency-ms")
            ok = next(&o->latency_ms);
        else if (a == "--switches")
            ok = next(&o->switches);
        else if (a == "--interval-ms")
            ok = next(&o->interval_ms);
        else if (a == "--fps")
            ok = next(&o->fps);
        else if (a == "--timeout")
            ok = next(&o->timeout_s);
        else if (a == "--video-codec" && i + 1 < argc)
            o->video_codec = argv[++i];
        else if (a == "--video-encoder" && i + 1 < argc)
            o->video_encoder = argv[++i];
        else if (a == "--size" && i + 1 < argc)
            ok = std::sscanf(argv[++i], "%dx%d", &o->width, &o->height) == 2;
        else
            ok = false;
        if (!ok) {
            std::fprintf(stderr, "usage: duet-bench-g2g [--latency-ms MS|auto] [--switches N] "
                                 "[--interval-ms MS] [--size WxH] [--fps N] [--timeout S] "
                                 "[--video-codec vp8|h264] [--video-encoder ELEMENT]\n");
            return false;
        }
    }
    return o->switches > 0 && o->interval_ms > 0 && o->fps > 0;
}

} // namespace

int main(int argc, char **argv) {
    Options o;
    if (!parse_args(argc, argv, &o))
        return 2;
    gst_init(nullptr, nullptr);
    duet::pipelines::init_debug_category();
    g_signal_add_emission_hook(g_signal_lookup("element-added", GST_TYPE_BIN), 0, on_element_added,
                               nullptr, nullptr);

    gchar *tmp = g_dir_make_tmp("duet-g2g-XXXXXX", nullptr);
    std::string scratch = tmp;
    g_free(tmp);
    gint64 deadline = g_get_monotonic_time() + gint64(o.timeout_s) * G_USEC_PER_SEC;
    int rc = 0;
    {
        LoopbackHub hub;
        BenchPeer sender(hub, o, scratch), receiver(hub, o, scratch);
        if (!sender.app->start()) {
            std::fprintf(stderr, "g2g: the sender did not start\n");
            return 1;
        }
        GstElement *source = nullptr;
        {
            std::lock_guard<std::mutex> hold(g_shared.lock);
            if (!g_shared.test_sources.empty()) {
                source = g_shared.test_sources.back();
                g_shared.sender_source = source;
                g_shared.sender_pipeline = top_level(source);
            }
        }
        if (!source) {
            std::fprintf(stderr, "g2g: no videotestsrc in the sender's pipeline\n");
            return 1;
        }
        gst_util_set_object_arg(G_OBJECT(source), "pattern", "black");
        bool up = iterate_until([&] { return sender.first("joined") >= 0; }, deadline);
        // Both peers are "warm", like a kiosk that has waited in its room: the process-wide
        // DTLS certificate exists before the second one joins (a dtlsdec blocks until it
        // does), so ttff_inprocess_ms is the call set-up itself.
        if (GstElement *dtls = gst_element_factory_make("dtlsdec", nullptr))
            gst_object_unref(gst_object_ref_sink(dtls));
        up = up && receiver.app->start();
        up = up &&
             iterate_until([&] { return receiver.first("first-frame", "video") >= 0; }, deadline);
        if (!up) {
            std::fprintf(stderr, "g2g: the call did not start within %d s\n", o.timeout_s);
            return 1;
        }
        gint64 ttff_us = receiver.first("first-frame", "video") - receiver.first("joined");

        // Let the encoder's rate control and the jitter buffers settle for a second.
        gint64 settle = g_get_monotonic_time() + G_USEC_PER_SEC;
        iterate_until([] { return false; }, settle);
        // The receiving decoder's upstream latency (jitter buffer and all): what a sink with
        // sync=true, as `--sink window` has, holds each frame for on top of decoding.
        GstPad *dec_src = nullptr;
        {
            std::lock_guard<std::mutex> hold(g_shared.lock);
            dec_src = g_shared.receiver_decoder_src;
        }
        GstClockTime sync_latency = 0;
        if (dec_src) {
            GstQuery *q = gst_query_new_latency();
            gboolean live = FALSE;
            GstClockTime min = 0, max = 0;
            if (gst_pad_query(dec_src, q))
                gst_query_parse_latency(q, &live, &min, &max);
            gst_query_unref(q);
            sync_latency = min;
        }
        {
            std::lock_guard<std::mutex> hold(g_shared.lock);
            g_shared.upstream_latency = sync_latency;
        }

        // Flip at a random phase against the 33 ms frame grid, so capture quantisation is
        // sampled evenly instead of hitting the same point of every frame period.
        std::vector<std::pair<bool, gint64>> flips;
        GRand *rand = g_rand_new_with_seed(42);
        bool white = false;
        gint64 frame_us = G_USEC_PER_SEC / o.fps;
        for (int i = 0; i < o.switches; ++i) {
            gint64 at = g_get_monotonic_time() + gint64(o.interval_ms) * 1000 +
                        g_rand_int_range(rand, 0, gint32(frame_us));
            iterate_until([] { return false; }, at);
            white = !white;
            gint64 t = g_get_monotonic_time();
            gst_util_set_object_arg(G_OBJECT(source), "pattern", white ? "white" : "black");
            flips.emplace_back(white, t);
        }
        g_rand_free(rand);
        // The last flip's frame still has to travel.
        iterate_until([] { return false; }, g_get_monotonic_time() + 500 * 1000);

        std::vector<Detection> det, cap;
        gint64 frames;
        {
            std::lock_guard<std::mutex> hold(g_shared.lock);
            det = g_shared.detections;
            cap = g_shared.captures;
            frames = g_shared.frames;
        }
        // Capture: flip -> the first source frame of the new colour. The rest of the way
        // (overlay, encode, RTP, ICE/SRTP over loopback, jitter buffer, decode) is the total
        // minus this.
        std::vector<double> capture;
        size_t ci = 0;
        for (const auto &[to_white, at] : flips) {
            while (ci < cap.size() && (cap[ci].at_us < at || cap[ci].white != to_white))
                ++ci;
            if (ci < cap.size())
                capture.push_back(double(cap[ci].at_us - at) / 1000.0);
        }
        // Each detection belongs to the latest flip to its colour before it.
        std::vector<double> lat, sync_lat;
        size_t fi = 0;
        for (const auto &d : det) {
            while (fi + 1 < flips.size() && flips[fi + 1].second <= d.at_us)
                ++fi;
            if (fi < flips.size() && flips[fi].second <= d.at_us && flips[fi].first == d.white) {
                double ms = double(d.at_us - flips[fi].second) / 1000.0;
                lat.push_back(ms);
                sync_lat.push_back(ms + double(d.sync_wait_us) / 1000.0);
                ++fi;
            }
        }
        std::string latency_json = o.latency_ms == duet::pipelines::kLatencyAuto
                                       ? std::string("\"auto\"")
                                       : std::to_string(o.latency_ms);
        std::printf("{\"latency_ms\":%s,\"switches\":%d,\"detected\":%zu,\"frames\":%" PRId64
                    ",\"p50_ms\":%.1f,\"p95_ms\":%.1f,\"min_ms\":%.1f,\"max_ms\":%.1f,"
                    "\"sync_sink_p50_ms\":%.1f,\"sync_sink_p95_ms\":%.1f,"
                    "\"sync_latency_ms\":%.1f,\"capture_p50_ms\":%.1f,"
                    "\"after_capture_p50_ms\":%.1f,"
                    "\"ttff_inprocess_ms\":%.1f,\"size\":\"%dx%d\",\"fps\":%d,"
                    "\"codec\":\"%s\",\"encoder\":\"%s\"}\n",
                    latency_json.c_str(), o.switches, lat.size(), frames, percentile(lat, 0.5),
                    percentile(lat, 0.95), percentile(lat, 0.0), percentile(lat, 1.0),
                    percentile(sync_lat, 0.5), percentile(sync_lat, 0.95),
                    double(sync_latency) / 1e6, percentile(capture, 0.5),
                    percentile(lat, 0.5) - percentile(capture, 0.5), double(ttff_us) / 1000.0,
                    o.width, o.height, o.fps, o.video_codec.c_str(),
                    o.video_encoder.empty() ? "auto" : o.video_encoder.c_str());
        std::fflush(stdout);
        if (lat.size() < size_t(o.switches) / 2) {
            std::fprintf(stderr, "g2g: only %zu of %d flips were seen\n", lat.size(), o.switches);
            rc = 1;
        }
        {
            std::lock_guard<std::mutex> hold(g_shared.lock);
            g_shared.sender_pipeline = nullptr;
            g_shared.sender_source = nullptr;
            if (g_shared.receiver_decoder_src)
                gst_object_unref(g_shared.receiver_decoder_src);
            g_shared.receiver_decoder_src = nullptr;
        }
        sender.app->shutdown(0, "");
        receiver.app->shutdown(0, "");
        iterate_until([&] { return sender.app->finished() && receiver.app->finished(); },
                      g_get_monotonic_time() + 10 * G_USEC_PER_SEC);
    }
    std::error_code ec;
    std::filesystem::remove_all(scratch, ec);
    return rc;
}
