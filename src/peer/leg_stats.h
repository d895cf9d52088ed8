// SPDX-License-Identifier: MIT
// One call leg's receive figures for the periodic `stats` event: totals and rates.
#pragma once

#include "src/peer/events.h"

#include <glib.h>

#include <string>

namespace duet::peer {

class LegStats {
  public:
    explicit LegStats(gint64 start_us = 0) : last_us_(start_us) {}

    // The totals now, with rates over the time since the previous sample (or the leg's
    // start). Pure: the caller reads the counters.
    events::ReceiveStats sample(const std::string &peer, const char *state, guint64 video_frames,
                                guint64 audio_buffers, gint64 now_us);

  private:
    guint64 last_video_ = 0, last_audio_ = 0;
    gint64 last_us_;
};

} // namespace duet::peer
