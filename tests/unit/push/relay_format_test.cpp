// The relay contracts as bytes (docs/notifications.md, "Push relays"): the signed webhook, the
// Matrix push gateway's notify, and what each answer means.
#include <tern/push/relay_format.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace tp = tern::push;
using nlohmann::json;

namespace {

tp::push_message sample() {
    tp::push_message m;
    m.to = {7, 42, 3};
    m.platform = "apns";
    m.token = "tok-1";
    m.app_id = "com.example.chat";
    m.conv_type = "group";
    m.conv_id = 9;
    m.seq = 120;
    m.sender = 5;
    m.preview = "the build is red";
    m.count = 3;
    m.badge = 11;
    return m;
}

}  // namespace

TEST_CASE("the webhook's body names the device, the message, the count and the badge",
          "[unit][push]") {
    const auto body = json::parse(tp::webhook_body(sample()));
    CHECK(body["tenant"] == 7);
    CHECK(body["user"] == 42);
    CHECK(body["device"] == 3);
    CHECK(body["platform"] == "apns");
    CHECK(body["token"] == "tok-1");
    CHECK(body["app_id"] == "com.example.chat");
    CHECK(body["conversation"] == json{{"type", "group"}, {"id", 9}, {"peer", 0}});
    CHECK(body["seq"] == 120);
    CHECK(body["sender"] == 5);
    CHECK(body["preview"] == "the build is red");
    CHECK(body["count"] == 3);
    CHECK(body["badge"] == 11);
    CHECK(body["notice"] == "alert");
    CHECK(body["urgent"] == false);
    CHECK(body["channel"] == "push");
    // Privacy: no sender, no preview, when the tenant's setting hides them.
    auto hidden = sample();
    hidden.sender = 0;
    hidden.preview.clear();
    hidden.alert = false;
    hidden.via = tp::channel::sms;
    const auto quiet = json::parse(tp::webhook_body(hidden));
    CHECK_FALSE(quiet.contains("sender"));
    CHECK_FALSE(quiet.contains("preview"));
    CHECK(quiet["notice"] == "silent");
    CHECK(quiet["channel"] == "sms");
}

TEST_CASE("the webhook's signature: HMAC-SHA256 of the time and the body, checked with a window",
          "[unit][push]") {
    // Pinned (computed apart, with Python's hmac): relays in any language must agree.
    CHECK(tp::webhook_signature("s3cret", 1'700'000'000, R"({"a":1})") ==
          "1698a50bc74d1ff1db85c4e0a5297c2ad9fdba245d5737cdb789e4cc6e098940");
    const auto post = tp::webhook_post(sample(), "s3cret", 1'700'000'000);
    std::string header;
    for (const auto& [name, value] : post.headers) {
        if (name == "X-Tern-Signature") header = value;
    }
    REQUIRE(header.starts_with("t=1700000000,v1="));
    CHECK(tp::webhook_signature_valid(header, post.body, "s3cret", 1'700'000'010, 300));
    // Another secret, a changed body, a replay past the window, a time from the future, a
    // malformed header: all refused.
    CHECK_FALSE(tp::webhook_signature_valid(header, post.body, "other", 1'700'000'010, 300));
    CHECK_FALSE(tp::webhook_signature_valid(header, post.body + " ", "s3cret", 1'700'000'010, 300));
    CHECK_FALSE(tp::webhook_signature_valid(header, post.body, "s3cret", 1'700'000'301, 300));
    CHECK_FALSE(tp::webhook_signature_valid(header, post.body, "s3cret", 1'699'999'699, 300));
    CHECK_FALSE(tp::webhook_signature_valid("v1=abc", post.body, "s3cret", 1'700'000'000, 300));
    CHECK_FALSE(tp::webhook_signature_valid("t=x,v1=abc", post.body, "s3cret", 1'700'000'000, 300));
}

TEST_CASE("the Matrix push gateway's notify: the conversation as room, the seq as event",
          "[unit][push]") {
    const auto body = json::parse(tp::matrix_body(sample()));
    const auto& n = body["notification"];
    CHECK(n["event_id"] == "$120");
    CHECK(n["room_id"] == "!group.9.0:tenant-7");
    CHECK(n["sender"] == "@5:tenant-7");
    CHECK(n["prio"] == "high");
    CHECK(n["counts"]["unread"] == 11);
    CHECK(n["content"]["body"] == "the build is red");
    REQUIRE(n["devices"].size() == 1);
    CHECK(n["devices"][0]["app_id"] == "com.example.chat");
    CHECK(n["devices"][0]["pushkey"] == "tok-1");
    CHECK(n["devices"][0]["data"]["count"] == 3);
    CHECK(n["devices"][0]["tweaks"]["sound"] == "default");
    auto silent = sample();
    silent.alert = false;
    silent.preview.clear();
    const auto low = json::parse(tp::matrix_body(silent))["notification"];
    CHECK(low["prio"] == "low");
    CHECK_FALSE(low.contains("content"));
    CHECK_FALSE(low["devices"][0].contains("tweaks"));
}

TEST_CASE("a work-start digest to either relay: its kind, its numbers, and no room or event",
          "[unit][push]") {
    tp::push_message m;
    m.to = {7, 42, 3};
    m.platform = "fcm";
    m.token = "tok-2";
    m.app_id = "com.example.chat";
    m.count = 12;
    m.badge = 15;
    m.digest = tp::digest_counts{12, 4, 2};
    const auto hook = json::parse(tp::webhook_body(m));
    CHECK(hook["kind"] == "digest");
    CHECK(hook["digest"] == json{{"messages", 12}, {"conversations", 4}, {"mentions", 2}});
    CHECK(hook["badge"] == 15);
    CHECK(json::parse(tp::webhook_body(sample()))["kind"] == "message");
    CHECK_FALSE(json::parse(tp::webhook_body(sample())).contains("digest"));

    const auto n = json::parse(tp::matrix_body(m))["notification"];
    CHECK(n["type"] == "tern.digest");
    CHECK_FALSE(n.contains("event_id"));
    CHECK_FALSE(n.contains("room_id"));
    CHECK(n["content"]["body"] == "12 messages in 4 conversations, 2 mentions of you");
    CHECK(n["devices"][0]["data"]["digest"]["mentions"] == 2);
    CHECK(n["counts"]["unread"] == 15);
    m.digest = tp::digest_counts{1, 1, 0};
    CHECK(json::parse(tp::matrix_body(m))["notification"]["content"]["body"] ==
          "1 message in 1 conversation");
}

TEST_CASE("what a relay's answer means: taken, ask again, a dead token, refused", "[unit][push]") {
    CHECK(tp::webhook_verdict(200) == tp::verdict::delivered);
    CHECK(tp::webhook_verdict(204) == tp::verdict::delivered);
    CHECK(tp::webhook_verdict(410) == tp::verdict::token_invalid);
    CHECK(tp::webhook_verdict(429) == tp::verdict::retry);
    CHECK(tp::webhook_verdict(500) == tp::verdict::retry);
    CHECK(tp::webhook_verdict(503) == tp::verdict::retry);
    CHECK(tp::webhook_verdict(400) == tp::verdict::refused);
    CHECK(tp::webhook_verdict(401) == tp::verdict::refused);
    CHECK(tp::matrix_verdict(200, R"({"rejected": []})", "tok") == tp::verdict::delivered);
    CHECK(tp::matrix_verdict(200, R"({"rejected": ["other", "tok"]})", "tok") ==
          tp::verdict::token_invalid);
    CHECK(tp::matrix_verdict(200, "not json", "tok") == tp::verdict::delivered);
    CHECK(tp::matrix_verdict(502, "", "tok") == tp::verdict::retry);
    CHECK(tp::matrix_verdict(400, "", "tok") == tp::verdict::refused);
}
