// SPDX-License-Identifier: MIT
// RFC 6455 framing: the server's decoder of client frames and its encoder.
#include "signaling/ws_frame.h"
#include "tests/check_str.h"
#include "tests/ws_client_frame.h"

#include <glib.h>

#include <string>
#include <vector>

using namespace duet::signaling::ws;
using duet::testing::client_frame;

namespace {

std::vector<Event> decode(const std::string &bytes, std::size_t max = 1 << 20,
                          bool bytewise = false) {
    Decoder d(max);
    std::vector<Event> out;
    if (bytewise)
        for (char c : bytes)
            d.feed(&c, 1, out);
    else
        d.feed(bytes.data(), bytes.size(), out);
    return out;
}

void expect_error(const std::string &bytes, std::uint16_t code) {
    auto ev = decode(bytes);
    g_assert_cmpuint(ev.size(), >=, 1);
    g_assert_true(ev.back().kind == Event::Kind::Error);
    g_assert_cmpuint(ev.back().code, ==, code);
    for (std::size_t i = 0; i + 1 < ev.size(); ++i)
        g_assert_true(ev[i].kind != Event::Kind::Error);
}

void test_text_message() {
    for (bool bytewise : {false, true}) {
        auto ev = decode(client_frame(1, R"({"type":"leave"})"), 1 << 20, bytewise);
        g_assert_cmpuint(ev.size(), ==, 1);
        g_assert_true(ev[0].kind == Event::Kind::Message);
        g_assert_true(ev[0].text);
        check_str_eq(ev[0].data, R"({"type":"leave"})");
    }
    auto bin = decode(client_frame(2, std::string("\x00\xff", 2)));
    g_assert_cmpuint(bin.size(), ==, 1);
    g_assert_false(bin[0].text);
    g_assert_cmpuint(bin[0].data.size(), ==, 2);
}

void test_length_forms() {
    for (std::size_t n : {0u, 125u, 126u, 300u, 65535u, 65536u, 70000u}) {
        std::string payload(n, 'a');
        for (std::size_t i = 0; i < n; ++i)
            payload[i] = char('a' + i % 26);
        auto ev = decode(client_frame(1, payload) + client_frame(1, "next"));
        g_assert_cmpuint(ev.size(), ==, 2);
        g_assert_true(ev[0].data == payload);
        check_str_eq(ev[1].data, "next");
    }
}

void test_fragments_with_ping_between() {
    std::string bytes = client_frame(1, "hel", false) + client_frame(9, "p") +
                        client_frame(0, "lo ", false) + client_frame(0, "you");
    for (bool bytewise : {false, true}) {
        auto ev = decode(bytes, 1 << 20, bytewise);
        g_assert_cmpuint(ev.size(), ==, 2);
        g_assert_true(ev[0].kind == Event::Kind::Ping);
        check_str_eq(ev[0].data, "p");
        g_assert_true(ev[1].kind == Event::Kind::Message);
        check_str_eq(ev[1].data, "hello you");
    }
}

void test_protocol_errors() {
    expect_error(client_frame(1, "x", true, false), kCloseProtocolError);      // unmasked
    expect_error(client_frame(1, "x", true, true, 0x40), kCloseProtocolError); // RSV1
    expect_error(client_frame(3, "x"), kCloseProtocolError);                   // no such op
    expect_error(client_frame(0, "x"), kCloseProtocolError);                   // continuation first
    expect_error(client_frame(1, "a", false) + client_frame(1, "b"), kCloseProtocolError);
    expect_error(client_frame(9, std::string(126, 'p')), kCloseProtocolError); // long ping
    expect_error(client_frame(9, "p", false), kCloseProtocolError);            // fragmented control
    expect_error(client_frame(8, "x"), kCloseProtocolError);                   // 1-byte close
    // After a framing error the rest is garbage and ignored.
    auto ev = decode(client_frame(1, "x", true, false) + client_frame(1, "fine"));
    g_assert_cmpuint(ev.size(), ==, 1);
}

void test_utf8() {
    const char *bad[] = {"\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "ab\xE2\x82", "\xFF"};
    for (const char *b : bad) {
        expect_error(client_frame(1, b), kCloseBadData);
        auto ev = decode(client_frame(2, b)); // binary: not checked
        g_assert_true(ev.at(0).kind == Event::Kind::Message);
    }
    auto ok = decode(client_frame(1, "\xF0\x9F\x8E\x89 \xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D"));
    g_assert_true(ok.at(0).kind == Event::Kind::Message);
    // A character split across two fragments is fine once reassembled.
    auto split = decode(client_frame(1, "\xE2\x82", false) + client_frame(0, "\xAC"));
    g_assert_true(split.at(0).kind == Event::Kind::Message);
    check_str_eq(split[0].data, "\xE2\x82\xAC");
}

// Too big: one 1009, no message, but the peer's Close after it is still found.
void test_too_big_then_close() {
    for (bool fragmented : {false, true}) {
        std::string big = fragmented ? client_frame(1, std::string(600, 'x'), false) +
                                           client_frame(0, std::string(600, 'x'))
                                     : client_frame(1, std::string(2000, 'x'));
        std::string bytes = big + client_frame(1, "later") + client_frame(8, "\x03\xe8");
        auto ev = decode(bytes, 1000);
        g_assert_cmpuint(ev.size(), ==, 2);
        g_assert_true(ev[0].kind == Event::Kind::Error);
        g_assert_cmpuint(ev[0].code, ==, kCloseTooBig);
        g_assert_true(ev[1].kind == Event::Kind::Close);
        g_assert_cmpuint(ev[1].code, ==, 1000);
    }
    // Exactly the limit is allowed.
    auto ok = decode(client_frame(1, std::string(1000, 'x')), 1000);
    g_assert_true(ok.at(0).kind == Event::Kind::Message);
}

void test_close_codes_and_discard() {
    auto ev = decode(client_frame(8, std::string("\x0f\xa1", 2) + "bye"));
    g_assert_cmpuint(ev.at(0).code, ==, 4001);
    ev = decode(client_frame(8, ""));
    g_assert_cmpuint(ev.at(0).code, ==, 1005);

    Decoder d(1 << 20);
    std::vector<Event> out;
    d.discard_data();
    std::string bytes = client_frame(1, "ignored") + client_frame(8, "\x03\xe8");
    d.feed(bytes.data(), bytes.size(), out);
    g_assert_cmpuint(out.size(), ==, 1);
    g_assert_true(out[0].kind == Event::Kind::Close);
}

void test_encoder() {
    struct Case {
        std::size_t n;
        std::size_t header;
    } cases[] = {{0, 2}, {125, 2}, {126, 4}, {65535, 4}, {65536, 10}};
    for (const auto &c : cases) {
        std::string out;
        append_frame(out, Opcode::Text, std::string(c.n, 'z'));
        g_assert_cmpuint(out.size(), ==, c.header + c.n);
        g_assert_cmpuint(static_cast<unsigned char>(out[0]), ==, 0x81);
        g_assert_cmpuint(static_cast<unsigned char>(out[1]) & 0x80, ==, 0); // unmasked
    }
    std::string euros;
    for (int i = 0; i < 100; ++i)
        euros += "\xE2\x82\xAC";
    std::string p = close_payload(1008, euros);
    g_assert_cmpuint(p.size(), <=, 125);
    g_assert_cmpuint((p.size() - 2) % 3, ==, 0);
    g_assert_true(g_utf8_validate(p.data() + 2, gssize(p.size() - 2), nullptr));
    g_assert_cmpuint(static_cast<unsigned char>(p[0]) << 8 | static_cast<unsigned char>(p[1]), ==,
                     1008);
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/ws-frame/text-message", test_text_message);
    g_test_add_func("/ws-frame/length-forms", test_length_forms);
    g_test_add_func("/ws-frame/fragments-with-ping", test_fragments_with_ping_between);
    g_test_add_func("/ws-frame/protocol-errors", test_protocol_errors);
    g_test_add_func("/ws-frame/utf8", test_utf8);
    g_test_add_func("/ws-frame/too-big-then-close", test_too_big_then_close);
    g_test_add_func("/ws-frame/close-codes-and-discard", test_close_codes_and_discard);
    g_test_add_func("/ws-frame/encoder", test_encoder);
    return g_test_run();
}
