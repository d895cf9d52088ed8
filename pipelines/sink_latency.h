// SPDX-License-Identifier: MIT
// Each synchronised sink of the call pipeline plays at its own path's latency, not at the
// largest in the pipeline. GStreamer's default gives every sink one latency, the largest
// any of them needs: in a room of three, a jittery call's 80 ms jitter buffer then holds
// back the other call's picture too. Calls have nothing to keep in step with each other;
// what must stay in step is a picture and the sound heard with it, so a video sink never
// plays earlier than the speaker (the shared mixer's sink) when there is one.
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

// The latency to give each sink, in the same order: its own minimum, and for video sinks
// at least the largest live audio sink's. GST_CLOCK_TIME_NONE for sinks that are not live
// (they never wait, so nothing is sent to them).
std::vector<GstClockTime> plan_sink_latencies(const std::vector<SinkLatency> &sinks);

// Replaces `pipeline`'s latency distribution ("do-latency") with plan_sink_latencies.
void distribute_latency_per_sink(GstBin *pipeline);

} // namespace duet::pipelines
