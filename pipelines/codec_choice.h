// SPDX-License-Identifier: MIT
// Which codec and payload type a call leg uses: pure decisions from the codec table, the
// encoders proven at startup, --video-codec and (when answering) the parsed offer.
#pragma once

#include "common/result.h"
#include "pipelines/codecs.h"
#include "pipelines/media_options.h"
#include "pipelines/sdp_util.h"

#include <optional>
#include <string>
#include <vector>

namespace duet::pipelines {

// Payload types used when we make the offer. When we answer, the offer's numbers are used.
// Opus is 111 (as in browsers), clear of 97: webrtcbin 1.22 gives video's RTX (NACK
// retransmissions) the lowest free number without looking at later m-lines, so with Opus
// on 97 both would share it in the bundle and the audio would be taken for RTX.
inline constexpr unsigned kVideoPayloadType = 96;
inline constexpr unsigned kAudioPayloadType = 111;

// The id we give the transport-wide congestion control header extension (kTwccUri) when
// we offer; Chromium's offers use the same. When we answer, the offer's id is used, and
// 0 (none) if the offer has no such extension.
inline constexpr unsigned kTwccExtensionId = 3;

// The video a leg sends (and, WebRTC being symmetric per m-line, receives).
struct VideoPlan {
    const CodecSpec *codec = nullptr;
    const EncoderSpec *encoder = nullptr;
    unsigned pt = kVideoPayloadType;
    bool nack = true; // the receiver asks for lost packets again
    unsigned twcc_ext = kTwccExtensionId; // 0: no transport-wide feedback
};

struct AudioPlan {
    unsigned pt = kAudioPayloadType;
    bool nack = false;
    unsigned twcc_ext = kTwccExtensionId;
};

// A leg's media. An absent kind is not sent; when answering, a video m-line we cannot take
// is rejected (port 0) rather than accepted and thrown away.
struct LegPlan {
    std::optional<VideoPlan> video;
    std::optional<AudioPlan> audio;
    // When answering an offer whose video we cannot take: its codecs, for the event.
    std::vector<std::string> refused_video;
};

// The codecs --video-codec allows, in the order we would use them.
std::vector<Codec> allowed_video_codecs(VideoCodecPref pref);

// What we offer: the codec --video-codec names, or for auto a hardware-encoded codec if
// there is one, else the first codec we can encode (VP8). Fails if none can be encoded.
Result<LegPlan> plan_offer(VideoCodecPref pref, const EncoderChoices &encoders);

// What we answer with. Video: the first of the offer's formats that we can send and that
// --video-codec allows (auto: a hardware-encoded one first), with the offer's payload type;
// H.264 only in constrained baseline with packetization-mode 1. Audio: the offer's Opus.
LegPlan plan_answer(const SdpSummary &offer, VideoCodecPref pref,
                    const EncoderChoices &encoders);

} // namespace duet::pipelines
