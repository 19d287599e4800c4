// The request table: every body a client may send after its handshake has exactly one row, with
// what its route needs; nothing a server sends is served.
#include "requests.hpp"

#include <set>

#include <catch2/catch.hpp>

using namespace tern::core;
namespace v1 = tern::v1;

TEST_CASE("every client request body has one row, and server bodies have none", "[unit][core]") {
    const auto* body = v1::Frame::descriptor()->FindOneofByName("body");
    REQUIRE(body != nullptr);
    // The connection handles these itself; the rest are what a server sends.
    const std::set<std::string> connection{"hello", "ping", "disconnect"};
    const std::set<std::string> server_only{"welcome",
                                            "pong",
                                            "error",
                                            "ok",
                                            "send_ack",
                                            "push",
                                            "sync_page",
                                            "history_page",
                                            "receipt_update",
                                            "who_read_reply",
                                            "group_info",
                                            "conversation_list",
                                            "presence_notify",
                                            "mute_update",
                                            "notification_settings",
                                            "working_hours",
                                            "urgent_acknowledged",
                                            "urgent_status",
                                            "digest",
                                            "scheduled_message",
                                            "scheduled_list",
                                            "scheduled_update"};
    std::set<v1::Frame::BodyCase> seen;
    for (int i = 0; i < body->field_count(); ++i) {
        const auto* field = body->field(i);
        const auto which = static_cast<v1::Frame::BodyCase>(field->number());
        CAPTURE(field->name());
        const auto* row = find_request(which);
        if (connection.contains(field->name()) || server_only.contains(field->name())) {
            CHECK(row == nullptr);
            continue;
        }
        REQUIRE(row != nullptr);
        CHECK(row->name == field->name());
        seen.insert(which);
    }
    CHECK(seen.size() == request_table().size());  // no row for a body the protocol lacks
}

TEST_CASE("each row carries what its route needs", "[unit][core]") {
    for (const auto& row : request_table()) {
        CAPTURE(row.name);
        CHECK(row.client_msg_id != nullptr);
        switch (row.route) {
            case request_route::event:
                CHECK(row.decide != nullptr);
                CHECK(row.answer == nullptr);
                // Only a group creation names no conversation (its id is derived).
                CHECK((row.conv == nullptr) == (row.body == v1::Frame::kGroupCreate));
                // Recall and edit name the event they act on.
                CHECK((row.target_seq != nullptr) ==
                      (row.body == v1::Frame::kRecall || row.body == v1::Frame::kEdit));
                break;
            case request_route::query:
                CHECK(row.answer != nullptr);
                CHECK(row.decide == nullptr);
                break;
            case request_route::mark_read:
            case request_route::typing:
            case request_route::mute:
                CHECK(row.conv != nullptr);
                CHECK(row.decide == nullptr);
                break;
            default:
                CHECK(row.decide == nullptr);
                CHECK(row.answer == nullptr);
        }
    }
}

TEST_CASE("a row reads its request's conversation and client_msg_id", "[unit][core]") {
    v1::Frame f;
    auto* recall = f.mutable_recall();
    recall->mutable_conv()->set_type(v1::CONV_TYPE_GROUP);
    recall->mutable_conv()->set_id(77);
    recall->set_seq(5);
    recall->set_client_msg_id("r-1");
    const auto* row = find_request(f.body_case());
    REQUIRE(row != nullptr);
    CHECK(row->route == request_route::event);
    CHECK(row->conv(f)->id() == 77);
    CHECK(row->client_msg_id(f) == "r-1");
    CHECK(row->target_seq(f) == 5);

    v1::Frame none;
    CHECK(find_request(none.body_case()) == nullptr);
}
