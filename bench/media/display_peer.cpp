// SPDX-License-Identifier: MIT
// duet-peer as it is (same flags, same PeerApp), plus a stopwatch at its window sink: for the
// display-latency bench (bench/media/display.mjs). Every frame on its way into the video
// sink has its mean luma read; when it changes between black and white, the moment the sink
// puts that frame on the screen is written down on CLOCK_MONOTONIC, and at exit all of them
// go to the file named by DUET_BENCH_FLIPS as JSON. With DUET_BENCH_PICTURE its test picture
// is one that needs bits (the bandwidth part, bwe.mjs).
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
#include "pipelines/launch.h"
#include "src/peer/cli.h"
#include "src/peer/exit_codes.h"
#include "src/peer/peer_app.h"
#include "src/peer/ws_signaler.h"

#include <glib-unix.h>
#include <gst/base/gstbasesink.h>
#include <gst/gst.h>
#include <gst/rtp/gstrtpbuffer.h>
#include <gst/video/video.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace {

constexpr double kWhiteThreshold = 128.0; // mean of the first component, 0-255
constexpr int kStep = 8;                  // every 8th pixel of every 8th row

struct Flip {
    bool white;
    gint64 render_us; // when the sink shows it, CLOCK_MONOTONIC
    gint64 enter_us;  // when it entered the sink
    GstClockTime pts = GST_CLOCK_TIME_NONE;
    gint64 latency_us = 0; // the sink's latency: render_us - latency_us is the frame's PTS
};

// Where a received frame spent its time, for the flips (all CLOCK_MONOTONIC, us): its
// first and last packet off the network (nicesrc: the RTP header is in the clear under
// SRTP), out of the jitter buffer (into the receive branch's queue), out of the decoder.
// Frames are keyed by SSRC and RTP timestamp on the wire, by PTS after the jitter buffer.
struct Span {
    gint64 first_us = 0, last_us = 0;
    void see(gint64 t) {
        if (!first_us)
            first_us = t;
        last_us = t;
    }
};
constexpr size_t kTraceLimit = 200000;   // entries per map; a bench run stays far below
std::unordered_map<guint64, Span> g_net; // (ssrc << 32 | rtp time) -> off the network
std::unordered_map<guint64, Span>
    g_jitter_out;                            // (ssrc << 32 | rtp time) -> out of the jitter buffer
std::map<GstClockTime, guint64> g_pts_frame; // PTS -> (ssrc << 32 | rtp time)
std::map<GstClockTime, gint64> g_decoded;    // PTS -> out of the decoder
// The send side, for duet-peer's own flips: out of the encoder (first leg), and the first
// packet of the frame handed to the network (nicesink), by PTS and by RTP key.
std::map<GstClockTime, gint64> g_encoded;                  // PTS -> out of an encoder
std::map<GstClockTime, std::vector<guint64>> g_sent_frame; // PTS -> its RTP keys
std::unordered_map<guint64, Span> g_sent;                  // RTP key -> onto the network

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
        g_flips.push_back({cls == 1, shown, enter_us, GST_BUFFER_PTS(buf),
                           gint64(gst_base_sink_get_latency(sink) / 1000)});
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
            g_captures.push_back(
                {cls == 1, 0, now, GST_BUFFER_PTS(GST_PAD_PROBE_INFO_BUFFER(info))});
        g_capture_class = cls;
    }
    return GST_PAD_PROBE_OK;
}

// An RTP packet's (ssrc << 32 | timestamp), or 0 for anything else (STUN, DTLS, RTCP).
guint64 rtp_key(const guint8 *d, gsize n) {
    if (n < 12 || (d[0] & 0xC0) != 0x80 || (d[1] >= 192 && d[1] <= 223))
        return 0;
    guint32 ts = GST_READ_UINT32_BE(d + 4), ssrc = GST_READ_UINT32_BE(d + 8);
    return (guint64(ssrc) << 32) | ts;
}

// With `map_pts`, also remembers which frame (RTP key) the buffer's PTS is.
void note_packet(std::unordered_map<guint64, Span> &into, GstBuffer *buf, gint64 now,
                 bool map_pts = false) {
    GstMapInfo map;
    if (!gst_buffer_map(buf, &map, GST_MAP_READ))
        return;
    guint64 key = rtp_key(map.data, map.size);
    gst_buffer_unmap(buf, &map);
    if (!key || into.size() >= kTraceLimit)
        return;
    into[key].see(now);
    if (map_pts && GST_BUFFER_PTS_IS_VALID(buf) && g_pts_frame.size() < kTraceLimit)
        g_pts_frame.emplace(GST_BUFFER_PTS(buf), key);
}

// Buffers and buffer lists alike.
template <typename F> void each_buffer(GstPadProbeInfo *info, F f) {
    if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) {
        f(GST_PAD_PROBE_INFO_BUFFER(info));
    } else if (GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST(info)) {
        for (guint i = 0; i < gst_buffer_list_length(list); ++i)
            f(gst_buffer_list_get(list, i));
    }
}

GstPadProbeReturn on_network(GstPad *, GstPadProbeInfo *info, gpointer) {
    gint64 now = g_get_monotonic_time();
    std::lock_guard<std::mutex> hold(g_lock);
    each_buffer(info, [&](GstBuffer *b) { note_packet(g_net, b, now); });
    return GST_PAD_PROBE_OK;
}

GstPadProbeReturn on_jitter_out(GstPad *, GstPadProbeInfo *info, gpointer) {
    gint64 now = g_get_monotonic_time();
    std::lock_guard<std::mutex> hold(g_lock);
    each_buffer(info, [&](GstBuffer *b) { note_packet(g_jitter_out, b, now, true); });
    return GST_PAD_PROBE_OK;
}

// A frame leaving a decoder or an encoder: its PTS -> when, into the map given as data.
GstPadProbeReturn on_frame_out(GstPad *, GstPadProbeInfo *info, gpointer data) {
    gint64 now = g_get_monotonic_time();
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    auto &times = *static_cast<std::map<GstClockTime, gint64> *>(data);
    std::lock_guard<std::mutex> hold(g_lock);
    if (GST_BUFFER_PTS_IS_VALID(buf) && times.size() < kTraceLimit)
        times.emplace(GST_BUFFER_PTS(buf), now);
    return GST_PAD_PROBE_OK;
}

GstPadProbeReturn on_payloaded(GstPad *, GstPadProbeInfo *info, gpointer) {
    std::lock_guard<std::mutex> hold(g_lock);
    each_buffer(info, [](GstBuffer *b) {
        GstMapInfo map;
        if (!GST_BUFFER_PTS_IS_VALID(b) || g_sent_frame.size() >= kTraceLimit ||
            !gst_buffer_map(b, &map, GST_MAP_READ))
            return;
        guint64 key = rtp_key(map.data, map.size);
        gst_buffer_unmap(b, &map);
        auto &keys = g_sent_frame[GST_BUFFER_PTS(b)];
        if (key && std::find(keys.begin(), keys.end(), key) == keys.end())
            keys.push_back(key);
    });
    return GST_PAD_PROBE_OK;
}

GstPadProbeReturn on_sent(GstPad *, GstPadProbeInfo *info, gpointer) {
    gint64 now = g_get_monotonic_time();
    std::lock_guard<std::mutex> hold(g_lock);
    each_buffer(info, [&](GstBuffer *b) { note_packet(g_sent, b, now); });
    return GST_PAD_PROBE_OK;
}

void probe_pad(GstElement *el, const char *pad_name, GstPadProbeType type, GstPadProbeCallback cb,
               gpointer data = nullptr) {
    if (GstPad *pad = gst_element_get_static_pad(el, pad_name)) {
        gst_pad_add_probe(pad, type, cb, data, nullptr);
        gst_object_unref(pad);
    }
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
    if (const char *picture = g_getenv("DUET_BENCH_PICTURE"); live && picture) {
        // A picture that needs bits, as a camera's does (the bandwidth part): space-separated
        // videotestsrc properties, e.g. "pattern=smpte horizontal-speed=4".
        gchar **pairs = g_strsplit(picture, " ", -1);
        for (gchar **p = pairs; *p; ++p)
            if (gchar *eq = std::strchr(*p, '='); eq && eq != *p) {
                *eq = '\0';
                gst_util_set_object_arg(G_OBJECT(el), *p, eq + 1);
            }
        g_strfreev(pairs);
    }
    if (live && g_getenv("DUET_BENCH_SEND_FLIP_MS")) {
        gst_util_set_object_arg(G_OBJECT(el), "pattern", "black");
        GstPad *src = gst_element_get_static_pad(el, "src");
        gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, on_captured, nullptr, nullptr);
        gst_object_unref(src);
        std::lock_guard<std::mutex> hold(g_lock);
        g_source = GST_ELEMENT(gst_object_ref(el)); // kept past the pipeline, for the timer
        return TRUE;
    }
    const char *fname = f ? GST_OBJECT_NAME(f) : "";
    const auto packets =
        GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST);
    if (std::strcmp(fname, "nicesrc") == 0) {
        probe_pad(el, "src", packets, on_network);
        return TRUE;
    }
    if (std::strcmp(fname, "queue") == 0 &&
        std::strcmp(GST_OBJECT_NAME(el), duet::pipelines::kReceiveInName) == 0) {
        probe_pad(el, "sink", packets, on_jitter_out);
        return TRUE;
    }
    if (std::strcmp(GST_OBJECT_NAME(el), duet::pipelines::kDecoderName) == 0) {
        probe_pad(el, "src", GST_PAD_PROBE_TYPE_BUFFER, on_frame_out, &g_decoded);
        return TRUE;
    }
    const char *klass = f ? gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS) : "";
    // What-if, for reading the send side: webrtcbin holds every outgoing buffer in a
    // clocksync until its capture time plus the source's latency (a frame of video);
    // DUET_BENCH_NO_CLOCKSYNC sends on as soon as it is encoded.
    if (std::strcmp(fname, "clocksync") == 0 && g_getenv("DUET_BENCH_NO_CLOCKSYNC"))
        g_object_set(el, "sync", FALSE, nullptr);
    if (std::strcmp(fname, "nicesink") == 0) {
        probe_pad(el, "sink", packets, on_sent);
        return TRUE;
    }
    if (klass && std::strstr(klass, "Encoder/Video")) {
        probe_pad(el, "src", GST_PAD_PROBE_TYPE_BUFFER, on_frame_out, &g_encoded);
        return TRUE;
    }
    if (klass && std::strstr(klass, "Payloader")) {
        probe_pad(el, "src", packets, on_payloaded);
        return TRUE;
    }
    if (!GST_IS_BASE_SINK(el) || !klass || !std::strstr(klass, "Sink") ||
        !std::strstr(klass, "Video"))
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
    for (size_t i = 0; i < g_flips.size(); ++i) {
        const Flip &f = g_flips[i];
        // The frame's way in, where the probes saw it (0 where they did not).
        Span net, jitter;
        gint64 decoded = 0;
        if (auto k = g_pts_frame.find(f.pts); k != g_pts_frame.end()) {
            if (auto n = g_net.find(k->second); n != g_net.end())
                net = n->second;
            if (auto j = g_jitter_out.find(k->second); j != g_jitter_out.end())
                jitter = j->second;
        }
        if (auto d = g_decoded.find(f.pts); d != g_decoded.end())
            decoded = d->second;
        std::fprintf(out,
                     "%s{\"white\":%s,\"render_us\":%" G_GINT64_FORMAT
                     ",\"enter_us\":%" G_GINT64_FORMAT ",\"net_first_us\":%" G_GINT64_FORMAT
                     ",\"net_last_us\":%" G_GINT64_FORMAT ",\"jitter_out_us\":%" G_GINT64_FORMAT
                     ",\"decoded_us\":%" G_GINT64_FORMAT ",\"latency_us\":%" G_GINT64_FORMAT "}",
                     i ? "," : "", f.white ? "true" : "false", f.render_us, f.enter_us,
                     net.first_us, net.last_us, jitter.last_us, decoded, f.latency_us);
    }
    std::fprintf(out, "],\"captures\":[");
    for (size_t i = 0; i < g_captures.size(); ++i) {
        const Flip &c = g_captures[i];
        gint64 encoded = 0, sent = 0;
        if (auto e = g_encoded.find(c.pts); e != g_encoded.end())
            encoded = e->second;
        if (auto k = g_sent_frame.find(c.pts); k != g_sent_frame.end())
            for (guint64 key : k->second)
                if (auto n = g_sent.find(key);
                    n != g_sent.end() && (!sent || n->second.first_us < sent))
                    sent = n->second.first_us;
        std::fprintf(out,
                     "%s{\"white\":%s,\"capture_us\":%" G_GINT64_FORMAT
                     ",\"encoded_us\":%" G_GINT64_FORMAT ",\"sent_us\":%" G_GINT64_FORMAT "}",
                     i ? "," : "", c.white ? "true" : "false", c.enter_us, encoded, sent);
    }
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
