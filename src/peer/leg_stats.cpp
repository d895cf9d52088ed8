// SPDX-License-Identifier: MIT
// Rates for the `stats` event, from two samples of a leg's decode counters.
#include "src/peer/leg_stats.h"

namespace duet::peer {

events::ReceiveStats LegStats::sample(const std::string &peer, const char *state,
                                      guint64 video_frames, guint64 audio_buffers, gint64 now_us) {
    events::ReceiveStats st;
    st.peer = peer;
    st.state = state;
    st.video_frames = video_frames;
    st.audio_buffers = audio_buffers;
    double seconds = double(now_us - last_us_) / G_USEC_PER_SEC;
    if (seconds > 0) {
        st.video_fps = double(video_frames - last_video_) / seconds;
        st.audio_bps = double(audio_buffers - last_audio_) / seconds;
    }
    last_video_ = video_frames;
    last_audio_ = audio_buffers;
    last_us_ = now_us;
    return st;
}

} // namespace duet::peer
