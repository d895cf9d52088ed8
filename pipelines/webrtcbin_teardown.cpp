// SPDX-License-Identifier: MIT
// Works around a webrtcbin 1.22 teardown leak that would keep a stopped call leg's sockets.
#include "pipelines/webrtcbin_teardown.h"

#include <algorithm>
#include <vector>

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

namespace duet::pipelines {

// webrtcbin 1.22's receive side of each transport (TransportReceiveBin) listens to its ICE
// transport's notify::state and never disconnects. Each call puts a pad block in place that
// holds a reference to the receive bin itself; going from READY to NULL drops it, but an ICE
// state change reported after that (libnice's thread reports them as it shuts the stream
// down) puts a new block, and so a new self-reference, in place. The receive bin, its
// nicesrc and through it the ICE stream with its UDP/TCP sockets and main context then live
// forever: under offer churn (issue 11) 22 of 503 replaced legs stayed, 54 sockets in all.
// The same code is in GStreamer's main branch as of 2026-12; here the receive bins stop
// listening before the leg stops.
// Reached through public properties (transceiver -> receiver -> DTLS -> ICE transport) and
// the bins' type name, so on a GStreamer without this wiring nothing is disconnected.
void detach_receive_bins_from_ice(GstElement *webrtc) {
    std::vector<GObject *> ice_transports;
    GArray *transceivers = nullptr;
    g_signal_emit_by_name(webrtc, "get-transceivers", &transceivers);
    for (guint i = 0; transceivers && i < transceivers->len; ++i) {
        GstWebRTCRTPReceiver *receiver = nullptr;
        g_object_get(g_array_index(transceivers, GstWebRTCRTPTransceiver *, i), "receiver",
                     &receiver, nullptr);
        GstWebRTCDTLSTransport *dtls = nullptr;
        if (receiver)
            g_object_get(receiver, "transport", &dtls, nullptr);
        GObject *ice = nullptr;
        if (dtls)
            g_object_get(dtls, "transport", &ice, nullptr);
        if (ice &&
            std::find(ice_transports.begin(), ice_transports.end(), ice) == ice_transports.end())
            ice_transports.push_back(ice);
        else if (ice)
            g_object_unref(ice);
        if (dtls)
            gst_object_unref(dtls);
        if (receiver)
            gst_object_unref(receiver);
    }
    if (transceivers)
        g_array_unref(transceivers);
    if (ice_transports.empty())
        return; // no remote description yet: no transports, nothing listens
    GstIterator *it = gst_bin_iterate_elements(GST_BIN(webrtc));
    GValue item = G_VALUE_INIT;
    bool done = false;
    while (!done) {
        switch (gst_iterator_next(it, &item)) {
        case GST_ITERATOR_OK: {
            auto *child = static_cast<GstElement *>(g_value_get_object(&item));
            if (g_strcmp0(G_OBJECT_TYPE_NAME(child), "TransportReceiveBin") == 0)
                for (GObject *ice : ice_transports)
                    g_signal_handlers_disconnect_matched(ice, G_SIGNAL_MATCH_DATA, 0, 0, nullptr,
                                                         nullptr, child);
            g_value_reset(&item);
            break;
        }
        case GST_ITERATOR_RESYNC:
            gst_iterator_resync(it);
            break;
        default:
            done = true;
            break;
        }
    }
    g_value_unset(&item);
    gst_iterator_free(it);
    for (GObject *ice : ice_transports)
        g_object_unref(ice);
}

} // namespace duet::pipelines
