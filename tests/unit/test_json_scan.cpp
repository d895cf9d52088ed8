// SPDX-License-Identifier: MIT
// Unit tests for the one-pass JSON checker (signaling/json_scan.h) and the relay path that
// uses it: a signal's `data` goes on as the bytes that arrived, and only JSON passes.
#include "signaling/json_scan.h"
#include "signaling/protocol.h"

#include <glib.h>

#include "tests/check_str.h"

using namespace duet::proto;

namespace {

json::Fault fault_of(std::string_view text) {
    json::Member none[] = {{"", {}}};
    return json::scan_object(text, none).fault;
}

void accepted(std::string_view text) {
    json::Member none[] = {{"", {}}};
    if (auto p = json::scan_object(text, none))
        g_error("refused %.*s: %s", int(text.size()), text.data(), p.message().c_str());
}

void test_grammar() {
    for (const char *ok : {
             "{}",
             " {\n\t\"a\" : [ 1 , -0 , 0.5 , 1e5 , 1E+5 , -1.25e-3 , true , false , null ] } ",
             R"({"a":{"b":{"c":[[],{}]}}})",
             R"({"":""})",
             R"({"s":"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00 é 😀"})",
             R"({"big":99999999999999999999999})", // a double, 1e23; json-glib wraps it in an int64
             R"({"edge":1.7976931348623157e308,"tiny":1e-400,"zero":0e999999999999})",
         })
        accepted(ok);
    struct Bad {
        const char *text;
        json::Fault fault;
    };
    // All of these but the last few are taken by json-glib (tests/fuzz checks which).
    for (const Bad &b : std::initializer_list<Bad>{
             {"{'a':1}", json::Fault::Syntax},
             {R"({"a":1 /* c */})", json::Fault::Syntax},
             {R"({"a":0x10})", json::Fault::Number},
             {R"({"a":01})", json::Fault::Number},
             {R"({"a":1.})", json::Fault::Number},
             {R"({"a":.5})", json::Fault::Number},
             {R"({"a":1.e5})", json::Fault::Number},
             {R"({"a":1}{})", json::Fault::Trailing},
             {"\xEF\xBB\xBF{}", json::Fault::NotObject},
             {R"({"a":1e999})", json::Fault::NumberTooLarge},
             {R"({"a":-1.8e308})", json::Fault::NumberTooLarge},
             {R"({"a":1.7976931348623159e308})", json::Fault::NumberTooLarge},
             {R"({"a":1)", json::Fault::End},
             {R"({"a":1,})", json::Fault::Syntax},
             {R"({"a":[1,]})", json::Fault::Syntax},
             {R"({"a":tru})", json::Fault::Syntax},
             {R"({"a":"x)", json::Fault::Unterminated},
             {"{\"a\":\"\t\"}", json::Fault::ControlChar},
             {R"({"a":"\x"})", json::Fault::BadEscape},
             {R"({"a":"\u12"})", json::Fault::ShortUnicode},
             {R"({"a":"\u0000"})", json::Fault::Nul},
             {R"({"a":"\ude00"})", json::Fault::LoneLow},
             {R"({"a":"\ud83dx"})", json::Fault::LoneHigh},
             {"{\"a\":\"\xC0\xAF\"}", json::Fault::Utf8},         // overlong '/'
             {"{\"a\":\"\xED\xA0\x80\"}", json::Fault::Utf8},     // a surrogate in UTF-8
             {"{\"a\":\"\xF4\x90\x80\x80\"}", json::Fault::Utf8}, // past U+10FFFF
             {"[1]", json::Fault::NotObject},
             {"", json::Fault::NotObject},
             {"{\"a\":1}\f", json::Fault::Trailing},
         }) {
        if (fault_of(b.text) != b.fault)
            g_error("%s: fault %d, expected %d", b.text, int(fault_of(b.text)), int(b.fault));
    }
    // A 400-digit integer is as far past a double's range as 1e399.
    g_assert_true(fault_of(R"({"a":1)" + std::string(400, '0') + "}") ==
                  json::Fault::NumberTooLarge);
}

void test_depth() {
    // kMaxDepth containers open at once pass, one more does not.
    std::string ok = "{\"a\":" + std::string(json::kMaxDepth - 1, '[') +
                     std::string(json::kMaxDepth - 1, ']') + "}";
    accepted(ok);
    std::string deep =
        "{\"a\":" + std::string(json::kMaxDepth, '[') + std::string(json::kMaxDepth, ']') + "}";
    g_assert_true(fault_of(deep) == json::Fault::TooDeep);
    // Far deeper than any stack: refused, not crashed.
    g_assert_true(fault_of(std::string(100000, '{')) != json::Fault::None);
}

void test_members() {
    json::Member m[] = {{"type", {}}, {"to", {}}, {"data", {}}};
    auto p = json::scan_object(
        R"( {"data" : { "x" : [1, {"to":"inner"}] } , "t\u006f":"a\u00e9","type":"x","type":"signal"} )",
        m);
    g_assert_false(p);
    // Of duplicate names the last counts (json-glib's rule); escaped names match; members
    // of nested objects do not count.
    check_str(std::string(m[0].raw), ==, R"("signal")");
    check_str(json::decode_string(m[1].raw), ==, "a\xC3\xA9");
    check_str(std::string(m[2].raw), ==, R"({ "x" : [1, {"to":"inner"}] })");
    check_str(json::decode_string(R"("\ud83d\ude00\n\"\\\/")"), ==, "\xF0\x9F\x98\x80\n\"\\/");
    g_assert_true(json::string_equals(R"("sig\u006eal")", "signal"));
}

// The relay path: data arrives, is checked once and goes on as it came.
void test_relay_raw() {
    const char *data = "{ \"sdp\" : {\"type\":\"offer\", \"sdp\":\"v=0\\r\\n\"},\n \"n\": 1e5 }";
    auto r = parse_client(std::string(R"({"type":"signal","to":"ab12","data":)") + data + "}");
    auto &s = std::get<Signal>(std::get<ClientMessage>(r));
    check_str(s.to, ==, "ab12");
    check_str(s.data_json, ==, data);
    std::string frame = to_json(ServerMessage{Relayed{"cd34", s.data_json}});
    check_str(frame, ==, std::string(R"({"type":"signal","from":"cd34","data":)") + data + "}");
    auto back = parse_server(frame);
    check_str(std::get<Relayed>(std::get<ServerMessage>(back)).from, ==, "cd34");
    // The last of duplicate members, as json-glib reads them.
    auto dup = parse_client(R"({"type":"join","type":"signal","to":"a","to":"b","data":{}})");
    check_str(std::get<Signal>(std::get<ClientMessage>(dup)).to, ==, "b");
}

// What json-glib takes and JSON does not is refused now, for every message type: relayed
// as it came, it would break the receiver's JSON.parse.
void test_not_json_refused() {
    for (const char *text : {
             R"({"type":"signal","to":"x","data":{'a':1}})",
             R"({"type":"signal","to":"x","data":{"a":1 /* c */}})",
             R"({"type":"signal","to":"x","data":{"a":0x10}})",
             R"({"type":"signal","to":"x","data":{"a":01}})",
             R"({"type":"signal","to":"x","data":{"a":1.}})",
             R"({"type":"signal","to":"x","data":{}}{"type":"leave"})",
             "\xEF\xBB\xBF{\"type\":\"signal\",\"to\":\"x\",\"data\":{}}",
             R"({"type":"join","room":'kitchen'})",
         }) {
        g_assert_true(std::holds_alternative<ClientMessage>(parse_client_json_glib(text)));
        auto r = parse_client(text);
        if (!std::holds_alternative<ParseError>(r))
            g_error("accepted %s", text);
        g_assert_true(std::get<ParseError>(r).code == ErrorCode::BadMessage);
    }
    // json-glib's refusals keep their words.
    const char *broken = R"({"type":"signal","to":"x","data":{"a":}})";
    check_str(std::get<ParseError>(parse_client(broken)).message, ==,
              std::get<ParseError>(parse_client_json_glib(broken)).message);
    // A signal whose members are wrong gets the same error as ever.
    check_str(std::get<ParseError>(parse_client(R"({"type":"signal","to":"x","data":[]})")).message,
              ==, "field 'data' must be an object");
    check_str(std::get<ParseError>(parse_client(R"({"type":"signal","to":1,"data":{}})")).message,
              ==, "field 'to' must be a string");
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/json-scan/grammar", test_grammar);
    g_test_add_func("/json-scan/depth", test_depth);
    g_test_add_func("/json-scan/members", test_members);
    g_test_add_func("/json-scan/relay-raw", test_relay_raw);
    g_test_add_func("/json-scan/not-json-refused", test_not_json_refused);
    return g_test_run();
}
