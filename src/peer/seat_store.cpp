// SPDX-License-Identifier: MIT
// Slot files with flock(2): one per running duet-peer per (server, room).
#include "src/peer/seat_store.h"

#include <glib.h>
#include <glib/gstdio.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace duet::peer {
namespace {

// More duet-peers than this in one room on one machine is not a real set-up.
constexpr int kMaxSlots = 16;
// A resume token is 32 hex characters today; anything much longer is not ours.
constexpr std::size_t kMaxTokenBytes = 256;

// What --echo-delay-ms accepts.
constexpr gint64 kMaxEchoDelayMs = 1000;

std::string echo_delay_path(const std::string &dir, bool simulated) {
    return dir + (simulated ? "/echo-delay-ms.simulated-room" : "/echo-delay-ms");
}

} // namespace

int load_echo_delay(const std::string &dir, bool simulated) {
    gchar *text = nullptr;
    gsize len = 0;
    if (!g_file_get_contents(echo_delay_path(dir, simulated).c_str(), &text, &len, nullptr))
        return -1;
    std::string s(text, len);
    g_free(text);
    while (!s.empty() && g_ascii_isspace(s.back()))
        s.pop_back();
    gint64 ms = -1;
    if (s.empty() || s.size() > 4 ||
        !g_ascii_string_to_signed(s.c_str(), 10, 0, kMaxEchoDelayMs, &ms, nullptr))
        return -1;
    return int(ms);
}

void save_echo_delay(const std::string &dir, bool simulated, int delay_ms) {
    std::string path = echo_delay_path(dir, simulated);
    std::string text = std::to_string(delay_ms) + "\n";
    GError *e = nullptr;
    if (g_mkdir_with_parents(dir.c_str(), 0700) != 0 ||
        !g_file_set_contents(path.c_str(), text.c_str(), gssize(text.size()), &e)) {
        g_message("cannot keep the echo delay in %s: %s", path.c_str(),
                  e ? e->message : std::strerror(errno));
        g_clear_error(&e);
    }
}

std::string default_state_dir() {
    // A directory systemd made for this service (RuntimeDirectory=, StateDirectory=) is
    // the one place a hardened unit (DynamicUser, ProtectSystem=strict) may write.
    for (const char *var : {"RUNTIME_DIRECTORY", "STATE_DIRECTORY"}) {
        const char *v = g_getenv(var);
        if (v && *v) {
            std::string first(v);
            return first.substr(0, first.find(':')); // several directories: the first
        }
    }
    const char *runtime = g_getenv("XDG_RUNTIME_DIR");
    std::string base = runtime && *runtime ? runtime : g_get_user_cache_dir();
    return base + "/duet-peer";
}

std::unique_ptr<SeatStore> SeatStore::open(const std::string &dir, const std::string &server,
                                           const std::string &room) {
    if (g_mkdir_with_parents(dir.c_str(), 0700) != 0) {
        g_message("cannot create %s (%s); a restart will not reclaim our seat", dir.c_str(),
                  std::strerror(errno));
        return nullptr;
    }
    gchar *hash =
        g_compute_checksum_for_string(G_CHECKSUM_SHA256, (server + "\n" + room).c_str(), -1);
    std::string key(hash, 16);
    g_free(hash);
    for (int slot = 0; slot < kMaxSlots; ++slot) {
        std::string path = dir + "/seat-" + key + "-" + std::to_string(slot);
        int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            g_message("cannot open %s (%s); a restart will not reclaim our seat", path.c_str(),
                      std::strerror(errno));
            return nullptr;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return std::unique_ptr<SeatStore>(new SeatStore(fd, path));
        ::close(fd); // another running duet-peer holds this slot
    }
    g_message("all %d seat slots for this room are in use; not keeping a resume token", kMaxSlots);
    return nullptr;
}

SeatStore::~SeatStore() {
    ::close(fd_);
}

std::string SeatStore::load() const {
    char buf[kMaxTokenBytes + 1];
    ssize_t n = pread(fd_, buf, kMaxTokenBytes, 0);
    if (n <= 0)
        return {};
    std::string token(buf, std::size_t(n));
    while (!token.empty() && g_ascii_isspace(token.back()))
        token.pop_back();
    for (char c : token)
        if (!g_ascii_isalnum(c) && c != '-' && c != '_')
            return {}; // not something we wrote
    return token;
}

void SeatStore::save(const std::string &token) {
    if (ftruncate(fd_, 0) != 0 ||
        pwrite(fd_, token.data(), token.size(), 0) != ssize_t(token.size()))
        g_message("cannot write %s: %s", path_.c_str(), std::strerror(errno));
}

void SeatStore::clear() {
    if (ftruncate(fd_, 0) != 0)
        g_message("cannot clear %s: %s", path_.c_str(), std::strerror(errno));
}

} // namespace duet::peer
