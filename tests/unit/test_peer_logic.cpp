// SPDX-License-Identifier: MIT
// Room logic: server messages in, call actions out, checked against a fake set of legs.
#include "src/peer/commands.h"
#include "src/peer/exit_codes.h"
#include "src/peer/room_logic.h"

#include <glib.h>

#include "tests/check_str.h"
#include <string>

#include <map>

using namespace duet;
using namespace duet::peer;

namespace {

class FakeLegs : public LegView {
  public:
    std::map<std::string, LegStatus> legs;
    LegStatus status(const std::string &p) const override {
        auto it = legs.find(p);
        return it == legs.end() ? LegStatus::None : it->second;
    }
    std::vector<std::string> peers() const override {
        std::vector<std::string> out;
        for (auto &[k, v] : legs)
            out.push_back(k);
        return out;
    }
};

proto::ServerMessage joined(std::vector<std::string> peers, bool resumed = false,
                            std::string id = "me") {
    proto::Joined j;
    j.id = std::move(id);
    j.room = "room";
    j.peers = std::move(peers);
    j.resume = "tok-" + j.id;
    j.resumed = resumed;
    return j;
}

proto::ServerMessage relayed(const std::string &from, const proto::SignalData &d) {
    return proto::Relayed{from, proto::to_json(d)};
}

template <typename T> std::vector<T> only(const std::vector<Action> &actions) {
    std::vector<T> out;
    for (const auto &a : actions)
        if (auto *t = std::get_if<T>(&a))
            out.push_back(*t);
    return out;
}

std::vector<std::string> emitted(const std::vector<Action> &actions) {
    std::vector<std::string> out;
    for (const auto &e : only<action::Emit>(actions))
        out.push_back(e.event.name);
    return out;
}

void test_join_message_and_resume_token() {
    RoomLogic logic("kitchen");
    FakeLegs legs;
    g_assert_false(logic.join_message().resume.has_value());
    logic.on_message(joined({}), legs);
    g_assert_true(logic.joined());
    check_str_eq(logic.join_message().resume->c_str(), "tok-me");
    logic.on_disconnected();
    g_assert_false(logic.joined());
    // The token survives a drop: the next join resumes.
    check_str_eq(logic.join_message().room.c_str(), "kitchen");
    g_assert_true(logic.join_message().resume.has_value());
    RoomLogic restarted("kitchen");
    restarted.set_resume_token("from-disk");
    check_str_eq(restarted.join_message().resume->c_str(), "from-disk");
}

void test_newcomer_offers_to_everyone() {
    RoomLogic logic("r");
    FakeLegs legs;
    auto actions = logic.on_message(joined({"a", "b"}), legs);
    auto offers = only<action::Offer>(actions);
    g_assert_cmpuint(offers.size(), ==, 2);
    check_str_eq(offers[0].peer.c_str(), "a");
    check_str_eq(offers[1].peer.c_str(), "b");
    check_str_eq(emitted(actions)[0].c_str(), "joined");
}

void test_first_in_room_waits() {
    RoomLogic logic("r");
    FakeLegs legs;
    auto actions = logic.on_message(joined({}), legs);
    g_assert_cmpuint(only<action::Offer>(actions).size(), ==, 0);
    actions = logic.on_message(proto::PeerJoined{"b", false}, legs);
    // They are the newcomer: they offer, we wait.
    g_assert_cmpuint(only<action::Offer>(actions).size(), ==, 0);
    check_str_eq(emitted(actions)[0].c_str(), "peer-joined");
}

void test_resume_keeps_live_legs_and_offers_to_the_rest() {
    RoomLogic logic("r");
    FakeLegs legs;
    legs.legs = {{"live", LegStatus::Connected},
                 {"dead", LegStatus::Broken},
                 {"half", LegStatus::Negotiating},
                 {"held", LegStatus::Connected},
                 {"stuck", LegStatus::Negotiating}};
    auto actions = logic.on_message(joined({"live", "dead", "half", "new"}, true), legs);
    std::vector<std::string> offered;
    for (auto &o : only<action::Offer>(actions))
        offered.push_back(o.peer);
    g_assert_cmpuint(offered.size(), ==, 3);
    for (const char *p : {"dead", "half", "new"})
        g_assert_true(std::find(offered.begin(), offered.end(), p) != offered.end());
    // `peers` lists connected members only: "held" may be a dropped peer whose media still
    // flows (it offers when it returns), so its live leg stays; a leg that was still
    // negotiating with an absent peer cannot finish and goes.
    auto closed = only<action::Close>(actions);
    g_assert_cmpuint(closed.size(), ==, 1);
    check_str_eq(closed[0].peer.c_str(), "stuck");
}

void test_fresh_join_renegotiates_even_live_legs() {
    // resumed=false (token expired, server restarted): our old legs are not trusted.
    RoomLogic logic("r");
    FakeLegs legs;
    legs.legs = {{"a", LegStatus::Connected}, {"old-id", LegStatus::Connected}};
    auto actions = logic.on_message(joined({"a"}, false), legs);
    g_assert_cmpuint(only<action::Offer>(actions).size(), ==, 1);
    // Ids from before a server restart mean nothing now.
    auto closed = only<action::Close>(actions);
    g_assert_cmpuint(closed.size(), ==, 1);
    check_str_eq(closed[0].peer, "old-id");
}

void test_peer_left_reasons() {
    RoomLogic logic("r");
    FakeLegs legs;
    legs.legs = {{"a", LegStatus::Connected}};
    auto dropped = logic.on_message(proto::PeerLeft{"a", proto::LeaveReason::Dropped}, legs);
    g_assert_cmpuint(only<action::Close>(dropped).size(), ==, 0); // may come back
    auto ev = only<action::Emit>(dropped);
    check_str_eq(ev[0].event.str("reason").c_str(), "dropped");
    for (auto reason : {proto::LeaveReason::Left, proto::LeaveReason::Expired}) {
        auto acts = logic.on_message(proto::PeerLeft{"a", reason}, legs);
        auto closed = only<action::Close>(acts);
        g_assert_cmpuint(closed.size(), ==, 1);
        check_str_eq(closed[0].peer.c_str(), "a");
    }
    // No leg, nothing to close, but the event still goes out.
    auto none = logic.on_message(proto::PeerLeft{"zz", proto::LeaveReason::Left}, legs);
    g_assert_cmpuint(only<action::Close>(none).size(), ==, 0);
    g_assert_cmpuint(emitted(none).size(), ==, 1);
}

void test_offer_is_answered_even_with_an_existing_leg() {
    RoomLogic logic("r");
    FakeLegs legs;
    legs.legs = {{"a", LegStatus::Connected}};
    auto acts = logic.on_message(relayed("a", proto::SdpData{"offer", "v=0 offer"}), legs);
    auto answers = only<action::Answer>(acts);
    g_assert_cmpuint(answers.size(), ==, 1);
    check_str_eq(answers[0].peer.c_str(), "a");
    check_str_eq(answers[0].sdp.c_str(), "v=0 offer");
}

void test_answers_and_candidates_need_a_leg() {
    RoomLogic logic("r");
    FakeLegs legs;
    auto cand = proto::CandidateData{"candidate:1 1 UDP 1 10.0.0.1 9 typ host", 0, "video0"};
    g_assert_cmpuint(logic.on_message(relayed("x", proto::SdpData{"answer", "v=0"}), legs).size(),
                     ==, 0);
    g_assert_cmpuint(logic.on_message(relayed("x", cand), legs).size(), ==, 0);
    legs.legs = {{"x", LegStatus::Negotiating}};
    auto a = only<action::ApplyAnswer>(
        logic.on_message(relayed("x", proto::SdpData{"answer", "v=0"}), legs));
    g_assert_cmpuint(a.size(), ==, 1);
    auto c = only<action::AddCandidate>(logic.on_message(relayed("x", cand), legs));
    g_assert_cmpuint(c.size(), ==, 1);
    check_str_eq(c[0].candidate.mid.c_str(), "video0");
}

void test_garbage_signal_data_is_ignored() {
    RoomLogic logic("r");
    FakeLegs legs;
    legs.legs = {{"x", LegStatus::Connected}};
    for (const char *data : {"{}", R"({"sdp":{"type":"pranswer","sdp":"v=0"}})",
                             R"({"candidate":{}})", R"({"sdp":"v=0"})"})
        g_assert_cmpuint(logic.on_message(proto::Relayed{"x", data}, legs).size(), ==, 0);
}

void test_room_full_exits_3() {
    RoomLogic logic("busy");
    FakeLegs legs;
    auto acts = logic.on_message(proto::Error{proto::ErrorCode::RoomFull, "room is full"}, legs);
    auto ev = only<action::Emit>(acts);
    g_assert_cmpuint(ev.size(), ==, 1);
    check_str_eq(ev[0].event.name.c_str(), "error");
    check_str_eq(ev[0].event.str("code").c_str(), "room-full");
    auto exits = only<action::Exit>(acts);
    g_assert_cmpuint(exits.size(), ==, 1);
    g_assert_cmpint(exits[0].code, ==, kExitRoomFull);
}

void test_other_errors_do_not_end_the_call() {
    RoomLogic logic("r");
    FakeLegs legs;
    for (auto code : {proto::ErrorCode::UnknownPeer, proto::ErrorCode::BadMessage,
                      proto::ErrorCode::UnknownType, proto::ErrorCode::NotJoined})
        g_assert_cmpuint(only<action::Exit>(logic.on_message(proto::Error{code, "x"}, legs)).size(),
                         ==, 0);
    auto invalid = logic.on_message(proto::Error{proto::ErrorCode::InvalidRoom, "bad"}, legs);
    g_assert_cmpint(only<action::Exit>(invalid)[0].code, ==, kExitUsage);
}

// `unavailable` (the server cannot reach Redis) is not a refusal: join again later, less
// often each time, and never once joined.
void test_unavailable_rejoins_with_backoff() {
    RoomLogic logic("r");
    FakeLegs legs;
    std::vector<unsigned> delays;
    for (int i = 0; i < 6; ++i) {
        auto acts = logic.on_message(proto::Error{proto::ErrorCode::Unavailable, "later"}, legs);
        g_assert_cmpuint(only<action::Exit>(acts).size(), ==, 0);
        auto rejoin = only<action::Rejoin>(acts);
        g_assert_cmpuint(rejoin.size(), ==, 1);
        delays.push_back(rejoin[0].delay_ms);
    }
    g_assert_cmpuint(delays[0], ==, 1000);
    g_assert_cmpuint(delays[1], ==, 2000);
    g_assert_cmpuint(delays[3], ==, 8000);
    g_assert_cmpuint(delays[5], ==, 8000);
    logic.on_message(joined({}), legs);
    auto later = logic.on_message(proto::Error{proto::ErrorCode::Unavailable, "x"}, legs);
    g_assert_cmpuint(only<action::Rejoin>(later).size(), ==, 0);
    // After a drop the count starts again.
    logic.on_disconnected();
    auto again = logic.on_message(proto::Error{proto::ErrorCode::Unavailable, "x"}, legs);
    g_assert_cmpuint(only<action::Rejoin>(again)[0].delay_ms, ==, 1000);
}

void test_admit_ask() {
    FakeLegs legs;
    RoomLogic logic("room");
    logic.set_ask_to_join(true);
    // Joining switches "ask before anyone joins" on (unless it is on already).
    auto a = logic.on_message(joined({}), legs);
    auto sends = only<action::Send>(a);
    g_assert_cmpuint(sends.size(), ==, 1);
    g_assert_true(std::get<proto::SetLobby>(sends[0].msg).on);
    proto::Joined already = std::get<proto::Joined>(joined({}));
    already.lobby = true;
    g_assert_cmpuint(only<action::Send>(logic.on_message(already, legs)).size(), ==, 0);

    // A request: an event and a ring; the last one settled stops the ring.
    auto r1 = logic.on_message(proto::AdmitRequest{"t1", "Ana"}, legs);
    g_assert_true(emitted(r1) == std::vector<std::string>{"admit-request"});
    g_assert_true(only<action::Ring>(r1).at(0).on);
    logic.on_message(proto::AdmitRequest{"t2", ""}, legs);
    g_assert_cmpuint(logic.asking().size(), ==, 2);
    auto d1 = logic.on_message(proto::AdmitResolved{"t1", proto::AdmitOutcome::Admitted}, legs);
    g_assert_cmpuint(only<action::Ring>(d1).size(), ==, 0); // t2 still waits
    auto d2 = logic.on_message(proto::AdmitResolved{"t2", proto::AdmitOutcome::TimedOut}, legs);
    g_assert_false(only<action::Ring>(d2).at(0).on);
    g_assert_true(emitted(d2) == std::vector<std::string>{"admit-resolved"});

    // --admit auto: requests are reported, never rung for, and the lobby is left alone.
    RoomLogic open("room");
    g_assert_cmpuint(only<action::Send>(open.on_message(joined({}), legs)).size(), ==, 0);
    auto quiet = open.on_message(proto::AdmitRequest{"t3", "Bo"}, legs);
    g_assert_cmpuint(only<action::Ring>(quiet).size(), ==, 0);
    g_assert_true(emitted(quiet) == std::vector<std::string>{"admit-request"});
}

void test_commands() {
    auto server_msg = [](const Result<Command> &c) { return std::get<proto::ClientMessage>(c.value()); };
    auto a = parse_command("admit t1-x\n");
    g_assert_true(a.ok());
    check_str(std::get<proto::Admit>(server_msg(a)).id, ==, "t1-x");
    auto d = parse_command(R"({"decline":"abc"})");
    check_str(std::get<proto::Decline>(server_msg(d)).id, ==, "abc");
    auto j = parse_command(R"(  {"admit":"abc"}  )");
    check_str(std::get<proto::Admit>(server_msg(j)).id, ==, "abc");
    // Chat, in words or JSON, trimmed; the text keeps its inner spaces.
    auto c = parse_command("chat   hello  there \n");
    g_assert_true(c.ok());
    check_str(std::get<SendChat>(c.value()).text, ==, "hello  there");
    auto cj = parse_command(R"({"chat":" hi "})");
    check_str(std::get<SendChat>(cj.value()).text, ==, "hi");
    for (const char *bad : {"admit", "admit a b", "admit ../x", "open the door", "{\"admit\":1}",
                            "{not json", "[]", "decline " /* no id */, "chat", "chat    ",
                            R"({"chat":""})", R"({"chat":5})", R"({"chat":"x","admit":"y"})"})
        g_assert_false(parse_command(bad).ok());
    g_assert_false(parse_command("chat " + std::string(2001, 'x')).ok());
    g_assert_true(parse_command("chat " + std::string(2000, 'x')).ok());
    auto blank = parse_command("   ");
    check_str(blank.message(), ==, "empty line");
}

// --name goes in every join; names of the others come from joined and peer-joined and go
// with peer-left (not with a drop: they may come back).
void test_names() {
    FakeLegs legs;
    RoomLogic logic("room");
    g_assert_false(logic.join_message().name.has_value());
    logic.set_name("Kiosk");
    check_str(*logic.join_message().name, ==, "Kiosk");
    auto j = std::get<proto::Joined>(joined({"p1", "p2"}));
    j.names = {{"p1", "Ana"}};
    logic.on_message(j, legs);
    check_str(logic.name_of("p1"), ==, "Ana");
    check_str(logic.name_of("p2"), ==, "");
    auto out = logic.on_message(proto::PeerJoined{"p3", false, "Bo"}, legs);
    auto ev = only<action::Emit>(out);
    g_assert_cmpuint(ev.size(), ==, 1);
    check_str(ev[0].event.str("name"), ==, "Bo");
    check_str(logic.name_of("p3"), ==, "Bo");
    logic.on_message(proto::PeerLeft{"p3", proto::LeaveReason::Dropped}, legs);
    check_str(logic.name_of("p3"), ==, "Bo");
    logic.on_message(proto::PeerLeft{"p3", proto::LeaveReason::Left}, legs);
    check_str(logic.name_of("p3"), ==, "");
    logic.on_message(proto::PeerLeft{"p1", proto::LeaveReason::Expired}, legs);
    check_str(logic.name_of("p1"), ==, "");
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/peer-logic/join-and-token", test_join_message_and_resume_token);
    g_test_add_func("/peer-logic/newcomer-offers", test_newcomer_offers_to_everyone);
    g_test_add_func("/peer-logic/first-waits", test_first_in_room_waits);
    g_test_add_func("/peer-logic/resume-keeps-live-legs",
                    test_resume_keeps_live_legs_and_offers_to_the_rest);
    g_test_add_func("/peer-logic/fresh-join-renegotiates",
                    test_fresh_join_renegotiates_even_live_legs);
    g_test_add_func("/peer-logic/peer-left-reasons", test_peer_left_reasons);
    g_test_add_func("/peer-logic/offer-replaces", test_offer_is_answered_even_with_an_existing_leg);
    g_test_add_func("/peer-logic/answers-need-a-leg", test_answers_and_candidates_need_a_leg);
    g_test_add_func("/peer-logic/garbage-ignored", test_garbage_signal_data_is_ignored);
    g_test_add_func("/peer-logic/room-full", test_room_full_exits_3);
    g_test_add_func("/peer-logic/other-errors", test_other_errors_do_not_end_the_call);
    g_test_add_func("/peer-logic/unavailable-rejoins", test_unavailable_rejoins_with_backoff);
    g_test_add_func("/peer-logic/admit-ask", test_admit_ask);
    g_test_add_func("/peer-logic/commands", test_commands);
    g_test_add_func("/peer-logic/names", test_names);
    return g_test_run();
}
