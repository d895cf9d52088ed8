// SPDX-License-Identifier: MIT
// Where a buffer seen in a pad probe sits on the pipeline's running-time clock.
#pragma once

#include "common/gst_ref.h"

#include <gst/gst.h>

#include <cstdint>

namespace duet::pipelines {

// The sample number (at `rate`, counted from running time 0) of `buf`'s first sample on
// `pad`, `extra_ns` later; -1 when it has no time yet (no PTS or no segment).
inline std::int64_t sample_index(GstPad *pad, GstBuffer *buf, GstClockTime extra_ns, int rate) {
    if (!GST_BUFFER_PTS_IS_VALID(buf))
        return -1;
    auto ev = Ref<GstEvent>::adopt(gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0));
    if (!ev)
        return -1;
    const GstSegment *seg = nullptr;
    gst_event_parse_segment(ev.get(), &seg);
    guint64 rt = gst_segment_to_running_time(seg, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
    if (rt == GST_CLOCK_TIME_NONE)
        return -1;
    return std::int64_t(gst_util_uint64_scale_round(rt + extra_ns, guint64(rate), GST_SECOND));
}

} // namespace duet::pipelines
