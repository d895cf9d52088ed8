// SPDX-License-Identifier: MIT
// Two PeerApps in one process, meeting through the loopback signaler: no server, no sockets.
#include "pipelines/debug.h"
#include "tests/support/loopback_signaler.h"
#include "src/peer/peer_app.h"

#include <glib.h>

#include "tests/check_str.h"
#include "tests/integration/harness.h"
#include <gst/gst.h>
#include <string>

#include <filesystem>
#include <memory>

using namespace duet::peer;

namespace {

constexpr unsigned kTimeoutMs = 20000;

// Media setup takes longer than signaling: wait up to kTimeoutMs.
bool wait_until(const std::function<bool()> &pred) {
    return duet::testing::wait_until(pred, kTimeoutMs);
}

// A peer with its events recorded in memory instead of printed.
struct TestPeer {
    EventWriter writer{stdout, false};
    std::vector<Event> events;
    LoopbackSignaler *signaler = nullptr; // owned by app
    std::unique_ptr<PeerApp> app;

    TestPeer(LoopbackHub &hub, const std::string &state_dir) {
        writer.set_tap([this](const Event &e) {
            if (g_test_verbose())
                g_printerr("[%p] %s\n", static_cast<void *>(this), format_event(e).c_str());
            events.push_back(e);
        });
        PeerOptions o;
        o.room = "loop";
        o.media.video_source = duet::pipelines::VideoSource::Test;
        o.media.audio_source = duet::pipelines::AudioSource::Test;
        o.media.sink = duet::pipelines::SinkMode::None;
        o.media.width = 320;
        o.media.height = 240;
        o.media.fps = 15;
        o.state_dir = state_dir;
        auto s = hub.make_signaler();
        signaler = s.get();
        app = std::make_unique<PeerApp>(o, std::move(s), writer);
    }

    std::size_t count(const std::string &name, const std::string &key = {},
                      const std::string &value = {}) const {
        std::size_t n = 0;
        for (const auto &e : events)
            n += e.name == name && (key.empty() || e.str(key) == value);
        return n;
    }
    bool wait(const std::string &name, const std::string &key = {}, const std::string &value = {},
              std::size_t at_least = 1) {
        return wait_until([&] { return count(name, key, value) >= at_least; });
    }
};

// Resume tokens of the in-process peers; removed at the end.
std::string scratch() {
    static std::string dir = [] {
        gchar *d = g_dir_make_tmp("duet-loopback-XXXXXX", nullptr);
        std::string s = d;
        g_free(d);
        return s;
    }();
    return dir;
}

void wait_media(TestPeer &p) {
    g_assert_true(p.wait("first-frame", "kind", "video"));
    g_assert_true(p.wait("first-frame", "kind", "audio"));
}

void test_call() {
    LoopbackHub hub;
    TestPeer a(hub, scratch() + "/call"), b(hub, scratch() + "/call");
    g_assert_true(a.app->start());
    g_assert_true(a.wait("joined"));
    g_assert_true(b.app->start());
    wait_media(a);
    wait_media(b);
    g_assert_cmpuint(a.count("connected"), ==, 1);
    g_assert_cmpuint(b.count("connected"), ==, 1);
    a.app->shutdown(0, "test over");
    g_assert_true(b.wait("peer-left", "reason", "left"));
    g_assert_true(wait_until([&] { return a.app->finished(); }));
    // The one left behind tore its leg down and waits for the next person.
    g_assert_true(wait_until([&] { return b.app->leg_count() == 0; }));
    b.app->shutdown(0, "test over");
    g_assert_true(wait_until([&] { return b.app->finished(); }));
}

// Only the signaling drops: the call keeps running, the seat is resumed with the same id
// and nobody re-offers (PROTOCOL.md "Resume": keep legs that are connected).
void test_signaling_drop_keeps_call() {
    LoopbackHub hub;
    TestPeer a(hub, scratch() + "/drop"), b(hub, scratch() + "/drop");
    g_assert_true(a.app->start());
    g_assert_true(a.wait("joined"));
    g_assert_true(b.app->start());
    wait_media(a);
    wait_media(b);
    std::string b_id = b.app->id();

    b.signaler->drop_and_reconnect();
    g_assert_true(a.wait("peer-left", "reason", "dropped"));
    g_assert_true(b.wait("joined", {}, {}, 2));
    const Event &rejoined = b.events[b.events.size() - 1];
    (void)rejoined;
    check_str_eq(b.app->id().c_str(), b_id.c_str());
    g_assert_true(a.wait("peer-joined", "peer", b_id, 2));
    // Both legs survived: one connection each, no second negotiation.
    g_assert_cmpuint(a.app->leg_count(), ==, 1);
    g_assert_cmpuint(b.app->leg_count(), ==, 1);
    g_assert_cmpuint(a.count("connected"), ==, 1);
    g_assert_cmpuint(b.count("connected"), ==, 1);
    g_assert_cmpuint(a.count("first-frame"), ==, 2);

    a.app->shutdown(0, "");
    b.app->shutdown(0, "");
    g_assert_true(wait_until([&] { return a.app->finished() && b.app->finished(); }));
}

// What arrives on duet-chat is checked: junk (not JSON, not an object, another type, no
// or empty or oversized text, a text that is not a string, a bad ts) is dropped without an
// event, and the call and the next good message go on.
void test_chat_junk_dropped() {
    using duet::pipelines::DataChannelKind;
    LoopbackHub hub;
    TestPeer a(hub, scratch() + "/chat"), b(hub, scratch() + "/chat");
    g_assert_true(a.app->start());
    g_assert_true(a.wait("joined"));
    g_assert_true(b.app->start());
    wait_media(a);
    wait_media(b);
    auto *to_b = a.app->session_for(b.app->id());
    g_assert_nonnull(to_b);
    g_assert_true(wait_until([&] { return to_b->channel_open(DataChannelKind::Chat); }));
    std::string huge = R"({"type":"chat","text":")" + std::string(2001, 'x') + R"(","ts":1})";
    for (const std::string &junk :
         {std::string("not json"), std::string("[1,2]"), std::string(R"({"type":"ping"})"),
          std::string(R"({"type":"chat"})"), std::string(R"({"type":"chat","text":"   "})"),
          std::string(R"({"type":"chat","text":7})"), std::string(R"({"type":"chat","text":"x","ts":"y"})"),
          huge, std::string(65000, '{')})
        g_assert_true(to_b->send_text(DataChannelKind::Chat, junk));
    g_assert_true(to_b->send_text(DataChannelKind::Chat, R"({"type":"chat","text":" ok ","ts":5})"));
    g_assert_true(b.wait("chat", "text", "ok"));
    g_assert_cmpuint(b.count("chat"), ==, 1);
    for (const auto &e : b.events)
        if (e.name == "chat")
            check_str_eq(e.str("from").c_str(), a.app->id().c_str());
    g_assert_cmpuint(b.app->leg_count(), ==, 1);
    a.app->shutdown(0, "");
    b.app->shutdown(0, "");
    g_assert_true(wait_until([&] { return a.app->finished() && b.app->finished(); }));
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    gst_init(nullptr, nullptr);
    duet::pipelines::init_debug_category();
    g_test_add_func("/peer/loopback/call", test_call);
    g_test_add_func("/peer/loopback/chat-junk-dropped", test_chat_junk_dropped);
    g_test_add_func("/peer/loopback/signaling-drop-keeps-call", test_signaling_drop_keeps_call);
    int rc = g_test_run();
    std::error_code ec;
    std::filesystem::remove_all(scratch(), ec);
    return rc;
}
