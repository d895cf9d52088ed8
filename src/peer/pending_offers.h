// SPDX-License-Identifier: MIT
// Offers that wait while an earlier offer from the same peer is still being answered.
#pragma once

#include "signaling/protocol.h"

#include <glib.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace duet::peer {

// At most one waiting offer per peer: a newer one replaces it (the newest offer wins), so a
// peer that offers faster than we answer costs one leg in construction at a time. Lives on
// the main context; its timers run there.
class PendingOffers {
  public:
    struct Offer {
        std::string sdp;
        // Candidates sent after this offer: they belong to it, not to the leg being built.
        std::vector<proto::CandidateData> candidates;
    };
    // Candidates kept per waiting offer: a browser sends a dozen or two.
    static constexpr std::size_t kMaxCandidates = 64;

    // `due(peer)` runs when a waiting offer's timer (see hold) fires.
    explicit PendingOffers(std::function<void(const std::string &)> due) : due_(std::move(due)) {}
    ~PendingOffers();
    PendingOffers(const PendingOffers &) = delete;
    PendingOffers &operator=(const PendingOffers &) = delete;

    // Keeps `sdp` as `peer`'s waiting offer, dropping an older one and its candidates. The
    // first offer to wait arms a timer of `due_in_ms`; newer ones keep it running.
    void hold(const std::string &peer, std::string sdp, unsigned due_in_ms);
    // Arms the timer again (from `due`, when the offer must wait longer).
    void rearm(const std::string &peer, unsigned due_in_ms);
    // Keeps a candidate with `peer`'s waiting offer; false if no offer waits.
    bool add_candidate(const std::string &peer, const proto::CandidateData &candidate);
    bool waiting(const std::string &peer) const { return offers_.count(peer) != 0; }
    // Removes and returns `peer`'s waiting offer, timer and all.
    std::optional<Offer> take(const std::string &peer);
    void drop(const std::string &peer) { static_cast<void>(take(peer)); }
    void clear();
    std::size_t size() const { return offers_.size(); }

  private:
    struct Entry {
        Offer offer;
        guint timer = 0;
    };
    std::function<void(const std::string &)> due_;
    std::map<std::string, Entry> offers_;
};

} // namespace duet::peer
