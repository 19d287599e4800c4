// The facade: every request goes where the request table says, and a body that is not a request
// is refused.
#include <catch2/catch.hpp>

#include "core_harness.hpp"

using namespace tern;
using namespace tern::test;
namespace st = tern::storage;

TEST_CASE("a body that is not a request is refused UNKNOWN_REQUEST and closes the connection",
          "[unit][core]") {
    service_harness h;
    for (const auto body : {v1::Frame::kPong, v1::Frame::kWelcome, v1::Frame::kPush,
                            v1::Frame::kSendAck, v1::Frame::BODY_NOT_SET}) {
        auto bob = h.open({1, 9, 90}, 1);
        v1::Frame f;
        f.set_req_id(4);
        if (body != v1::Frame::BODY_NOT_SET) {
            f.GetReflection()->MutableMessage(&f, v1::Frame::descriptor()->FindFieldByNumber(body));
        }
        h.request(bob, f);
        REQUIRE(bob->reply_to(4));
        CHECK(bob->reply_to(4)->error().code() == v1::UNKNOWN_REQUEST);
        CHECK(bob->closed_with() == v1::DISCONNECT_PROTOCOL_ERROR);
    }
}

TEST_CASE("a query is answered on the device's shard at once, from the store", "[unit][core]") {
    service_harness h;
    auto alice = h.open({1, 8, 80}, 0);
    auto bob = h.open({1, 9, 90}, 1);
    h.request(alice, text_send(1, st::conv_id::direct(8, 9), "one", "c-1"));
    v1::Frame sync;
    sync.set_req_id(6);
    sync.mutable_sync()->set_after_inbox_seq(0);
    h.router.take_posts();
    h.core.on_request(bob, sync);
    CHECK(h.router.take_posts().empty());  // no hop
    const auto page = bob->reply_to(6);
    REQUIRE(page);
    REQUIRE(page->has_sync_page());
    CHECK(page->sync_page().events_size() == 1);
    CHECK(page->sync_page().inbox_head() == 1);
}

TEST_CASE("a malformed conversation id is refused where the request arrives", "[unit][core]") {
    service_harness h;
    auto bob = h.open({1, 9, 90}, 1);
    auto send = text_send(7, st::conv_id::direct(9, 9), "me", "c-1");
    send.mutable_send()->mutable_conv()->set_type(v1::CONV_TYPE_UNSPECIFIED);
    h.router.take_posts();
    h.core.on_request(bob, send);
    h.settle();
    CHECK(bob->reply_to(7)->error().code() == v1::INVALID_ARGUMENT);
}
