// SPDX-License-Identifier: MIT
// Keeps our resume token on disk so a crashed and restarted duet-peer reclaims its seat.
#pragma once

#include <memory>
#include <string>

namespace duet::peer {

// Several duet-peers may run on one machine in one room (tests do; so might a kiosk
// showing two rooms). Each claims a numbered slot file for (server, room) and holds an
// exclusive lock on it while running; the kernel drops the lock when a process dies, so a
// restarted process finds the dead one's slot free and its token inside. Tokens are
// secrets (they reclaim a seat), so files are 0600 in a 0700 directory.
class SeatStore {
  public:
    // A free slot, or nullptr (with a log line) if the directory cannot be used; the peer
    // then works without crash-resume.
    static std::unique_ptr<SeatStore> open(const std::string &dir, const std::string &server,
                                           const std::string &room);
    ~SeatStore();
    SeatStore(const SeatStore &) = delete;
    SeatStore &operator=(const SeatStore &) = delete;

    std::string load() const; // "" if none
    void save(const std::string &token);
    void clear(); // after a clean `leave`: the seat is given up

    const std::string &path() const { return path_; }

  private:
    SeatStore(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
    int fd_;
    std::string path_;
};

// systemd's $RUNTIME_DIRECTORY or $STATE_DIRECTORY when running as a service that has one,
// else $XDG_RUNTIME_DIR/duet-peer (per user, cleared at reboot, when a token is stale
// anyway), else the user cache directory.
std::string default_state_dir();

// The echo delay calls measured (echo_align.h), kept in the state directory so that the next
// run's first call starts with the canceller's reference where the echo is. `simulated`:
// --simulate-room's own file, so that a bench's room never stands in for the real speaker.
// load: -1 when there is none (or it is not something we wrote).
int load_echo_delay(const std::string &dir, bool simulated);
void save_echo_delay(const std::string &dir, bool simulated, int delay_ms);

} // namespace duet::peer
