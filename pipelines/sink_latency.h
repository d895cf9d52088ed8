// SPDX-License-Identifier: MIT
// Each synchronised sink of the call pipeline plays at its own path's latency, not at the
// largest in the pipeline. GStreamer's default gives every sink one latency, the largest
// any of them needs: in a room of three, a jittery call's 80 ms jitter buffer then holds
// back the other call's picture too. Calls have nothing to keep in step with each other;
// what must stay in step is a picture and the sound heard with it, so a video sink never
// plays more than kPictureLeadNs earlier than the speaker (the shared mixer's sink) when
// there is one.
#pragma once

#include <gst/gst.h>

#include <vector>

namespace duet::pipelines {

enum class SinkKind { Audio, Video, Other };

struct SinkLatency {
    SinkKind kind = SinkKind::Other;
    bool live = false;    // it synchronises (sync=true), so it waits
    GstClockTime min = 0; // what its own upstream needs
};

// How far a picture may play ahead of its sound. Sound that trails the picture a little is
// what a room gives anyway (it travels 34 cm per ms); EBU R37 allows sound up to 60 ms
// late end to end, and ITU-R BT.1359 finds 125 ms late undetectable. 30 ms stays well
// inside both, and lets a picture whose own path is shorter than the speaker's (no Opus
// packet held back, a smaller jitter buffer) show that much sooner.
inline constexpr GstClockTime kPictureLeadNs = 30 * GST_MSECOND;

// The latency to give each sink, in the same order: its own minimum, and for video sinks
// at least the largest live audio sink's less kPictureLeadNs. GST_CLOCK_TIME_NONE for sinks
// that are not live (they never wait, so nothing is sent to them).
std::vector<GstClockTime> plan_sink_latencies(const std::vector<SinkLatency> &sinks);

// Replaces `pipeline`'s latency distribution ("do-latency") with plan_sink_latencies.
void distribute_latency_per_sink(GstBin *pipeline);

} // namespace duet::pipelines
