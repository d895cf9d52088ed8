// SPDX-License-Identifier: MIT
// The `duet` GStreamer debug category, so GST_DEBUG=duet:6 shows our pipeline decisions.
#pragma once

#include <gst/gst.h>

GST_DEBUG_CATEGORY_EXTERN(duet_debug);

namespace duet::pipelines {
// Registers the category; call once after gst_init.
void init_debug_category();
} // namespace duet::pipelines
