// SPDX-License-Identifier: MIT
#include "src/peer/room_key.h"

#include "signaling/protocol.h"
#include "signaling/registry.h"

#include <glib.h>
#include <glib/gstdio.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace duet::peer {
namespace {

Result<RoomKey> read_key(const std::string &path) {
    gchar *text = nullptr;
    gsize len = 0;
    GError *err = nullptr;
    if (!g_file_get_contents(path.c_str(), &text, &len, &err)) {
        std::string why = err->message;
        g_error_free(err);
        return fail("cannot read the room key file: " + why);
    }
    std::string key(text, len);
    g_free(text);
    key = g_strstrip(key.data());
    if (!proto::valid_key(key))
        return fail("the room key file " + path + " does not hold a key (" +
                    std::to_string(proto::kMinKeyChars) + "-" +
                    std::to_string(proto::kMaxKeyChars) +
                    " letters, digits, '-' or '_'); remove it to have a new one made");
    GStatBuf st;
    if (g_stat(path.c_str(), &st) == 0 && (st.st_mode & 077))
        g_warning("the room key file %s can be read by other users: chmod 600 %s", path.c_str(),
                  path.c_str());
    return RoomKey{key, false};
}

} // namespace

Result<RoomKey> load_or_create_room_key(const std::string &path) {
    if (path.empty())
        return fail("--room-key-file needs a file name");
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return read_key(path);
        return fail("cannot create the room key file " + path + ": " + std::strerror(errno));
    }
    std::string key = signaling::random_hex(16);
    std::string line = key + "\n";
    bool ok = write(fd, line.data(), line.size()) == ssize_t(line.size());
    ok = fsync(fd) == 0 && ok;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        g_unlink(path.c_str()); // half a key would lock the owner out on the next start
        return fail("cannot write the room key file " + path);
    }
    return RoomKey{key, true};
}

std::string share_link(const std::string &ws_url, const std::string &room, const std::string &key) {
    std::string url = ws_url;
    if (url.rfind("wss://", 0) == 0)
        url = "https://" + url.substr(6);
    else if (url.rfind("ws://", 0) == 0)
        url = "http://" + url.substr(5);
    // The page is served beside the WebSocket: http://host:port/ws -> http://host:port/.
    std::size_t scheme_end = url.find("://");
    std::size_t path = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
    std::string base = path == std::string::npos ? url + "/" : url.substr(0, url.rfind('/') + 1);
    char *escaped = g_uri_escape_string(room.c_str(), nullptr, FALSE);
    std::string link = base + "?room=" + escaped + "#key=" + key;
    g_free(escaped);
    return link;
}

} // namespace duet::peer
