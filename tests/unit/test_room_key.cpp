// SPDX-License-Identifier: MIT
// duet-peer's --room-key-file: the key made once with mode 0600 and kept, a file without a
// key refused and left alone, the share link, and the join that carries the key.
#include "src/peer/room_key.h"
#include "src/peer/room_logic.h"

#include "signaling/protocol.h"

#include <glib.h>
#include <glib/gstdio.h>

#include "tests/check_str.h"
#include "tests/temp_dir.h"

#include <string>
#include <sys/stat.h>

using namespace duet;
using namespace duet::peer;

namespace {

using duet::testing::TempDir;

void test_made_once_and_kept() {
    TempDir dir;
    std::string file = dir.path + "/room.key";
    auto first = load_or_create_room_key(file);
    g_assert_true(first.ok());
    g_assert_true(first->created);
    g_assert_true(proto::valid_key(first->key));
    g_assert_cmpuint(first->key.size(), ==, 32);
    GStatBuf st;
    g_assert_cmpint(g_stat(file.c_str(), &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0600);

    auto again = load_or_create_room_key(file);
    g_assert_true(again.ok());
    g_assert_false(again->created);
    check_str(again->key, ==, first->key.c_str());

    // Another kiosk's file gets another key.
    auto other = load_or_create_room_key(dir.path + "/other.key");
    g_assert_true(other.ok());
    g_assert_true(other->key != first->key);
}

void test_bad_files_refused_and_kept() {
    TempDir dir;
    std::string file = dir.path + "/bad.key";
    g_assert_true(g_file_set_contents(file.c_str(), "too short\n", -1, nullptr));
    auto r = load_or_create_room_key(file);
    g_assert_false(r.ok());
    g_assert_nonnull(strstr(r.message().c_str(), "does not hold a key"));
    gchar *text = nullptr;
    g_assert_true(g_file_get_contents(file.c_str(), &text, nullptr, nullptr));
    check_str(text, ==, "too short\n"); // never overwritten: it may be someone's typo
    g_free(text);

    // A key written by hand, with white space around it, is taken as is.
    std::string own(40, 'Q');
    g_assert_true(g_file_set_contents(file.c_str(), ("  " + own + "\n\n").c_str(), -1, nullptr));
    g_chmod(file.c_str(), 0600);
    auto ok = load_or_create_room_key(file);
    g_assert_true(ok.ok());
    check_str(ok->key, ==, own.c_str());

    // A folder that does not exist is an error that names the file.
    auto missing = load_or_create_room_key(dir.path + "/no/such/dir/k");
    g_assert_false(missing.ok());
    g_assert_nonnull(strstr(missing.message().c_str(), "no/such/dir/k"));
}

void test_share_link() {
    const std::string key(32, 'a');
    check_str(share_link("ws://127.0.0.1:8080/ws", "grandma", key), ==,
              "http://127.0.0.1:8080/?room=grandma#key=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    check_str(share_link("wss://chat.example/duet/ws", "living room", key), ==,
              "https://chat.example/duet/?room=living%20room#key=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    check_str(share_link("wss://chat.example", "café", key), ==,
              "https://chat.example/?room=caf%C3%A9#key=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
}

void test_join_carries_the_key() {
    RoomLogic open("open");
    auto j = open.join_message();
    g_assert_false(j.make_private);
    g_assert_false(j.key.has_value());

    RoomLogic kiosk("grandma");
    kiosk.set_room_key(std::string(32, 'k'));
    kiosk.set_resume_token("tok");
    auto k = kiosk.join_message();
    g_assert_true(k.make_private);
    check_str(*k.key, ==, std::string(32, 'k').c_str());
    check_str(*k.resume, ==, "tok");
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/room-key/made-once-and-kept", test_made_once_and_kept);
    g_test_add_func("/room-key/bad-files", test_bad_files_refused_and_kept);
    g_test_add_func("/room-key/share-link", test_share_link);
    g_test_add_func("/room-key/join-carries-key", test_join_carries_the_key);
    return g_test_run();
}
