// SPDX-License-Identifier: MIT
#include "pipelines/latency_follower.h"

#include "pipelines/debug.h"

#define GST_CAT_DEFAULT duet_debug

namespace duet::pipelines {
namespace {

void free_weak_ref(GWeakRef *w) {
    g_weak_ref_clear(w);
    delete w;
}

} // namespace

LatencyFollower::LatencyFollower(GstElement *webrtc, AdaptiveLatencyConfig config,
                                 OnChange on_change)
    : webrtc_(webrtc), logic_(config), on_change_(std::move(on_change)) {
    g_object_set(webrtc_, "latency", guint(logic_.current_ms()), nullptr);
    rtpbin_ = Ref<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(webrtc_), "rtpbin"));
    if (!rtpbin_) {
        GST_WARNING("webrtcbin has no child named rtpbin: the latency stays at %d ms",
                    logic_.current_ms());
        return;
    }
    handler_ = g_signal_connect(rtpbin_.get(), "new-jitterbuffer",
                                G_CALLBACK(on_new_jitterbuffer), this);
    timer_ = lifeline_.add_timeout(kIntervalMs, on_tick, this);
}

LatencyFollower::~LatencyFollower() {
    lifeline_.remove(timer_);
    if (handler_)
        g_signal_handler_disconnect(rtpbin_.get(), handler_);
}

void LatencyFollower::on_new_jitterbuffer(GstElement *, GstElement *jb, guint, guint,
                                          gpointer data) {
    auto *self = static_cast<LatencyFollower *>(data);
    std::unique_ptr<GWeakRef, void (*)(GWeakRef *)> ref(new GWeakRef, free_weak_ref);
    g_weak_ref_init(ref.get(), jb);
    std::lock_guard<std::mutex> hold(self->lock_);
    self->jitterbuffers_.push_back(std::move(ref));
}

double LatencyFollower::read_jitter_ms() {
    std::lock_guard<std::mutex> hold(lock_);
    double worst = -1;
    for (auto &ref : jitterbuffers_) {
        auto jb = Ref<GstElement>::adopt(static_cast<GstElement *>(g_weak_ref_get(ref.get())));
        if (!jb)
            continue;
        GstStructure *stats = nullptr;
        g_object_get(jb.get(), "stats", &stats, nullptr);
        guint64 jitter_ns = 0;
        guint64 pushed = 0;
        if (stats) {
            gst_structure_get_uint64(stats, "avg-jitter", &jitter_ns);
            gst_structure_get_uint64(stats, "num-pushed", &pushed);
            gst_structure_free(stats);
        }
        if (pushed > 0) // a stream that has not started says nothing yet
            worst = std::max(worst, double(jitter_ns) / 1e6);
    }
    return worst;
}

void LatencyFollower::apply(int latency_ms) {
    // webrtcbin hands its latency to rtpbin (new jitter buffers) and sizes its
    // retransmission storage from it; the jitter buffers that exist are set here. Each
    // posts a LATENCY message, and the pipeline re-times its sinks: audio and video keep
    // one latency, so they stay in sync.
    g_object_set(webrtc_, "latency", guint(latency_ms), nullptr);
    std::lock_guard<std::mutex> hold(lock_);
    for (auto &ref : jitterbuffers_)
        if (auto jb = Ref<GstElement>::adopt(static_cast<GstElement *>(g_weak_ref_get(ref.get()))))
            g_object_set(jb.get(), "latency", guint(latency_ms), nullptr);
}

gboolean LatencyFollower::on_tick(gpointer data) {
    auto *self = static_cast<LatencyFollower *>(data);
    double jitter = self->read_jitter_ms();
    if (jitter < 0)
        return G_SOURCE_CONTINUE;
    if (auto next = self->logic_.update(jitter)) {
        GST_INFO_OBJECT(self->webrtc_, "jitter %.1f ms: latency %d ms", jitter, *next);
        self->apply(*next);
        if (self->on_change_)
            self->on_change_(*next, jitter);
    }
    return G_SOURCE_CONTINUE;
}

} // namespace duet::pipelines
