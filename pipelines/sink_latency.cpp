// SPDX-License-Identifier: MIT
#include "pipelines/sink_latency.h"

#include "common/gst_ref.h"
#include "pipelines/debug.h"
#include "pipelines/launch.h"

#include <algorithm>
#include <cstring>

#define GST_CAT_DEFAULT duet_debug

namespace duet::pipelines {

std::vector<GstClockTime> plan_sink_latencies(const std::vector<SinkLatency> &sinks) {
    GstClockTime speaker = 0;
    for (const SinkLatency &s : sinks)
        if (s.live && s.kind == SinkKind::Audio)
            speaker = std::max(speaker, s.min);
    std::vector<GstClockTime> out;
    out.reserve(sinks.size());
    for (const SinkLatency &s : sinks) {
        if (!s.live)
            out.push_back(GST_CLOCK_TIME_NONE);
        else if (s.kind == SinkKind::Video)
            out.push_back(std::max(s.min, speaker > kPictureLeadNs ? speaker - kPictureLeadNs : 0));
        else
            out.push_back(s.min);
    }
    return out;
}

namespace {

// What a sink plays, from its klass or that of the bin it works for (autovideosink's
// child says it itself; fakevideosink's inner fakesink does not).
SinkKind kind_of(GstElement *sink) {
    // The simulated room's speaker is a fakesink; real ones say what they are.
    if (std::strcmp(GST_OBJECT_NAME(sink), kRoomSpeakerName) == 0)
        return SinkKind::Audio;
    for (GstObject *o = GST_OBJECT(sink); o && GST_IS_ELEMENT(o) && !GST_IS_PIPELINE(o);
         o = GST_OBJECT_PARENT(o)) {
        GstElementFactory *f = gst_element_get_factory(GST_ELEMENT(o));
        const char *klass =
            f ? gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS) : nullptr;
        if (klass && std::strstr(klass, "Audio"))
            return SinkKind::Audio;
        if (klass && std::strstr(klass, "Video"))
            return SinkKind::Video;
    }
    return SinkKind::Other;
}

// Every sink element in `bin`, at any depth (bins that hold sinks are flagged as sinks
// themselves; they are left out).
std::vector<Ref<GstElement>> sinks_of(GstBin *bin) {
    std::vector<Ref<GstElement>> out;
    GstIterator *it = gst_bin_iterate_recurse(bin);
    GValue item = G_VALUE_INIT;
    bool done = false;
    while (!done) {
        switch (gst_iterator_next(it, &item)) {
        case GST_ITERATOR_OK: {
            auto *e = GST_ELEMENT(g_value_get_object(&item));
            if (!GST_IS_BIN(e) && GST_OBJECT_FLAG_IS_SET(e, GST_ELEMENT_FLAG_SINK))
                out.push_back(Ref<GstElement>::ref(e));
            g_value_reset(&item);
            break;
        }
        case GST_ITERATOR_RESYNC: // the bin changed under us: start over
            out.clear();
            gst_iterator_resync(it);
            break;
        default:
            done = true;
        }
    }
    g_value_unset(&item);
    gst_iterator_free(it);
    return out;
}

gboolean on_do_latency(GstBin *bin, gpointer) {
    std::vector<Ref<GstElement>> sinks = sinks_of(bin);
    std::vector<SinkLatency> needs;
    needs.reserve(sinks.size());
    for (auto &sink : sinks) {
        SinkLatency need;
        need.kind = kind_of(sink.get());
        GstQuery *q = gst_query_new_latency();
        if (gst_element_query(sink.get(), q)) {
            gboolean live = FALSE;
            GstClockTime min = 0, max = GST_CLOCK_TIME_NONE;
            gst_query_parse_latency(q, &live, &min, &max);
            need.live = live;
            need.min = GST_CLOCK_TIME_IS_VALID(min) ? min : 0;
        }
        gst_query_unref(q);
        needs.push_back(need);
    }
    std::vector<GstClockTime> plan = plan_sink_latencies(needs);
    for (size_t i = 0; i < sinks.size(); ++i) {
        if (!GST_CLOCK_TIME_IS_VALID(plan[i]))
            continue;
        GST_DEBUG_OBJECT(sinks[i].get(),
                         "latency %" GST_TIME_FORMAT " (its own %" GST_TIME_FORMAT ")",
                         GST_TIME_ARGS(plan[i]), GST_TIME_ARGS(needs[i].min));
        gst_element_send_event(sinks[i].get(), gst_event_new_latency(plan[i]));
    }
    return TRUE;
}

} // namespace

void distribute_latency_per_sink(GstBin *pipeline) {
    g_signal_connect(pipeline, "do-latency", G_CALLBACK(on_do_latency), nullptr);
}

} // namespace duet::pipelines
