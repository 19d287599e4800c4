// Idempotency keyed by the whole request: for every request that carries a client_msg_id, a
// retry gets the original outcome, and a different request under the same id is refused with
// CLIENT_MSG_ID_REUSED, while in flight, once stored, and after a restart (a new core on the
// same store, which knows only what the store kept).
#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core_harness.hpp"
#include "requests.hpp"

using namespace tern;
using namespace tern::test;
namespace st = tern::storage;

namespace {

constexpr st::user_id alice_id = 8;

// A group of alice's with members 9..12, and message seq 2 (alice's) in it to recall or edit.
struct group_fixture {
    service_harness h;
    std::shared_ptr<fake_device> alice = h.open({acme, alice_id, 80}, 0);
    st::conv_id group = create_group(h, alice, {9, 10, 11, 12}, "setup-group");

    group_fixture() {
        h.request(alice, text_send(1, group, "to recall or edit", "setup-message"));
        REQUIRE(alice->reply_to(1)->send_ack().seq() == 2);
    }
};

v1::Frame in_group(const st::conv_id& group, const std::function<void(v1::Frame&)>& fill) {
    v1::Frame f;
    fill(f);
    // Every group request's conv is its field 1: set it through reflection, once.
    auto* body = f.GetReflection()->MutableMessage(
        &f, v1::Frame::descriptor()->FindFieldByNumber(f.body_case()));
    auto* conv_field = body->GetDescriptor()->FindFieldByName("conv");
    if (conv_field) {
        auto* conv =
            static_cast<v1::ConvId*>(body->GetReflection()->MutableMessage(body, conv_field));
        core::to_proto(group, *conv);
    }
    return f;
}

// One request kind: how to make the request under `id`, and a variant that differs in content.
struct kind_case {
    const char* name;
    std::function<v1::Frame(const st::conv_id&, const std::string& id, bool variant)> make;
};

std::vector<kind_case> kinds() {
    return {
        {"send", [](const st::conv_id& g, const std::string& id,
                    bool variant) { return text_send(0, g, variant ? "other text" : "text", id); }},
        {"recall",
         [](const st::conv_id& g, const std::string& id, bool variant) {
             return in_group(g, [&](v1::Frame& f) {
                 f.mutable_recall()->set_seq(variant ? 1 : 2);
                 f.mutable_recall()->set_client_msg_id(id);
             });
         }},
        {"edit",
         [](const st::conv_id& g, const std::string& id, bool variant) {
             return in_group(g, [&](v1::Frame& f) {
                 f.mutable_edit()->set_seq(2);
                 f.mutable_edit()->mutable_content()->set_text(variant ? "edit b" : "edit a");
                 f.mutable_edit()->set_client_msg_id(id);
             });
         }},
        {"group_create",
         [](const st::conv_id&, const std::string& id, bool variant) {
             v1::Frame f;
             f.mutable_group_create()->set_name("new team");
             f.mutable_group_create()->add_member_ids(variant ? 13 : 9);
             f.mutable_group_create()->set_client_msg_id(id);
             return f;
         }},
        {"group_add_members",
         [](const st::conv_id& g, const std::string& id, bool variant) {
             return in_group(g, [&](v1::Frame& f) {
                 f.mutable_group_add_members()->add_user_ids(variant ? 14 : 13);
                 f.mutable_group_add_members()->set_client_msg_id(id);
             });
         }},
        {"group_remove_members",
         [](const st::conv_id& g, const std::string& id, bool variant) {
             return in_group(g, [&](v1::Frame& f) {
                 f.mutable_group_remove_members()->add_user_ids(variant ? 10 : 9);
                 f.mutable_group_remove_members()->set_client_msg_id(id);
             });
         }},
        {"group_rename",
         [](const st::conv_id& g, const std::string& id, bool variant) {
             return in_group(g, [&](v1::Frame& f) {
                 f.mutable_group_rename()->set_name(variant ? "name b" : "name a");
                 f.mutable_group_rename()->set_client_msg_id(id);
             });
         }},
        {"group_set_role",
         [](const st::conv_id& g, const std::string& id, bool variant) {
             return in_group(g, [&](v1::Frame& f) {
                 f.mutable_group_set_role()->set_user_id(variant ? 10 : 9);
                 f.mutable_group_set_role()->set_role(v1::ROLE_ADMIN);
                 f.mutable_group_set_role()->set_client_msg_id(id);
             });
         }},
        {"group_set_history",
         [](const st::conv_id& g, const std::string& id, bool variant) {
             return in_group(g, [&](v1::Frame& f) {
                 f.mutable_group_set_history()->set_history(variant ? v1::HISTORY_FROM_JOIN
                                                                    : v1::HISTORY_WHOLE);
                 f.mutable_group_set_history()->set_client_msg_id(id);
             });
         }},
        {"group_leave",
         [](const st::conv_id& g, const std::string& id, bool) {
             // A leave has no content of its own: its variant is another kind under the id.
             return in_group(g,
                             [&](v1::Frame& f) { f.mutable_group_leave()->set_client_msg_id(id); });
         }},
    };
}

v1::Frame with_req_id(v1::Frame f, std::uint64_t req_id) {
    f.set_req_id(req_id);
    return f;
}

}  // namespace

TEST_CASE("every request with a client_msg_id is listed in the idempotency cases", "[unit][core]") {
    std::size_t with_id = 0;
    for (const auto& row : core::request_table())
        with_id += row.route == core::request_route::event;
    CHECK(with_id == kinds().size());
}

TEST_CASE("a retry gets the original outcome and another request under its id is refused",
          "[unit][core]") {
    for (const auto& kind : kinds()) {
        DYNAMIC_SECTION(kind.name) {
            group_fixture fx;
            auto& h = fx.h;
            const auto original = kind.make(fx.group, "the-id", false);
            h.request(fx.alice, with_req_id(original, 10));
            const auto first = fx.alice->reply_to(10);
            REQUIRE(first);
            INFO(first->DebugString());
            REQUIRE(first->has_send_ack());
            CHECK_FALSE(first->send_ack().duplicate());

            h.request(fx.alice, with_req_id(original, 11));
            const auto retry = fx.alice->reply_to(11);
            REQUIRE(retry->has_send_ack());
            CHECK(retry->send_ack().duplicate());
            CHECK(retry->send_ack().seq() == first->send_ack().seq());
            CHECK(retry->send_ack().conv().id() == first->send_ack().conv().id());
            CHECK(retry->send_ack().server_time_ms() == first->send_ack().server_time_ms());

            // The same id on a request with other content, and on a request of another kind.
            if (kind.name != std::string{"group_leave"}) {
                h.request(fx.alice, with_req_id(kind.make(fx.group, "the-id", true), 12));
                CHECK(fx.alice->reply_to(12)->error().code() == v1::CLIENT_MSG_ID_REUSED);
                CHECK_FALSE(fx.alice->reply_to(12)->error().retryable());
            }
            const bool is_send = kind.name == std::string{"send"};
            h.request(fx.alice, with_req_id(is_send ? kinds()[1].make(fx.group, "the-id", false)
                                                    : text_send(0, fx.group, "text", "the-id"),
                                            13));
            CHECK(fx.alice->reply_to(13)->error().code() == v1::CLIENT_MSG_ID_REUSED);

            // After a restart only the store's record is left, and it tells them apart too.
            core::service restarted{h.router, *h.store, h.commits, h.limits, h.telemetry, h.router};
            auto again = fake_device::make({acme, alice_id, 80}, 0);
            restarted.on_open(again, hello_frame().hello(), welcome_frame());
            h.settle();
            auto frame = with_req_id(original, 14);
            restarted.on_request(again, frame);
            h.settle();
            REQUIRE(again->reply_to(14)->has_send_ack());
            CHECK(again->reply_to(14)->send_ack().seq() == first->send_ack().seq());
            CHECK(again->reply_to(14)->send_ack().duplicate());
            if (kind.name != std::string{"group_leave"}) {
                frame = with_req_id(kind.make(fx.group, "the-id", true), 15);
                restarted.on_request(again, frame);
                h.settle();
                CHECK(again->reply_to(15)->error().code() == v1::CLIENT_MSG_ID_REUSED);
            }
        }
    }
}

TEST_CASE("a different request under the id of one in flight is refused, not made to wait",
          "[unit][core]") {
    group_fixture fx;
    auto& h = fx.h;
    h.submit(fx.alice, with_req_id(text_send(0, fx.group, "one", "k"), 20));
    h.submit(fx.alice, with_req_id(text_send(0, fx.group, "two", "k"), 21));
    h.submit(fx.alice, with_req_id(text_send(0, fx.group, "one", "k"), 22));
    h.router.run();
    CHECK(fx.alice->reply_to(21)->error().code() == v1::CLIENT_MSG_ID_REUSED);
    CHECK_FALSE(fx.alice->reply_to(20));
    h.settle();
    CHECK(fx.alice->reply_to(20)->send_ack().seq() == 3);
    CHECK(fx.alice->reply_to(22)->send_ack().seq() == 3);
    CHECK(fx.alice->reply_to(22)->send_ack().duplicate());
    CHECK(h.store->conversation(acme, fx.group).value()->head_seq == 3);
}

TEST_CASE("a request's identity is its kind and whole body, not its req_id", "[unit][core]") {
    const auto conv = st::conv_id::direct(1, 2);
    const auto a = core::identity_of(with_req_id(text_send(0, conv, "x", "id"), 1));
    CHECK(a == core::identity_of(with_req_id(text_send(0, conv, "x", "id"), 2)));
    CHECK_FALSE(a == core::identity_of(text_send(0, conv, "y", "id")));
    CHECK_FALSE(a == core::identity_of(text_send(0, st::conv_id::direct(1, 3), "x", "id")));
    CHECK(a.kind == v1::Frame::kSend);
    // Stored with the record: the value must not change between versions.
    CHECK(a.fingerprint == 0x4db4'd603'4673'372dULL);
}
