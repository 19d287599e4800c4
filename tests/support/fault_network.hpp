// The network between the nodes of a test cluster, as TCP proxies on loopback that the test
// controls: every link from node i to node j (i's nats-server dialling j's route listener, and
// i's ternd dialling j's nats-server) goes through a proxy of its own, so one link, one direction
// of it, or a whole node can be cut while everything else runs.
//
// What a fault looks like from the nodes, and why it is built so:
// - blocked (one direction of a link): the proxy stops carrying bytes that way. It stops reading
//   too, so the sender's socket buffers fill as they would behind a lost link. A connection that
//   closes meanwhile is not seen closing from the far side (its FIN is lost too) until the link
//   heals. New connections are accepted but carry nothing, like a connect whose SYNs go nowhere.
//   Bytes are held, never dropped: TCP never loses bytes of a live connection, it delivers them
//   late or the connection dies.
// - delay: each chunk is held for `delay` plus up to `jitter`, in order (TCP never reorders).
// - loss: a lost segment costs TCP a retransmission timeout (200 ms at least on Linux), so with
//   probability `loss` a chunk is held 200 ms longer, and everything behind it waits too.
//
// Runs on a thread of its own; faults may be set from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace tern::test {

class fault_network {
public:
    enum class link_kind { route, client };

    explicit fault_network(std::size_t nodes)
        : nodes_(nodes), blocked_(nodes * nodes), refuser_(io_, loopback(0)) {
        for (std::size_t from = 0; from < nodes; ++from) {
            for (std::size_t to = 0; to < nodes; ++to) {
                if (from == to) continue;
                for (const auto kind : {link_kind::route, link_kind::client}) {
                    links_.push_back(std::make_unique<link>(io_, from, to, kind));
                }
            }
        }
        for (auto& l : links_) boost::asio::co_spawn(io_, accept_loop(*l), boost::asio::detached);
        boost::asio::co_spawn(io_, refuse_loop(), boost::asio::detached);
        thread_ = std::thread([this] { io_.run(); });
    }
    ~fault_network() {
        io_.stop();
        thread_.join();
    }
    fault_network(const fault_network&) = delete;
    fault_network& operator=(const fault_network&) = delete;

    [[nodiscard]] std::size_t size() const noexcept { return nodes_; }

    // The port node `from` dials to reach node `to`'s listener of that kind.
    [[nodiscard]] std::uint16_t port(link_kind kind, std::size_t from, std::size_t to) const {
        return find(kind, from, to).acceptor.local_endpoint().port();
    }
    // A port that accepts and closes at once: what a node advertises as its route address, so a
    // peer that learns of it by gossip cannot bypass the proxies (it uses its configured routes).
    [[nodiscard]] std::uint16_t refusing_port() const { return refuser_.local_endpoint().port(); }

    // Where node `to` listens now (after a restart on new ports, the links follow).
    void set_upstream(link_kind kind, std::size_t to, std::uint16_t port) {
        for (auto& l : links_) {
            if (l->kind == kind && l->to == to) l->upstream.store(port);
        }
    }

    // Bytes from node `from` to node `to` stop (on every link between them); the other
    // direction still flows.
    void block(std::size_t from, std::size_t to) { blocked_.at(from * nodes_ + to).store(true); }
    // Node `node` can neither reach nor be reached by any other.
    void isolate(std::size_t node) {
        for (std::size_t other = 0; other < nodes_; ++other) {
            if (other == node) continue;
            block(node, other);
            block(other, node);
        }
    }
    // Every link carries bytes again, at once; delay and loss are off.
    void heal() {
        for (auto& b : blocked_) b.store(false);
        delay_ms_.store(0);
        jitter_ms_.store(0);
        loss_per_million_.store(0);
    }
    // Every link, both ways.
    void set_delay(std::chrono::milliseconds delay, std::chrono::milliseconds jitter) {
        delay_ms_.store(static_cast<int>(delay.count()));
        jitter_ms_.store(static_cast<int>(jitter.count()));
    }
    void set_loss(double probability) {
        loss_per_million_.store(static_cast<int>(probability * 1e6));
    }

    // Chunks carried, and those held back by `loss`, so far (to show that the fault was there).
    [[nodiscard]] std::uint64_t chunks() const { return chunks_.load(); }
    [[nodiscard]] std::uint64_t retransmissions() const { return retransmissions_.load(); }

private:
    using tcp = boost::asio::ip::tcp;
    using clock = std::chrono::steady_clock;
    static constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);
    static constexpr auto poll = std::chrono::milliseconds(10);
    static constexpr auto retransmission_timeout = std::chrono::milliseconds(200);

    static tcp::endpoint loopback(std::uint16_t port) {
        return {boost::asio::ip::make_address("127.0.0.1"), port};
    }

    struct link {
        link(boost::asio::io_context& io, std::size_t f, std::size_t t, link_kind k)
            : from(f), to(t), kind(k), acceptor(io, loopback(0)) {}
        std::size_t from;
        std::size_t to;
        link_kind kind;
        tcp::acceptor acceptor;
        std::atomic<std::uint16_t> upstream{0};
    };

    // One direction of one connection: what was read and when it may be written.
    struct flow {
        explicit flow(boost::asio::io_context& io) : wake(io, clock::time_point::max()) {}
        std::deque<std::pair<clock::time_point, std::vector<char>>> queue;
        clock::time_point last_due{};
        bool source_closed = false;
        boost::asio::steady_timer wake;  // the writer sleeps on it; the reader cancels it
    };

    struct connection {
        connection(tcp::socket c, tcp::socket s, boost::asio::io_context& io)
            : dialler(std::move(c)), listener(std::move(s)), up(io), down(io) {}
        tcp::socket dialler;   // the node that dialled (link.from)
        tcp::socket listener;  // the node it dialled (link.to)
        flow up;               // dialler to listener
        flow down;             // listener to dialler
        bool closed = false;
        void close() {
            if (closed) return;
            closed = true;
            boost::system::error_code ignored;
            dialler.close(ignored);
            listener.close(ignored);
            up.wake.cancel();
            down.wake.cancel();
        }
    };

    [[nodiscard]] const link& find(link_kind kind, std::size_t from, std::size_t to) const {
        for (const auto& l : links_) {
            if (l->kind == kind && l->from == from && l->to == to) return *l;
        }
        throw std::out_of_range("no such link");
    }
    [[nodiscard]] bool is_blocked(std::size_t from, std::size_t to) const {
        return blocked_[from * nodes_ + to].load();
    }

    boost::asio::awaitable<void> refuse_loop() {
        for (;;) {
            auto [ec, socket] = co_await refuser_.async_accept(use_tuple);
            if (ec) co_return;
        }  // the socket closes here
    }

    boost::asio::awaitable<void> accept_loop(link& l) {
        for (;;) {
            auto [ec, socket] = co_await l.acceptor.async_accept(use_tuple);
            if (ec) co_return;
            boost::asio::co_spawn(io_, serve(l, std::move(socket)), boost::asio::detached);
        }
    }

    boost::asio::awaitable<void> serve(link& l, tcp::socket dialler) {
        tcp::socket listener(io_);
        auto [ec] = co_await listener.async_connect(loopback(l.upstream.load()), use_tuple);
        if (ec) co_return;  // nothing listens there: the dialler sees its connection close
        auto c = std::make_shared<connection>(std::move(dialler), std::move(listener), io_);
        const auto co = [&](auto task) {
            boost::asio::co_spawn(io_, std::move(task), boost::asio::detached);
        };
        co(read_side(c, c->dialler, c->up, l.from, l.to));
        co(write_side(c, c->listener, c->up, l.from, l.to));
        co(read_side(c, c->listener, c->down, l.to, l.from));
        co(write_side(c, c->dialler, c->down, l.to, l.from));
    }

    // Reads what node `from` sends, unless that direction is blocked, and queues it with the
    // time it may go on.
    boost::asio::awaitable<void> read_side(std::shared_ptr<connection> c, tcp::socket& source,
                                           flow& f, std::size_t from, std::size_t to) {
        boost::asio::steady_timer timer(io_);
        std::array<char, 16384> buffer;
        while (!c->closed) {
            if (is_blocked(from, to)) {
                timer.expires_after(poll);
                co_await timer.async_wait(use_tuple);
                continue;
            }
            auto [ec, n] = co_await source.async_read_some(boost::asio::buffer(buffer), use_tuple);
            if (ec) {
                f.source_closed = true;
                f.wake.cancel();
                co_return;
            }
            f.last_due = std::max(f.last_due, clock::now() + hold_time());
            f.queue.emplace_back(f.last_due, std::vector<char>(buffer.begin(), buffer.begin() + n));
            f.wake.cancel();
        }
    }

    // Writes the queued chunks to node `to` when they are due and the direction is open; once
    // the source closed and everything went, the whole connection closes.
    boost::asio::awaitable<void> write_side(std::shared_ptr<connection> c, tcp::socket& target,
                                            flow& f, std::size_t from, std::size_t to) {
        boost::asio::steady_timer timer(io_);
        while (!c->closed) {
            if (f.queue.empty() && !f.source_closed) {
                f.wake.expires_at(clock::time_point::max());
                co_await f.wake.async_wait(use_tuple);
                continue;
            }
            const auto due = f.queue.empty() ? clock::now() : f.queue.front().first;
            if (is_blocked(from, to) || due > clock::now()) {
                timer.expires_at(is_blocked(from, to) ? clock::now() + poll : due);
                co_await timer.async_wait(use_tuple);
                continue;
            }
            if (f.queue.empty()) break;  // the source closed, and all it sent went on
            auto chunk = std::move(f.queue.front().second);
            f.queue.pop_front();
            auto [ec, written] =
                co_await boost::asio::async_write(target, boost::asio::buffer(chunk), use_tuple);
            if (ec) break;
        }
        c->close();
    }

    clock::duration hold_time() {
        chunks_.fetch_add(1);
        auto hold = std::chrono::milliseconds(delay_ms_.load());
        if (const int jitter = jitter_ms_.load(); jitter > 0) {
            hold += std::chrono::milliseconds(std::uniform_int_distribution<int>(0, jitter)(rng_));
        }
        if (const int loss = loss_per_million_.load();
            loss > 0 && std::uniform_int_distribution<int>(0, 999'999)(rng_) < loss) {
            hold += retransmission_timeout;
            retransmissions_.fetch_add(1);
        }
        return hold;
    }

    std::size_t nodes_;
    boost::asio::io_context io_;
    std::vector<std::atomic<bool>> blocked_;  // [from * nodes + to]
    std::atomic<int> delay_ms_{0};
    std::atomic<int> jitter_ms_{0};
    std::atomic<int> loss_per_million_{0};
    std::atomic<std::uint64_t> chunks_{0};
    std::atomic<std::uint64_t> retransmissions_{0};
    std::mt19937 rng_{std::random_device{}()};  // on the proxy thread only
    std::vector<std::unique_ptr<link>> links_;
    tcp::acceptor refuser_;
    std::thread thread_;
};

}  // namespace tern::test
