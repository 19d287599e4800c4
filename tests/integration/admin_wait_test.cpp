// The admin routes that ask every shard (connz, kick) wait at most a bound: a shard that does not
// answer (stuck in a long store read, say) gets the operator a 503, and the admin listener, which
// also serves /metrics and the health checks, goes on answering.
#include <future>

#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>

#include <tern/core/service.hpp>
#include <tern/storage/commit_writer.hpp>
#include <tern/storage/memory_store.hpp>

#include "admin/admin_server.hpp"
#include "app/core_admin.hpp"
#include "app/core_telemetry.hpp"
#include "metrics/metrics.hpp"
#include "net/shard_pool.hpp"
#include "net/shard_router.hpp"

using namespace std::chrono_literals;
namespace ts = tern::server;

TEST_CASE("with a shard stuck the admin routes' wait on the shards ends, and answers after it",
          "[integration][admin]") {
    ts::net::shard_pool shards(2);
    ts::net::shard_router router(shards);
    auto store = tern::storage::make_memory_store();
    tern::storage::commit_writer writer(*store, {tern::storage::durability::memory});
    ts::metrics metrics({"test", "test"});
    ts::app::core_telemetry telemetry(metrics);
    const tern::core::limits limits;
    tern::core::writer_commit_port commits(writer);
    tern::core::service service(router, *store, commits, limits, telemetry);
    ts::app::core_admin admin(service);
    shards.start();

    std::promise<void> release;
    std::promise<void> stuck;
    boost::asio::post(shards.context(1), [&stuck, released = release.get_future()]() mutable {
        stuck.set_value();
        released.wait();
    });
    stuck.get_future().wait();
    CHECK_FALSE(admin.devices(0, 10, 50ms));
    CHECK_FALSE(admin.kick(1, 1, std::nullopt, 50ms));

    // Once the shard runs again, the late parts run on state they own, and the routes answer.
    release.set_value();
    const auto list = admin.devices(0, 10, 60s);
    REQUIRE(list);
    CHECK(list->empty());
    CHECK(admin.kick(1, 1, std::nullopt, 60s) == std::size_t{0});
    shards.stop();
    writer.stop();
}

TEST_CASE("an admin route that cannot answer gets a 503, one that fails a 500, and no crash",
          "[integration][admin]") {
    ts::admin::routes routes;
    routes.connz = [](std::uint64_t, std::size_t) -> nlohmann::json {
        throw ts::admin::unavailable("a shard did not answer within 5 s");
    };
    routes.varz = []() -> nlohmann::json { throw std::runtime_error("broken"); };
    const auto late = ts::admin::handle(routes, "", {"GET", "/admin/v1/connz", "", ""});
    CHECK(late.status == 503);
    CHECK(late.body.find("did not answer") != std::string::npos);
    const auto failed = ts::admin::handle(routes, "", {"GET", "/admin/v1/varz", "", ""});
    CHECK(failed.status == 500);
    CHECK(failed.body.find("broken") == std::string::npos);  // details go to the log only
}
