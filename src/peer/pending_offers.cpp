// SPDX-License-Identifier: MIT
// Newest-offer-wins bookkeeping for offers that wait for an earlier one to be answered.
#include "src/peer/pending_offers.h"

namespace duet::peer {

PendingOffers::~PendingOffers() {
    clear();
}

void PendingOffers::hold(const std::string &peer, std::string sdp, unsigned due_in_ms) {
    Entry &e = offers_[peer];
    e.offer.sdp = std::move(sdp);
    e.offer.candidates.clear();
    if (!e.timer)
        rearm(peer, due_in_ms);
}

void PendingOffers::rearm(const std::string &peer, unsigned due_in_ms) {
    auto it = offers_.find(peer);
    if (it == offers_.end())
        return;
    if (it->second.timer)
        g_source_remove(it->second.timer);
    struct Ctx {
        PendingOffers *self;
        std::string peer;
    };
    // Removed in take() and clear(), so it never outlives this object.
    it->second.timer = g_timeout_add_full(
        G_PRIORITY_DEFAULT, due_in_ms,
        [](gpointer data) -> gboolean {
            auto *c = static_cast<Ctx *>(data);
            auto e = c->self->offers_.find(c->peer);
            if (e != c->self->offers_.end()) {
                e->second.timer = 0;
                c->self->due_(c->peer);
            }
            return G_SOURCE_REMOVE;
        },
        new Ctx{this, peer}, [](gpointer data) { delete static_cast<Ctx *>(data); });
}

bool PendingOffers::add_candidate(const std::string &peer, const proto::CandidateData &candidate) {
    auto it = offers_.find(peer);
    if (it == offers_.end())
        return false;
    if (it->second.offer.candidates.size() < kMaxCandidates)
        it->second.offer.candidates.push_back(candidate);
    return true;
}

std::optional<PendingOffers::Offer> PendingOffers::take(const std::string &peer) {
    auto it = offers_.find(peer);
    if (it == offers_.end())
        return std::nullopt;
    if (it->second.timer)
        g_source_remove(it->second.timer);
    Offer out = std::move(it->second.offer);
    offers_.erase(it);
    return out;
}

void PendingOffers::clear() {
    for (auto &[peer, e] : offers_)
        if (e.timer)
            g_source_remove(e.timer);
    offers_.clear();
}

} // namespace duet::peer
