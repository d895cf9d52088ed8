// SPDX-License-Identifier: MIT
// Steps a call leg takes before it stops its webrtcbin, so that everything it holds is freed.
#pragma once

#include <gst/gst.h>

namespace duet::pipelines {

// Disconnects webrtcbin's transport receive bins from their ICE transports' state changes
// (see webrtcbin_teardown.cpp). Call just before setting the webrtcbin's bin to NULL.
void detach_receive_bins_from_ice(GstElement *webrtc);

} // namespace duet::pipelines
