// SPDX-License-Identifier: MIT
// Builds and runs the shared send part; routes bus messages; asks for keyframes.
#include "pipelines/call_pipeline.h"

#include "common/gst_ref.h"
#include "common/main_thread.h"
#include "pipelines/bin_walk.h"
#include "pipelines/debug.h"
#include "pipelines/launch.h"
#include "pipelines/sink_latency.h"

#include <atomic>


#define GST_CAT_DEFAULT duet_debug

namespace duet::pipelines {
namespace {

// Elements every call leg creates inside webrtcbin. Loading their plugins (libsrtp, libnice,
// OpenSSL) costs tens of milliseconds each on first use.
constexpr const char *kCallElements[] = {"dtlssrtpenc", "dtlssrtpdec", "srtpenc", "srtpdec",
                                         "nicesrc",     "nicesink",    "rtpbin"};

// The first webrtcbin of a process waits for its DTLS certificate while it writes the first
// offer or answer: dtlsdec generates an RSA-2048 key once per process, which takes 0.2-1.5 s
// on a busy 2-core machine and was the largest part of the time to first frame. Creating
// one dtlsdec at startup, off the main thread, makes the key while we connect to the server
// and wait in the room; a call that starts sooner simply waits for the same key.
void warm_up_webrtc() {
    gint64 start = g_get_monotonic_time();
    // The key first: it is the long part, and a call that starts early needs it first.
    auto dec = Ref<GstElement>::adopt(gst_element_factory_make("dtlsdec", nullptr));
    GST_INFO("DTLS certificate ready after %" G_GINT64_FORMAT " ms",
             (g_get_monotonic_time() - start) / 1000);
    for (const char *name : kCallElements)
        auto made = Ref<GstElement>::adopt(gst_element_factory_make(name, nullptr));
}

// A muxer that holds every video codec this peer may negotiate: WebM when that is VP8
// alone, else Matroska (which holds VP8, H.264 and Opus alike).
const PackagedElement &record_muxer(const EncoderChoices &encoders) {
    const PackagedElement *muxer = &codec_spec(Codec::Opus).record_muxer;
    for (const auto &v : encoders.video)
        if (g_strcmp0(v.codec->record_muxer.element, muxer->element) != 0)
            muxer = &v.codec->record_muxer;
    return *muxer;
}

// The bus watch hands the main thread one message per main-loop iteration, and every
// message holds a reference to the element that posted it. A call leg posts hundreds as it
// starts and stops (state changes, stream status, ...), so under offer churn the queue grew
// faster than it drained and removed legs stayed alive, threads and sockets and all, until
// their messages came up: up to 22 dead webrtcbins at a time, 55-111 threads and 143-305
// fds at the peak (issue 11). Only what on_bus acts on is queued; the rest is dropped in
// the posting thread, at once, which frees a removed leg as soon as we let it go.
GstBusSyncReply keep_what_on_bus_uses(GstBus *, GstMessage *msg, gpointer) {
    switch (GST_MESSAGE_TYPE(msg)) {
    case GST_MESSAGE_ERROR:
    case GST_MESSAGE_WARNING:
    case GST_MESSAGE_LATENCY:
        return GST_BUS_PASS;
    default:
        gst_message_unref(msg); // a sync handler that drops a message owns it (not a member)
        return GST_BUS_DROP;
    }
}

} // namespace

Result<std::unique_ptr<CallPipeline>>
CallPipeline::create(const MediaOptions &opts, const ResolvedMedia &media,
                     const EncoderChoices &encoders, Listener *listener) {
    std::unique_ptr<CallPipeline> p(new CallPipeline());
    p->listener_ = listener;
    ResolvedMedia m = media;
    if (m.audio_processing && m.speaker) {
        // webrtcdsp finds its probe by name, among every probe of the process.
        static std::atomic<unsigned> probes{0};
        m.echo_probe = "duet_echo_probe_" + std::to_string(probes++);
    }
    std::string desc =
        video_send_description(opts, m) + "  " + audio_send_description(opts, m);
    if (m.speaker)
        desc += "  " + speaker_description(m);
    GST_INFO("send pipeline: %s", desc.c_str());
    GErr err;
    // Two chains make gst_parse_launch return a pipeline with the tees as direct children,
    // so session bins added next to them can link to the tees without ghost pads.
    auto parsed = Ref<GstElement>::adopt(gst_parse_launch(desc.c_str(), err.out()));
    if (!parsed || !GST_IS_PIPELINE(parsed.get()))
        return fail(std::string("cannot build the send pipeline: ") +
                    (parsed ? "not a pipeline" : err.message()));
    p->pipeline_ = std::move(parsed);
    gst_element_set_name(p->pipeline_.get(), "duet");
    distribute_latency_per_sink(GST_BIN(p->pipeline_.get()));
    GstBin *send = GST_BIN(p->pipeline_.get());
    p->video_tee_ = Ref<GstElement>::adopt(gst_bin_get_by_name(send, kVideoTeeName));
    p->audio_tee_ = Ref<GstElement>::adopt(gst_bin_get_by_name(send, kAudioTeeName));
    if (m.speaker)
        p->speaker_mix_ = Ref<GstElement>::adopt(gst_bin_get_by_name(send, kSpeakerMixName));
    if (!m.echo_probe.empty()) {
        LifelineHandle life = p->lifeline_.handle();
        CallPipeline *self = p.get();
        auto aligner = EchoAligner::attach(
            send, m.echo_probe, kDspName, opts.echo_delay_ms, opts.echo_delay_saved_ms,
            [life, self](int ms, bool moved) {
                life.post([self, ms, moved] { self->listener_->on_echo_delay(ms, moved); });
            });
        if (!aligner)
            return aligner.error();
        p->aligner_ = std::move(aligner).value();
    }
    if (m.room_sim) {
        auto spec = room::parse_room_spec(opts.room_spec);
        if (!spec)
            return fail("--simulate-room: " + spec.message());
        auto sim = RoomSim::create(spec.value());
        if (!sim)
            return sim.error();
        p->room_ = std::move(sim).value();
        CallPipeline *self = p.get();
        if (auto hooked = p->room_->attach(send, [self](const room::EchoFigures &f) {
                self->listener_->on_echo_figures(f);
            });
            !hooked)
            return hooked.error();
    }
    // The Opus encoder, found by what it is: the audio chain's launch text names it not.
    const char *opus_element = codec_spec(Codec::Opus).encoders.front().element.element;
    for_each_element(send, [&](GstElement *e) {
        if (made_by(e, opus_element))
            p->opus_encoder_ = Ref<GstElement>::ref(e);
        return !p->opus_encoder_;
    });
    if (media.camera && !media.video_device.empty()) {
        auto cam = Ref<GstElement>::adopt(gst_bin_get_by_name(send, kCameraName));
        g_object_set(cam.get(), camera_device_property(media.camera_stack),
                     media.video_device.c_str(), nullptr);
    }
    if (!opts.record_path.empty()) {
        const PackagedElement &muxer = record_muxer(encoders);
        GST_INFO("recording with %s", muxer.element);
        auto recorder = Recorder::create(p->bin(), opts.record_path, muxer);
        if (!recorder)
            return recorder.error();
        p->recorder_ = std::move(recorder).value();
    }
    auto bus = Ref<GstBus>::adopt(gst_element_get_bus(p->pipeline_.get()));
    gst_bus_set_sync_handler(bus.get(), keep_what_on_bus_uses, nullptr, nullptr);
    p->bus_watch_ = gst_bus_add_watch(bus.get(), &CallPipeline::on_bus, p.get());
    LifelineHandle life = p->lifeline_.handle();
    CallPipeline *self = p.get();
    p->warm_up_ = std::thread([life, self] {
        warm_up_webrtc();
        life.post([self] {
            self->warm_ = true;
            self->listener_->on_pipeline_warm();
        });
    });
    return p;
}

void CallPipeline::set_audio_loss(double fraction_lost) {
    int percent = opus_fec_loss_percent(fraction_lost);
    if (!opus_encoder_ || percent == opus_loss_percent_)
        return;
    opus_loss_percent_ = percent;
    GST_INFO("Opus FEC planned for %d%% loss", percent);
    g_object_set(opus_encoder_.get(), "packet-loss-percentage", percent, nullptr);
}

void CallPipeline::set_audio_dtx(bool on) {
    if (!opus_encoder_ || on == opus_dtx_ ||
        !g_object_class_find_property(G_OBJECT_GET_CLASS(opus_encoder_.get()), "dtx"))
        return;
    opus_dtx_ = on;
    GST_INFO("Opus DTX %s", on ? "on: every call asked for it" : "off");
    g_object_set(opus_encoder_.get(), "complexity", opus_complexity(on), "dtx", gboolean(on),
                 nullptr);
}

CallPipeline::~CallPipeline() {
    lifeline_.remove(ring_timer_);
    lifeline_.cut();
    if (warm_up_.joinable())
        warm_up_.join();
    lifeline_.remove(bus_watch_); // gst_bus_add_watch used the thread-default context
    // The recorder's bin leaves the pipeline before the pipeline stops.
    recorder_.reset();
    if (pipeline_)
        gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
    room_.reset(); // their probes ran on streaming threads, which have stopped now
    aligner_.reset();
}

Result<void> CallPipeline::start() {
    if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        dump_dot("duet-start-failed");
        std::string error = "the media pipeline did not start";
        // The bus watch has not run yet: say why here (e.g. the --record file's folder).
        auto bus = Ref<GstBus>::adopt(gst_element_get_bus(pipeline_.get()));
        if (auto m = Ref<GstMessage>::adopt(gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR))) {
            GError *e = nullptr;
            gst_message_parse_error(m.get(), &e, nullptr);
            error += std::string(": ") + GST_MESSAGE_SRC_NAME(m.get()) + ": " + e->message;
            g_error_free(e);
        }
        return fail(error);
    }
    return {};
}

Ref<GstPad> CallPipeline::play(GstPad *src) {
    if (!speaker_mix_)
        return {};
    auto pad = Ref<GstPad>::adopt(gst_element_request_pad_simple(speaker_mix_.get(), "sink_%u"));
    if (!pad || GST_PAD_LINK_FAILED(gst_pad_link(src, pad.get()))) {
        g_warning("cannot mix a call's audio into the speaker");
        if (pad)
            gst_element_release_request_pad(speaker_mix_.get(), pad.get());
        return {};
    }
    return pad;
}

void CallPipeline::unplay(const Ref<GstPad> &mixer_pad) {
    if (speaker_mix_ && mixer_pad)
        gst_element_release_request_pad(speaker_mix_.get(), mixer_pad.get());
}

namespace {
// A doorbell: 660 Hz for 400 ms, a pause, 660 Hz for 500 ms, then quiet until 3 s.
constexpr guint kRingTickMs = 100;
constexpr unsigned kRingPeriodTicks = 30;
bool ring_sounds(unsigned step) {
    unsigned t = step % kRingPeriodTicks;
    return t < 4 || (t >= 5 && t < 10);
}
} // namespace

bool CallPipeline::ring(bool on) {
    if (!speaker_mix_)
        return false;
    if (!on) {
        lifeline_.remove(ring_timer_);
        if (ring_gate_)
            g_object_set(ring_gate_.get(), "mute", TRUE, nullptr);
        return true;
    }
    if (ring_timer_)
        return true;
    if (!ring_bin_) {
        GError *err = nullptr;
        auto bin = Ref<GstElement>::adopt(gst_parse_bin_from_description(
            "audiotestsrc is-live=true wave=sine freq=660 volume=0.3 samplesperbuffer=480 ! "
            "volume name=ring_gate mute=true ! audioconvert ! audioresample",
            TRUE, &err));
        if (!bin) {
            g_warning("cannot make the ring: %s", err ? err->message : "unknown error");
            g_clear_error(&err);
            return false;
        }
        gst_bin_add(GST_BIN(pipeline_.get()), bin.get());
        auto src = Ref<GstPad>::adopt(gst_element_get_static_pad(bin.get(), "src"));
        auto sink = Ref<GstPad>::adopt(
            gst_element_request_pad_simple(speaker_mix_.get(), "sink_%u"));
        if (!src || !sink || GST_PAD_LINK_FAILED(gst_pad_link(src.get(), sink.get()))) {
            g_warning("cannot mix the ring into the speaker");
            if (sink)
                gst_element_release_request_pad(speaker_mix_.get(), sink.get());
            gst_bin_remove(GST_BIN(pipeline_.get()), bin.get());
            return false;
        }
        gst_element_sync_state_with_parent(bin.get());
        ring_gate_ = Ref<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(bin.get()), "ring_gate"));
        ring_bin_ = std::move(bin);
    }
    ring_step_ = 0;
    on_ring_tick(this);
    ring_timer_ = lifeline_.add_timeout(kRingTickMs, on_ring_tick, this);
    return true;
}

gboolean CallPipeline::on_ring_tick(gpointer data) {
    auto *self = static_cast<CallPipeline *>(data);
    if (self->ring_gate_)
        g_object_set(self->ring_gate_.get(), "mute", gboolean(!ring_sounds(self->ring_step_)),
                     nullptr);
    ++self->ring_step_;
    return G_SOURCE_CONTINUE;
}

bool CallPipeline::contains(GstObject *obj) const {
    for (GstObject *o = obj; o; o = GST_OBJECT_PARENT(o))
        if (o == GST_OBJECT(pipeline_.get()))
            return true;
    return false;
}

void CallPipeline::dump_dot(const char *name) const {
    GST_DEBUG_BIN_TO_DOT_FILE_WITH_TS(bin(), GST_DEBUG_GRAPH_SHOW_ALL, name);
}

gboolean CallPipeline::on_bus(GstBus *, GstMessage *msg, gpointer data) {
    auto *self = static_cast<CallPipeline *>(data);
    switch (GST_MESSAGE_TYPE(msg)) {
    case GST_MESSAGE_ERROR: {
        GError *e = nullptr;
        gchar *dbg = nullptr;
        gst_message_parse_error(msg, &e, &dbg);
        std::string text = e ? e->message : "unknown error";
        std::string debug = dbg ? dbg : "";
        g_error_free(e);
        g_free(dbg);
        self->dump_dot("duet-error");
        self->listener_->on_pipeline_error(GST_MESSAGE_SRC(msg), text, debug);
        break;
    }
    case GST_MESSAGE_WARNING: {
        GError *e = nullptr;
        gst_message_parse_warning(msg, &e, nullptr);
        g_message("GStreamer warning from %s: %s", GST_MESSAGE_SRC_NAME(msg), e ? e->message : "?");
        if (e)
            g_error_free(e);
        break;
    }
    case GST_MESSAGE_LATENCY:
        // A receive branch joined or left: live sinks need the new end-to-end latency.
        gst_bin_recalculate_latency(self->bin());
        break;
    default:
        break;
    }
    return G_SOURCE_CONTINUE;
}

} // namespace duet::pipelines
