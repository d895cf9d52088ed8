// SPDX-License-Identifier: MIT
// Recorder: input queues into the muxer (WebM or Matroska) into a file, finalised by EOS on every track.
#include "pipelines/recorder.h"

#include "common/gst_ref.h"
#include "common/main_thread.h"
#include "pipelines/debug.h"
#include "pipelines/launch.h"

#define GST_CAT_DEFAULT duet_debug

namespace duet::pipelines {

Result<std::unique_ptr<Recorder>> Recorder::create(GstBin *pipeline, const std::string &path,
                                                   const PackagedElement &muxer) {
    GErr err;
    auto bin_ref = Ref<GstElement>::adopt(
        gst_parse_bin_from_description(recorder_description(muxer).c_str(), FALSE, err.out()));
    if (!bin_ref)
        return fail(std::string("cannot build the recorder: ") + err.message());
    std::unique_ptr<Recorder> r(new Recorder());
    r->pipeline_ = pipeline;
    r->bin_ = std::move(bin_ref);
    GstElement *bin = r->bin_.get();
    r->path_ = path;
    r->mux_ = Ref<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(bin), "record_mux"));
    auto sink = Ref<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(bin), kRecordSinkName));
    g_object_set(sink.get(), "location", path.c_str(), nullptr);

    // The file is complete when EOS reaches the file sink; tell the main thread.
    auto sinkpad = Ref<GstPad>::adopt(gst_element_get_static_pad(sink.get(), "sink"));
    struct ProbeData {
        LifelineHandle life;
        Recorder *self;
    };
    auto *pd = new ProbeData{r->lifeline_.handle(), r.get()};
    gst_pad_add_probe(
        sinkpad.get(), GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
        [](GstPad *, GstPadProbeInfo *info, gpointer data) -> GstPadProbeReturn {
            if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) != GST_EVENT_EOS)
                return GST_PAD_PROBE_OK;
            auto *d = static_cast<ProbeData *>(data);
            Recorder *rec = d->self;
            d->life.post([rec] { rec->on_file_eos(); });
            return GST_PAD_PROBE_OK;
        },
        pd, [](gpointer data) { delete static_cast<ProbeData *>(data); });

    for (MediaKind kind : {MediaKind::Video, MediaKind::Audio}) {
        Input in;
        in.kind = kind;
        in.queue = Ref<GstElement>::adopt(gst_bin_get_by_name(
            GST_BIN(bin), kind == MediaKind::Video ? kRecordVideoQueue : kRecordAudioQueue));
        auto target = Ref<GstPad>::adopt(gst_element_get_static_pad(in.queue.get(), "sink"));
        in.sink = Ref<GstPad>::adopt(gst_ghost_pad_new(media_kind_name(kind), target.get()));
        gst_element_add_pad(bin, in.sink.get()); // the bin takes a reference of its own
        auto qsrc = Ref<GstPad>::adopt(gst_element_get_static_pad(in.queue.get(), "src"));
        in.mux_pad = Ref<GstPad>::adopt(gst_pad_get_peer(qsrc.get()));
        r->inputs_.push_back(in);
    }
    gst_bin_add(pipeline, bin);
    if (!gst_element_sync_state_with_parent(bin))
        return fail("cannot start the recorder");
    GST_INFO("recording to %s", path.c_str());
    return r;
}

Recorder::~Recorder() {
    lifeline_.cut();
    for (auto &in : inputs_)
        if (in.linked)
            gst_pad_unlink(in.linked.get(), in.sink.get());
    inputs_.clear();
    mux_.reset();
    if (bin_) {
        gst_element_set_state(bin_.get(), GST_STATE_NULL);
        if (GST_OBJECT_PARENT(bin_.get()) == GST_OBJECT(pipeline_))
            gst_bin_remove(pipeline_, bin_.get());
    }
}

Recorder::Input *Recorder::input(MediaKind kind) {
    for (auto &in : inputs_)
        if (in.kind == kind)
            return &in;
    return nullptr;
}

bool Recorder::wants(MediaKind kind) const {
    for (const auto &in : inputs_)
        if (in.kind == kind)
            return !in.claimed && !in.ended;
    return false;
}

bool Recorder::attach(MediaKind kind, GstPad *src) {
    Input *in = input(kind);
    if (!in || in->claimed || in->ended)
        return false;
    GstPadLinkReturn ret = gst_pad_link(src, in->sink.get());
    if (GST_PAD_LINK_FAILED(ret)) {
        g_warning("recorder: cannot link the %s stream (%s)", media_kind_name(kind),
                  gst_pad_link_get_name(ret));
        return false;
    }
    in->claimed = true;
    in->linked = Ref<GstPad>::ref(src);
    g_info("recording the remote %s to %s", media_kind_name(kind), path_.c_str());
    return true;
}

void Recorder::end_input(Input &in) {
    if (in.ended)
        return;
    in.ended = true;
    if (in.linked) {
        gst_pad_unlink(in.linked.get(), in.sink.get());
        in.linked.reset();
    }
    if (!in.claimed && in.mux_pad) {
        // A track that never saw data has no caps; the muxer would refuse to write the
        // header. It is still waiting for it, so the pad can simply go.
        auto qsrc = Ref<GstPad>::adopt(gst_element_get_static_pad(in.queue.get(), "src"));
        gst_pad_unlink(qsrc.get(), in.mux_pad.get());
        gst_element_release_request_pad(mux_.get(), in.mux_pad.get());
        in.mux_pad.reset();
        return;
    }
    // Serialised: waits for a buffer already inside the queue's chain function.
    gst_pad_send_event(in.sink.get(), gst_event_new_eos());
}

void Recorder::detach(GstPad *src) {
    for (auto &in : inputs_) {
        if (in.linked.get() != src)
            continue;
        end_input(in);
        // The other track of this call (if it never started) must not hold the file open.
        for (auto &other : inputs_)
            if (!other.claimed)
                end_input(other);
    }
    maybe_done();
}

void Recorder::finish(std::function<void()> done) {
    waiting_.push_back(std::move(done));
    // Unclaimed tracks go first, so the muxer stops waiting for them before EOS arrives.
    for (auto &in : inputs_)
        if (!in.claimed)
            end_input(in);
    for (auto &in : inputs_)
        end_input(in);
    maybe_done();
}

void Recorder::maybe_done() {
    bool any_claimed = false, all_ended = true;
    for (const auto &in : inputs_) {
        any_claimed |= in.claimed;
        all_ended &= in.ended;
    }
    // Nothing ever reached the muxer: there is no file to finalise.
    if (all_ended && !any_claimed && !finalized_) {
        g_message("recorder: no remote media arrived; %s holds nothing", path_.c_str());
        finalized_ = true;
    }
    if (!finalized_ || waiting_.empty())
        return;
    auto callbacks = std::move(waiting_);
    waiting_.clear();
    for (auto &cb : callbacks)
        post_to_main(lifeline_.context(), cb); // they guard themselves (PeerApp's lifeline)
}

void Recorder::on_file_eos() {
    finalized_ = true;
    g_message("recording finalised: %s", path_.c_str());
    maybe_done();
}

} // namespace duet::pipelines
