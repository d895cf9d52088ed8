// SPDX-License-Identifier: MIT
// Chooses and parses the receive branch for an RTP stream from webrtcbin.
#include "pipelines/receive_branch.h"

#include "common/gst_ref.h"
#include "common/ref.h"
#include "pipelines/launch.h"

#include <cstring>

namespace duet::pipelines {

const CodecSpec *rtp_codec(const GstCaps *caps) {
    if (!caps || gst_caps_get_size(caps) == 0)
        return nullptr;
    const GstStructure *s = gst_caps_get_structure(caps, 0);
    const char *media = gst_structure_get_string(s, "media");
    const char *enc = gst_structure_get_string(s, "encoding-name");
    if (!media || !enc)
        return nullptr;
    MediaKind kind;
    if (std::strcmp(media, "video") == 0)
        kind = MediaKind::Video;
    else if (std::strcmp(media, "audio") == 0)
        kind = MediaKind::Audio;
    else
        return nullptr;
    return find_codec(kind, enc);
}

namespace {

// Ghosts `pad` of the element named `element` in `bin` as `name`.
bool ghost(GstBin *bin, const char *element, const char *pad, const char *name) {
    auto e = Ref<GstElement>::adopt(gst_bin_get_by_name(bin, element));
    auto target = e ? Ref<GstPad>::adopt(gst_element_get_static_pad(e.get(), pad)) : Ref<GstPad>();
    if (!target)
        return false;
    GstPad *g = gst_ghost_pad_new(name, target.get());
    return gst_element_add_pad(GST_ELEMENT(bin), g);
}

} // namespace

Result<ReceiveBranch> build_receive_branch(const GstCaps *caps, const ResolvedMedia &media,
                                           bool record) {
    ReceiveBranch out;
    out.codec = rtp_codec(caps);
    const PackagedElement *decoder = out.codec ? installed_decoder(*out.codec) : nullptr;
    if (out.codec && !decoder)
        g_warning("no %s decoder installed (%s): the stream is discarded", out.codec->encoding_name,
                  out.codec->decoders.front().package);
    if (!decoder)
        out.codec = nullptr;
    std::string desc = out.codec ? receive_description(*out.codec, *decoder, media, record)
                                 : discard_description();
    GErr err;
    // A decode branch may leave two pads open (record and play), so its ghost pads are
    // made by name; a discard branch is one sink.
    out.bin = Ref<GstElement>::adopt(
        gst_parse_bin_from_description(desc.c_str(), out.codec ? FALSE : TRUE, err.out()));
    if (!out.bin)
        return fail(std::string("cannot build receive branch: ") + err.message());
    // A branch joins a pipeline that is already playing, and its sink prerolls on its first
    // buffer. Left to the pipeline, that wait (ASYNC_START) takes the whole pipeline back
    // to PAUSED until it ends: a stream whose first frame is late, or never comes, stopped
    // the capture and every other call with it (the display bench's window got one frame,
    // then nothing, and sent nothing). The branch waits for its own preroll instead.
    g_object_set(out.bin.get(), "async-handling", TRUE, nullptr);
    if (out.codec) {
        GstBin *bin = GST_BIN(out.bin.get());
        if (!ghost(bin, kReceiveInName, "sink", "sink") ||
            (record && !ghost(bin, kRecordOutName, "src", "src")))
            return fail("cannot build receive branch: a ghost pad failed");
        if (media.speaker && out.codec->kind == MediaKind::Audio) {
            if (!ghost(bin, kPlayOutName, "src", "play"))
                return fail("cannot build receive branch: a ghost pad failed");
            out.plays = true;
        }
        // The bin keeps its children alive; the borrowed pointer is valid as long as it.
        auto dec =
            Ref<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(out.bin.get()), kDecoderName));
        out.decoder = dec.get();
        if (out.codec->kind == MediaKind::Audio && out.decoder)
            cap_decoder_latency(out.decoder, kOpusPacketNs);
    }
    return out;
}

void cap_decoder_latency(GstElement *decoder, GstClockTime most) {
    auto src = Ref<GstPad>::adopt(gst_element_get_static_pad(decoder, "src"));
    if (!src)
        return;
    // What the decoder says it adds is taken off the answer, and `most` put back. The probe
    // asks nothing itself: it may run while a call's elements are being torn down.
    gst_pad_add_probe(
        src.get(), GST_PAD_PROBE_TYPE_QUERY_UPSTREAM,
        [](GstPad *, GstPadProbeInfo *info, gpointer data) -> GstPadProbeReturn {
            GstQuery *q = GST_PAD_PROBE_INFO_QUERY(info);
            // Only the answer (the probe sees the query on its way up and on its way back).
            if (!(GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_PULL) ||
                GST_QUERY_TYPE(q) != GST_QUERY_LATENCY || !gst_query_is_writable(q))
                return GST_PAD_PROBE_OK;
            gboolean live = FALSE;
            GstClockTime min = 0, max = GST_CLOCK_TIME_NONE;
            gst_query_parse_latency(q, &live, &min, &max);
            GstClockTime most = GPOINTER_TO_SIZE(data);
            if (live && GST_CLOCK_TIME_IS_VALID(min) && min >= kOpusdecFecClaimNs)
                gst_query_set_latency(q, live, min - kOpusdecFecClaimNs + most, max);
            return GST_PAD_PROBE_OK;
        },
        GSIZE_TO_POINTER(gsize(most)), nullptr);
}

void count_decoded(const ReceiveBranch &branch, std::shared_ptr<DecodeCounters> counters) {
    if (!branch.decoder || !branch.codec)
        return;
    auto src = Ref<GstPad>::adopt(gst_element_get_static_pad(branch.decoder, "src"));
    if (!src)
        return;
    struct Probe {
        std::shared_ptr<DecodeCounters> counters;
        std::atomic<guint64> *count;
    };
    auto *probe = new Probe{std::move(counters), nullptr};
    probe->count = branch.codec->kind == MediaKind::Video ? &probe->counters->video_frames
                                                          : &probe->counters->audio_buffers;
    gst_pad_add_probe(
        src.get(), GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
        [](GstPad *, GstPadProbeInfo *info, gpointer data) -> GstPadProbeReturn {
            auto *p = static_cast<Probe *>(data);
            guint64 n = 1;
            if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER_LIST)
                n = gst_buffer_list_length(GST_PAD_PROBE_INFO_BUFFER_LIST(info));
            p->count->fetch_add(n, std::memory_order_relaxed);
            return GST_PAD_PROBE_OK;
        },
        probe, [](gpointer data) { delete static_cast<Probe *>(data); });
}

} // namespace duet::pipelines
