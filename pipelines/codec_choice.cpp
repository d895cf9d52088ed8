// SPDX-License-Identifier: MIT
// Codec and payload-type decisions for offers and answers.
#include "pipelines/codec_choice.h"

#include <algorithm>

namespace duet::pipelines {
namespace {

bool allowed(VideoCodecPref pref, Codec c) {
    auto list = allowed_video_codecs(pref);
    return std::find(list.begin(), list.end(), c) != list.end();
}

// Whether we can send this format as offered: a codec we encode, in a mode we speak.
const ChosenEncoder *usable(const SdpFormat &f, VideoCodecPref pref,
                            const EncoderChoices &encoders) {
    const CodecSpec *c = find_codec(MediaKind::Video, f.encoding);
    if (!c || !allowed(pref, c->id) || f.clock_rate != c->clock_rate)
        return nullptr;
    if (c->id == Codec::H264 &&
        (f.packetization_mode != "1" || !h264_constrained_baseline(f.profile_level_id)))
        return nullptr;
    return encoders.find(c->id);
}

} // namespace

std::vector<Codec> allowed_video_codecs(VideoCodecPref pref) {
    switch (pref) {
    case VideoCodecPref::VP8:
        return {Codec::VP8};
    case VideoCodecPref::H264:
        return {Codec::H264};
    case VideoCodecPref::Auto:
        break;
    }
    std::vector<Codec> all;
    for (const CodecSpec *c : video_codecs())
        all.push_back(c->id);
    return all;
}

Result<LegPlan> plan_offer(VideoCodecPref pref, const EncoderChoices &encoders) {
    const ChosenEncoder *pick = nullptr;
    if (pref == VideoCodecPref::Auto)
        pick = encoders.hardware();
    for (Codec c : allowed_video_codecs(pref))
        if (!pick)
            pick = encoders.find(c);
    if (!pick)
        return fail(std::string("no working encoder for --video-codec ") +
                    video_codec_pref_name(pref));
    LegPlan plan;
    plan.video = VideoPlan{pick->codec, pick->encoder, kVideoPayloadType, pick->codec->nack};
    plan.audio = AudioPlan{kAudioPayloadType, codec_spec(Codec::Opus).nack};
    return plan;
}

LegPlan plan_answer(const SdpSummary &offer, VideoCodecPref pref,
                    const EncoderChoices &encoders) {
    LegPlan plan;
    if (const SdpMedia *video = offer.first("video")) {
        const SdpFormat *best = nullptr;
        const ChosenEncoder *best_enc = nullptr;
        for (const auto &f : video->formats) {
            const ChosenEncoder *enc = usable(f, pref, encoders);
            if (!enc)
                continue;
            // auto: a hardware-encoded codec beats an earlier software one.
            bool better = !best || (pref == VideoCodecPref::Auto && enc->encoder->hardware &&
                                    !best_enc->encoder->hardware);
            if (better) {
                best = &f;
                best_enc = enc;
            }
        }
        if (best)
            plan.video = VideoPlan{best_enc->codec, best_enc->encoder, best->pt,
                                   best->nack && best_enc->codec->nack, video->twcc_ext};
        else
            plan.refused_video = video->codec_names();
    }
    if (const SdpMedia *audio = offer.first("audio")) {
        const CodecSpec &opus = codec_spec(Codec::Opus);
        for (const auto &f : audio->formats)
            if (find_codec(MediaKind::Audio, f.encoding) == &opus && f.clock_rate == opus.clock_rate) {
                plan.audio = AudioPlan{f.pt, f.nack && opus.nack, audio->twcc_ext};
                break;
            }
    }
    return plan;
}

} // namespace duet::pipelines
