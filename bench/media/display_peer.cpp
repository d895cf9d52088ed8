// SPDX-License-Identifier: MIT
// duet-peer as it is (same flags, same PeerApp), plus a stopwatch at its window sink: for the
// display-latency bench (bench/media/display.mjs). Every frame on its way into the video
// sink has its mean luma read; when it changes between black and white, the moment the sink
// puts that frame on the screen is written down on CLOCK_MONOTONIC, and at exit all of them
// go to the file named by DUET_BENCH_FLIPS as JSON.
//
// The moment is computed, not waited for: a sink with sync=true renders a buffer at
//   base time + running time (its PTS in the segment) + configured latency - render delay
// on the pipeline clock (GStreamer's system clock, CLOCK_MONOTONIC), or at once if that is
// already past. The probe runs as the buffer enters the sink, so it knows both. What it
// leaves out: the time the sink takes to draw after its wait (XPutImage to Xvfb, well under
// a millisecond here) and the screen's own scan-out, which Xvfb does not have. A frame later
// than the sink's max-lateness would be dropped by the sink; it is not counted as the flip
// and the next frame of the new colour is.
#include "common/logging.h"
#include "pipelines/debug.h"
#include "src/peer/cli.h"
#include "src/peer/exit_codes.h"
#include "src/peer/peer_app.h"
#include "src/peer/ws_signaler.h"

#include <glib-unix.h>
#include <gst/base/gstbasesink.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <algorithm>
#include <cinttypes>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <vector>

namespace {

constexpr double kWhiteThreshold = 128.0; // mean of the first component, 0-255
constexpr int kStep = 8;                  // every 8th pixel of every 8th row

struct Flip {
    bool white;
    gint64 render_us; // when the sink shows it, CLOCK_MONOTONIC
    gint64 enter_us;  // when it entered the sink
};

std::mutex g_lock;
std::vector<Flip> g_flips;
// The send side, with DUET_BENCH_SEND_FLIP_MS: our test picture turns black and white in
// turn; the first frame of each new colour leaving videotestsrc is its capture (a camera
// stamps a frame when it is read out; what comes after, overlays and all, is sending).
GstElement *g_source = nullptr; // the sending videotestsrc (the pipeline holds it)
bool g_source_white = false;
int g_capture_class = -1;
std::vector<Flip> g_captures; // render_us unused: enter_us is the capture
int g_last_class = -1;
gint64 g_frames = 0, g_late = 0;

int frame_class(GstPad *pad, GstBuffer *buf) {
    if (!GST_IS_BUFFER(buf))
        return -1;
    GstCaps *caps = gst_pad_get_current_caps(pad);
    GstVideoInfo info;
    bool ok = caps && gst_video_info_from_caps(&info, caps);
    if (caps)
        gst_caps_unref(caps);
    GstVideoFrame frame;
    if (!ok || !gst_video_frame_map(&frame, &info, buf, GST_MAP_READ))
        return -1;
    const guint8 *p = static_cast<const guint8 *>(GST_VIDEO_FRAME_COMP_DATA(&frame, 0));
    int stride = GST_VIDEO_FRAME_COMP_STRIDE(&frame, 0);
    int pstride = GST_VIDEO_FRAME_COMP_PSTRIDE(&frame, 0);
    guint64 sum = 0, n = 0;
    for (int y = 0; y < GST_VIDEO_FRAME_COMP_HEIGHT(&frame, 0); y += kStep)
        for (int x = 0; x < GST_VIDEO_FRAME_COMP_WIDTH(&frame, 0); x += kStep, ++n)
            sum += p[y * stride + x * pstride];
    gst_video_frame_unmap(&frame);
    return n == 0 ? -1 : double(sum) / double(n) > kWhiteThreshold ? 1 : 0;
}

// The clock time at which `sink` renders `buf`, or -1 if it cannot tell (no clock yet).
GstClockTimeDiff render_time(GstBaseSink *sink, GstPad *pad, GstBuffer *buf) {
    if (!GST_BUFFER_PTS_IS_VALID(buf))
        return -1;
    GstEvent *ev = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0);
    if (!ev)
        return -1;
    const GstSegment *seg = nullptr;
    gst_event_parse_segment(ev, &seg);
    guint64 rt = gst_segment_to_running_time(seg, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
    gst_event_unref(ev);
    if (rt == GST_CLOCK_TIME_NONE)
        return -1;
    GstClockTimeDiff t = GstClockTimeDiff(gst_element_get_base_time(GST_ELEMENT(sink)) + rt +
                                          gst_base_sink_get_latency(sink)) +
                         gst_base_sink_get_ts_offset(sink) -
                         GstClockTimeDiff(gst_base_sink_get_render_delay(sink));
    return t;
}

GstPadProbeReturn on_sink_buffer(GstPad *pad, GstPadProbeInfo *info, gpointer) {
    auto *sink = GST_BASE_SINK(GST_OBJECT_PARENT(pad));
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    GstClock *clock = gst_element_get_clock(GST_ELEMENT(sink));
    if (!clock)
        return GST_PAD_PROBE_OK;
    GstClockTimeDiff now = GstClockTimeDiff(gst_clock_get_time(clock));
    gint64 enter_us = g_get_monotonic_time();
    gst_object_unref(clock);
    int cls = frame_class(pad, buf);
    GstClockTimeDiff render = render_time(sink, pad, buf);
    if (cls < 0 || render < 0)
        return GST_PAD_PROBE_OK;
    std::lock_guard<std::mutex> hold(g_lock);
    ++g_frames;
    if (cls == g_last_class)
        return GST_PAD_PROBE_OK;
    gint64 max_late = gst_base_sink_get_max_lateness(sink);
    if (gst_base_sink_is_qos_enabled(sink) && max_late >= 0 && now > render + max_late) {
        ++g_late; // the sink drops it: the next frame of this colour is the flip on screen
        return GST_PAD_PROBE_OK;
    }
    if (g_last_class >= 0) {
        // The pipeline clock is the system clock, CLOCK_MONOTONIC like g_get_monotonic_time.
        gint64 shown = std::max(render, now) / 1000;
        g_flips.push_back({cls == 1, shown, enter_us});
    }
    g_last_class = cls;
    return GST_PAD_PROBE_OK;
}

GstPadProbeReturn on_captured(GstPad *pad, GstPadProbeInfo *info, gpointer) {
    gint64 now = g_get_monotonic_time();
    int cls = frame_class(pad, GST_PAD_PROBE_INFO_BUFFER(info));
    std::lock_guard<std::mutex> hold(g_lock);
    if (cls >= 0 && cls != g_capture_class) {
        if (g_capture_class >= 0)
            g_captures.push_back({cls == 1, 0, now});
        g_capture_class = cls;
    }
    return GST_PAD_PROBE_OK;
}

gboolean flip_source(gpointer) {
    GstElement *source = nullptr;
    bool white = false;
    {
        std::lock_guard<std::mutex> hold(g_lock);
        source = g_source;
        white = g_source_white = !g_source_white;
    }
    if (source) // set outside the lock: the probes take it on streaming threads
        gst_util_set_object_arg(G_OBJECT(source), "pattern", white ? "white" : "black");
    return G_SOURCE_CONTINUE;
}

// The video sink of a receive branch (a video sink element: autovideosink's child), and
// with DUET_BENCH_SEND_FLIP_MS the sending videotestsrc.
gboolean on_element_added(GSignalInvocationHint *, guint n, const GValue *params, gpointer) {
    if (n < 2)
        return TRUE;
    auto *el = GST_ELEMENT(g_value_get_object(&params[1]));
    GstElementFactory *f = gst_element_get_factory(el);
    gboolean live = FALSE; // the call's source; the encoder probes' are not live
    if (f && std::strcmp(GST_OBJECT_NAME(f), "videotestsrc") == 0)
        g_object_get(el, "is-live", &live, nullptr);
    if (live && g_getenv("DUET_BENCH_SEND_FLIP_MS")) {
        gst_util_set_object_arg(G_OBJECT(el), "pattern", "black");
        GstPad *src = gst_element_get_static_pad(el, "src");
        gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, on_captured, nullptr, nullptr);
        gst_object_unref(src);
        std::lock_guard<std::mutex> hold(g_lock);
        g_source = GST_ELEMENT(gst_object_ref(el)); // kept past the pipeline, for the timer
        return TRUE;
    }
    const char *klass = f ? gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS) : "";
    if (!GST_IS_BASE_SINK(el) || !klass || !std::strstr(klass, "Sink") || !std::strstr(klass, "Video"))
        return TRUE;
    GstPad *pad = gst_element_get_static_pad(el, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_sink_buffer, nullptr, nullptr);
    gst_object_unref(pad);
    return TRUE;
}

void write_flips(const char *path) {
    FILE *out = path ? std::fopen(path, "w") : nullptr;
    if (!out)
        return;
    std::lock_guard<std::mutex> hold(g_lock);
    std::fprintf(out, "{\"frames\":%" G_GINT64_FORMAT ",\"late\":%" G_GINT64_FORMAT ",\"flips\":[",
                 g_frames, g_late);
    for (size_t i = 0; i < g_flips.size(); ++i)
        std::fprintf(out, "%s{\"white\":%s,\"render_us\":%" G_GINT64_FORMAT ",\"enter_us\":%" G_GINT64_FORMAT "}",
                     i ? "," : "", g_flips[i].white ? "true" : "false", g_flips[i].render_us,
                     g_flips[i].enter_us);
    std::fprintf(out, "],\"captures\":[");
    for (size_t i = 0; i < g_captures.size(); ++i)
        std::fprintf(out, "%s{\"white\":%s,\"capture_us\":%" G_GINT64_FORMAT "}", i ? "," : "",
                     g_captures[i].white ? "true" : "false", g_captures[i].enter_us);
    std::fprintf(out, "]}\n");
    std::fclose(out);
}

} // namespace

int main(int argc, char **argv) {
    duet::log_to_stderr();
    auto cli = duet::peer::parse_cli(std::vector<std::string>(argv, argv + argc));
    if (!cli) {
        std::fprintf(stderr, "duet-bench-display-peer: %s\n", cli.message().c_str());
        return duet::peer::kExitUsage;
    }
    const duet::peer::PeerOptions &opts = cli.value();
    gst_init(nullptr, nullptr);
    duet::pipelines::init_debug_category();
    g_signal_add_emission_hook(g_signal_lookup("element-added", GST_TYPE_BIN), 0, on_element_added,
                               nullptr, nullptr);

    if (const char *ms = g_getenv("DUET_BENCH_SEND_FLIP_MS"))
        g_timeout_add(guint(std::max(50, std::atoi(ms))), flip_source, nullptr);
    duet::peer::EventWriter events(stdout, opts.events);
    GMainLoop *loop = g_main_loop_new(nullptr, FALSE);
    int rc;
    {
        duet::peer::PeerApp app(opts,
                                std::make_unique<duet::peer::WsSignaler>(
                                    opts.server, opts.connect_timeout_s, opts.ca_file),
                                events);
        app.set_on_finished([loop] { g_main_loop_quit(loop); });
        if (app.start()) {
            auto stop = +[](gpointer data) -> gboolean {
                static_cast<duet::peer::PeerApp *>(data)->shutdown(duet::peer::kExitOk,
                                                                   "signal received");
                return G_SOURCE_CONTINUE;
            };
            guint sigterm = g_unix_signal_add(SIGTERM, stop, &app);
            if (!app.finished())
                g_main_loop_run(loop);
            g_source_remove(sigterm);
        }
        rc = app.exit_code();
    }
    write_flips(g_getenv("DUET_BENCH_FLIPS"));
    g_main_loop_unref(loop);
    return rc;
}
