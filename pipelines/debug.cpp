// SPDX-License-Identifier: MIT
// Defines the `duet` GStreamer debug category.
#include "pipelines/debug.h"

GST_DEBUG_CATEGORY(duet_debug);

namespace duet::pipelines {
void init_debug_category() {
    if (!duet_debug)
        GST_DEBUG_CATEGORY_INIT(duet_debug, "duet", 0, "duet peer pipelines");
}
} // namespace duet::pipelines
