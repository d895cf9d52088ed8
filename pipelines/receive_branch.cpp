// SPDX-License-Identifier: MIT
// Chooses and parses the receive branch for an RTP stream from webrtcbin.
#include "pipelines/receive_branch.h"

#include "common/gst_ref.h"
#include "common/ref.h"
#include "pipelines/launch.h"

#include <cstring>

namespace duet::pipelines {

std::optional<MediaKind> rtp_media_kind(const GstCaps *caps) {
    if (!caps || gst_caps_get_size(caps) == 0)
        return std::nullopt;
    const GstStructure *s = gst_caps_get_structure(caps, 0);
    const char *media = gst_structure_get_string(s, "media");
    const char *enc = gst_structure_get_string(s, "encoding-name");
    if (!media || !enc)
        return std::nullopt;
    if (std::strcmp(media, "video") == 0 && g_ascii_strcasecmp(enc, "VP8") == 0)
        return MediaKind::Video;
    if (std::strcmp(media, "audio") == 0 && g_ascii_strcasecmp(enc, "OPUS") == 0)
        return MediaKind::Audio;
    return std::nullopt;
}

ReceiveBranch build_receive_branch(const GstCaps *caps, const ResolvedMedia &media, bool record,
                                   std::string *error) {
    ReceiveBranch out;
    out.kind = rtp_media_kind(caps);
    std::string desc;
    if (!out.kind)
        desc = discard_description();
    else if (*out.kind == MediaKind::Video)
        desc = video_receive_description(media, record);
    else
        desc = audio_receive_description(media, record);
    GErr err;
    out.bin = gst_parse_bin_from_description(desc.c_str(), TRUE, err.out());
    if (!out.bin) {
        *error = std::string("cannot build receive branch: ") + err.message();
        return out;
    }
    if (out.kind) {
        // The bin keeps its children alive; the borrowed pointer is valid as long as it.
        GstElement *dec = gst_bin_get_by_name(GST_BIN(out.bin), kDecoderName);
        out.decoder = dec;
        gst_object_unref(dec);
    }
    return out;
}

void count_decoded(const ReceiveBranch &branch, std::shared_ptr<DecodeCounters> counters) {
    if (!branch.decoder || !branch.kind)
        return;
    auto src = Ref<GstPad>::adopt(gst_element_get_static_pad(branch.decoder, "src"));
    if (!src)
        return;
    struct Probe {
        std::shared_ptr<DecodeCounters> counters;
        std::atomic<guint64> *count;
    };
    auto *probe = new Probe{std::move(counters), nullptr};
    probe->count = *branch.kind == MediaKind::Video ? &probe->counters->video_frames
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
