// SPDX-License-Identifier: MIT
// Builds the decode (and optional record tap) branch for one incoming RTP stream.
#pragma once

#include "pipelines/media_options.h"

#include <gst/gst.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>

namespace duet::pipelines {

// What an RTP src pad of webrtcbin carries, from its caps; nullopt for anything else.
std::optional<MediaKind> rtp_media_kind(const GstCaps *caps);

struct ReceiveBranch {
    GstElement *bin = nullptr;     // floating until added to a bin; ghost "sink" (+ "src")
    std::optional<MediaKind> kind; // nullopt: a discard branch for an unknown stream
    GstElement *decoder = nullptr; // borrowed from `bin`, null for discard branches
};

// `record`: also expose the depayloaded stream on ghost pad "src".
ReceiveBranch build_receive_branch(const GstCaps *caps, const ResolvedMedia &media, bool record,
                                   std::string *error);

// What one call's decoders have put out so far. Written from streaming threads, read from
// the main thread (the `stats` event): relaxed atomics, since each count stands alone.
struct DecodeCounters {
    std::atomic<guint64> video_frames{0};
    std::atomic<guint64> audio_buffers{0};
};

// Counts every buffer leaving `branch`'s decoder into `counters` (which the probe keeps
// alive). A discard branch has no decoder and counts nothing.
void count_decoded(const ReceiveBranch &branch, std::shared_ptr<DecodeCounters> counters);

} // namespace duet::pipelines
