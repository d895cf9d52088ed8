// SPDX-License-Identifier: MIT
// WebrtcSession, receive side: a decode branch for each stream webrtcbin hands us, its first
// decoded frame reported, and its depayloaded stream offered to the recorder.
#include "pipelines/webrtc_session.h"

#include "common/gst_ref.h"
#include "pipelines/debug.h"
#include "pipelines/receive_branch.h"
#include "pipelines/session_hop.h"

#define GST_CAT_DEFAULT duet_debug

namespace duet::pipelines {

void WebrtcSession::handle_new_pad(GstPad *pad, gulong block_probe) {
    auto caps = Ref<GstCaps>::adopt(gst_pad_get_current_caps(pad));
    if (!caps)
        caps = Ref<GstCaps>::adopt(gst_pad_query_caps(pad, nullptr));
    const CodecSpec *codec = rtp_codec(caps.get());
    bool record = codec && listener_->wants_recording(*this, codec->kind);
    auto built = build_receive_branch(caps.get(), config_.media, record);
    if (!built) {
        fail(built.message());
        return;
    }
    ReceiveBranch branch = std::move(built).value();
    gst_bin_add(GST_BIN(bin_.get()), branch.bin.get());
    gst_element_sync_state_with_parent(branch.bin.get());
    auto sink = Ref<GstPad>::adopt(gst_element_get_static_pad(branch.bin.get(), "sink"));
    if (GST_PAD_LINK_FAILED(gst_pad_link(pad, sink.get()))) {
        fail("cannot link a receive branch");
        return;
    }
    if (!branch.codec) {
        Owned<gchar> s(caps ? gst_caps_to_string(caps.get()) : g_strdup("no caps"));
        g_message("peer %s: discarding a stream we do not decode (%s)", config_.peer_id.c_str(),
                  s.get());
    } else {
        watch_first_frame(branch);
        count_decoded(branch, counters_);
        if (record)
            expose_for_recording(branch);
        if (branch.plays)
            expose_for_playback(branch);
    }
    GST_INFO("peer %s: receiving %s", config_.peer_id.c_str(),
             branch.codec ? branch.codec->encoding_name : "an unknown stream");
    // Let the held buffers go, now that they have somewhere to go. (On the failure paths
    // above the pad stays blocked: the session is being torn down anyway.)
    gst_pad_remove_probe(pad, block_probe);
}

// first-frame is reported from after the decoder: the frame really decoded.
void WebrtcSession::watch_first_frame(const ReceiveBranch &branch) {
    auto dec_src = Ref<GstPad>::adopt(gst_element_get_static_pad(branch.decoder, "src"));
    auto *data = new std::pair<Hop, MediaKind>(Hop{lifeline_.handle(), this}, branch.codec->kind);
    gst_pad_add_probe(
        dec_src.get(), GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad *, GstPadProbeInfo *, gpointer d) -> GstPadProbeReturn {
            auto *hk = static_cast<std::pair<Hop, MediaKind> *>(d);
            MediaKind kind = hk->second;
            run_on_main(hk->first, [kind](WebrtcSession &s) { s.listener_->on_first_frame(s, kind); });
            return GST_PAD_PROBE_REMOVE;
        },
        data, [](gpointer d) { delete static_cast<std::pair<Hop, MediaKind> *>(d); });
}

void WebrtcSession::expose_for_recording(const ReceiveBranch &branch) {
    MediaKind k = branch.codec->kind;
    auto src = Ref<GstPad>::adopt(gst_element_get_static_pad(branch.bin.get(), "src"));
    std::string name = std::string("record_") + media_kind_name(k);
    GstPad *ghost = gst_ghost_pad_new(name.c_str(), src.get());
    gst_pad_set_active(ghost, TRUE);
    gst_element_add_pad(bin_.get(), ghost);
    record_pads_.push_back(ghost);
    listener_->on_record_pad(*this, k, ghost);
}

void WebrtcSession::expose_for_playback(const ReceiveBranch &branch) {
    auto play = Ref<GstPad>::adopt(gst_element_get_static_pad(branch.bin.get(), "play"));
    GstPad *ghost = gst_ghost_pad_new("play_audio", play.get());
    gst_pad_set_active(ghost, TRUE);
    gst_element_add_pad(bin_.get(), ghost);
    listener_->on_play_pad(*this, ghost);
}

} // namespace duet::pipelines
