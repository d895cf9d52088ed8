// SPDX-License-Identifier: MIT
// Builds the decode (and optional record tap) branch for one incoming RTP stream.
#pragma once

#include "common/ref.h"
#include "common/result.h"
#include "pipelines/codecs.h"
#include "pipelines/media_options.h"

#include <gst/gst.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>

namespace duet::pipelines {

// The codec of an RTP src pad of webrtcbin, from its caps; null for anything we do not
// decode.
const CodecSpec *rtp_codec(const GstCaps *caps);

struct ReceiveBranch {
    Ref<GstElement> bin;              // ghost "sink" (+ "src" when recording, + "play")
    const CodecSpec *codec = nullptr; // null: a discard branch for an unknown stream
    GstElement *decoder = nullptr;    // borrowed from `bin`, null for discard branches
    bool plays = false; // decoded audio leaves on ghost "play" for the speaker's mixer
};

// `record`: also expose the depayloaded stream on ghost pad "src".
Result<ReceiveBranch> build_receive_branch(const GstCaps *caps, const ResolvedMedia &media,
                                           bool record);

// What one call's decoders have put out so far. Written from streaming threads, read from
// the main thread (the `stats` event): relaxed atomics, since each count stands alone.
struct DecodeCounters {
    std::atomic<guint64> video_frames{0};
    std::atomic<guint64> audio_buffers{0};
};

// Counts every buffer leaving `branch`'s decoder into `counters` (which the probe keeps
// alive). A discard branch has no decoder and counts nothing.
void count_decoded(const ReceiveBranch &branch, std::shared_ptr<DecodeCounters> counters);

// Replaces the kOpusdecFecClaimNs `decoder` adds to the latency its src pad reports with
// `most`. opusdec with in-band FEC holds one packet back (to rebuild a lost one from the
// next) but reports the longest Opus packet, 120 ms; every sink after it, and with lip sync
// every picture, then waited 100 ms for nothing. WebRTC's Opus packets are 20 ms.
void cap_decoder_latency(GstElement *decoder, GstClockTime most);
inline constexpr GstClockTime kOpusPacketNs = 20 * GST_MSECOND;
// What opusdec (GStreamer 1.22) says it adds with use-inband-fec: the longest Opus packet.
inline constexpr GstClockTime kOpusdecFecClaimNs = 120 * GST_MSECOND;

} // namespace duet::pipelines
