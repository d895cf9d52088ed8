// SPDX-License-Identifier: MIT
// Internal to WebrtcSession's source files: how a GStreamer-thread callback reaches the
// session on the main thread, if the session still exists.
#pragma once

#include "common/main_thread.h"
#include "pipelines/webrtc_session.h"

#include <functional>

namespace duet::pipelines {

// What a callback on a GStreamer thread needs to reach the session on the main thread.
struct Hop {
    LifelineHandle life;
    WebrtcSession *session;
};

inline void run_on_main(const Hop &hop, std::function<void(WebrtcSession &)> fn) {
    WebrtcSession *s = hop.session;
    hop.life.post([s, fn = std::move(fn)] { fn(*s); });
}

} // namespace duet::pipelines
