// SPDX-License-Identifier: MIT
// WebrtcSession, ICE side: candidates held until their description is in place, mDNS names
// resolved where the system can, and the connection state reported.
#include "pipelines/webrtc_session.h"

#include "common/gst_ref.h"
#include "pipelines/debug.h"
#include "pipelines/session_hop.h"
#include "pipelines/sdp_util.h"

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#include <memory>

#define GST_CAT_DEFAULT duet_debug

namespace duet::pipelines {
namespace {

PeerState from_gst(GstWebRTCPeerConnectionState s) {
    switch (s) {
    case GST_WEBRTC_PEER_CONNECTION_STATE_NEW:
        return PeerState::New;
    case GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTING:
        return PeerState::Connecting;
    case GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED:
        return PeerState::Connected;
    case GST_WEBRTC_PEER_CONNECTION_STATE_DISCONNECTED:
        return PeerState::Disconnected;
    case GST_WEBRTC_PEER_CONNECTION_STATE_FAILED:
        return PeerState::Failed;
    case GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED:
        return PeerState::Closed;
    }
    return PeerState::New;
}

} // namespace

void WebrtcSession::add_remote_candidate(unsigned mline, const std::string &candidate) {
    if (candidate.empty())
        return; // end-of-candidates; webrtcbin 1.22 has nothing to do with it
    if (is_mdns_candidate(candidate)) {
        resolve_mdns(mline, candidate);
        return;
    }
    if (!remote_description_set()) {
        pending_remote_.emplace_back(mline, candidate);
        return;
    }
    g_signal_emit_by_name(webrtc_, "add-ice-candidate", mline, candidate.c_str());
}

// libnice cannot resolve .local names itself. The system resolver can where avahi's NSS
// module is installed (libnss-mdns); elsewhere the lookup fails and we say what to change
// on the other side.
void WebrtcSession::resolve_mdns(unsigned mline, const std::string &candidate) {
    if (!resolving_)
        resolving_ = Ref<GCancellable>::adopt(g_cancellable_new());
    struct Lookup {
        Hop hop;
        unsigned mline;
        std::string candidate;
    };
    auto *l = new Lookup{Hop{lifeline_.handle(), this}, mline, candidate};
    auto resolver = Ref<GResolver>::adopt(g_resolver_get_default());
    g_resolver_lookup_by_name_async(
        resolver.get(), candidate_address(candidate).c_str(), resolving_.get(),
        [](GObject *src, GAsyncResult *res, gpointer data) {
            std::unique_ptr<Lookup> l(static_cast<Lookup *>(data));
            GErr err;
            GList *addrs = g_resolver_lookup_by_name_finish(G_RESOLVER(src), res, err.out());
            std::string addr;
            for (GList *a = addrs; a && addr.empty(); a = a->next)
                if (g_inet_address_get_family(G_INET_ADDRESS(a->data)) == G_SOCKET_FAMILY_IPV4) {
                    Owned<gchar> text(g_inet_address_to_string(G_INET_ADDRESS(a->data)));
                    addr = text.get();
                }
            g_resolver_free_addresses(addrs);
            run_on_main(l->hop, [mline = l->mline, cand = l->candidate, addr](WebrtcSession &s) {
                s.on_mdns_resolved(mline, cand, addr);
            });
        },
        l);
}

void WebrtcSession::on_mdns_resolved(unsigned mline, const std::string &candidate,
                                     const std::string &addr) {
    if (!addr.empty()) {
        GST_INFO("peer %s: %s is %s", config_.peer_id.c_str(), candidate_address(candidate).c_str(),
                 addr.c_str());
        add_remote_candidate(mline, with_address(candidate, addr));
        return;
    }
    ++mdns_skipped_;
    g_warning("peer %s: skipping mDNS candidate %s: this machine cannot resolve .local names "
              "(to fix: %s)",
              config_.peer_id.c_str(), candidate_address(candidate).c_str(),
              mdns_advice(remote_author_).c_str());
}

void WebrtcSession::flush_remote_candidates() {
    auto pending = std::move(pending_remote_);
    pending_remote_.clear();
    for (auto &[mline, cand] : pending)
        g_signal_emit_by_name(webrtc_, "add-ice-candidate", mline, cand.c_str());
}

void WebrtcSession::handle_local_candidate(unsigned mline, const std::string &candidate) {
    // Our SDP must reach the peer before our candidates do.
    if (!local_description_sent()) {
        pending_local_.emplace_back(mline, candidate);
        return;
    }
    std::string mid = mline < local_mids_.size() ? local_mids_[mline] : std::string();
    listener_->on_local_candidate(*this, mline, mid, candidate);
}

void WebrtcSession::flush_local_candidates() {
    auto pending = std::move(pending_local_);
    pending_local_.clear();
    for (auto &[mline, cand] : pending)
        handle_local_candidate(mline, cand);
}

void WebrtcSession::handle_state_change() {
    GstWebRTCPeerConnectionState st;
    g_object_get(webrtc_, "connection-state", &st, nullptr);
    PeerState next = from_gst(st);
    if (next == state_)
        return;
    state_ = next;
    g_info("peer %s: connection %s", config_.peer_id.c_str(), peer_state_name(next));
    if (next == PeerState::Failed && mdns_skipped_ > 0)
        g_warning("peer %s: ICE failed after %u mDNS candidates could not be resolved; the "
                  "peer hides its addresses behind .local names (to fix: %s)",
                  config_.peer_id.c_str(), mdns_skipped_, mdns_advice(remote_author_).c_str());
    listener_->on_state(*this, next);
}

} // namespace duet::pipelines
