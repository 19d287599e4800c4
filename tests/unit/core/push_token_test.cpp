// A device's push registration through the core (docs/notifications.md, "Push relays"):
// RegisterPushToken kept per device through the log, replaced, removed, refused with the field
// named; a token the relay reports dead goes only while it is still the device's.
#include <catch2/catch.hpp>

#include "core_harness.hpp"
#include "tern/v1/notifications.pb.h"

using namespace tern;
using namespace tern::test;
namespace st = tern::storage;

namespace {

std::string refusal_of(const std::shared_ptr<fake_device>& d, std::uint64_t req_id) {
    const auto r = d->reply_to(req_id);
    REQUIRE(r);
    REQUIRE(r->has_error());
    CHECK(r->error().code() == v1::INVALID_ARGUMENT);
    return r->error().message();
}

}  // namespace

TEST_CASE("push tokens: each device's own, replaced, removed, refused with the field named",
          "[unit][core]") {
    service_harness h;
    auto phone = h.open({acme, 1, 10}, 0);
    auto tablet = h.open({acme, 1, 11}, 1);
    h.request(phone, push_token_frame(5, "apns", "tok-a"));
    CHECK(phone->reply_to(5)->has_ok());
    h.request(tablet, push_token_frame(6, "fcm", "tok-b", "com.example.android"));
    CHECK(tablet->reply_to(6)->has_ok());
    auto stored = h.store->push_tokens(acme, 1).value();
    REQUIRE(stored.size() == 2);
    CHECK(stored[0] == st::push_registration{10, "apns", "tok-a", "com.example"});
    CHECK(stored[1] == st::push_registration{11, "fcm", "tok-b", "com.example.android"});

    h.request(phone, push_token_frame(7, "apns", "tok-c"));  // a new token replaces the old
    h.request(tablet, push_token_frame(8, "", ""));          // removed
    stored = h.store->push_tokens(acme, 1).value();
    REQUIRE(stored.size() == 1);
    CHECK(stored[0].token == "tok-c");
    CHECK(h.store->push_tokens(acme + 1, 1).value().empty());

    h.request(phone, push_token_frame(9, "", "tok-d"));
    CHECK_THAT(refusal_of(phone, 9), Catch::Contains("platform"));
    h.request(phone, push_token_frame(10, "apns", ""));
    CHECK_THAT(refusal_of(phone, 10), Catch::Contains("token"));
    h.request(phone, push_token_frame(11, std::string(65, 'p'), "tok"));
    CHECK_THAT(refusal_of(phone, 11), Catch::Contains("platform"));
    h.request(phone, push_token_frame(12, "apns", std::string(4097, 't')));
    CHECK_THAT(refusal_of(phone, 12), Catch::Contains("token"));
    h.request(phone, push_token_frame(13, "apns", "tok", std::string(257, 'a')));
    CHECK_THAT(refusal_of(phone, 13), Catch::Contains("app_id"));
    CHECK(h.store->push_tokens(acme, 1).value().at(0).token == "tok-c");

    // Not stored: the store's error, retryable.
    h.commits.set_full(true);
    h.request(phone, push_token_frame(14, "apns", "tok-e"));
    CHECK(phone->reply_to(14)->error().code() == v1::UNAVAILABLE);
    h.commits.set_full(false);
}

TEST_CASE("a token the relay reports dead goes, unless the device registered another since",
          "[unit][core]") {
    service_harness h;
    auto phone = h.open({acme, 1, 10}, 0);
    h.request(phone, push_token_frame(5, "fcm", "tok-old"));
    h.request(phone, push_token_frame(6, "fcm", "tok-new"));
    h.core.forget_push_token(acme, 1, 10, "tok-old");  // reported late: the new one stays
    h.settle();
    CHECK(h.store->push_tokens(acme, 1).value().at(0).token == "tok-new");
    h.core.forget_push_token(acme, 1, 10, "tok-new");
    h.settle();
    CHECK(h.store->push_tokens(acme, 1).value().empty());
    // A commit that fails is counted.
    h.request(phone, push_token_frame(7, "fcm", "tok-3"));
    h.commits.fail_next(make_error_code(st::errc::no_space));
    h.core.forget_push_token(acme, 1, 10, "tok-3");
    h.settle();
    CHECK(h.telemetry.count(core::failure::commit_failed) == 1);
}
