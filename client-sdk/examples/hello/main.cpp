// The smallest Tern app: connect as a user, send one message to a peer, print what arrives.
//
//   tern-hello tcp://127.0.0.1:7400 "$(ternctl token ... --user 1)" 2 "hello"
//
// It prints every event of the conversation until the message it sent comes back, then exits.
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>

#include <tern/client/client.hpp>

namespace tc = tern::client;

class printer final : public tc::listener {
public:
    // Callbacks run one at a time on the client's callback thread; main() waits on `cv`.
    void on_state(const tc::state_change& s) override {
        std::lock_guard lock(mutex);
        if (s.state == tc::connection_state::connected) std::cout << "connected\n";
        if (s.state == tc::connection_state::stopped) finish("stopped: " + s.message);
    }
    void on_event(const tc::event& e) override {
        std::lock_guard lock(mutex);
        std::cout << "#" << e.seq << " from " << e.sender << ": " << e.content.text << "\n";
        if (!sent_id.empty() && e.client_msg_id == sent_id) finish("done");
    }

    void finish(const std::string& why) {  // with `mutex` held
        std::cout << why << "\n";
        finished = true;
        cv.notify_all();
    }

    std::string sent_id;
    std::mutex mutex;
    std::condition_variable cv;
    bool finished = false;
};

int main(int argc, char** argv) {
    if (argc != 5) {
        std::cerr << "usage: tern-hello ENDPOINT TOKEN PEER_USER_ID TEXT\n";
        return 2;
    }
    const auto where = tc::endpoint::parse(argv[1]);
    if (!where) {
        std::cerr << "bad endpoint " << argv[1] << "\n";
        return 2;
    }
    tc::options options;
    options.endpoints = {*where};
    options.token_provider = [token = std::string(argv[2])] { return token; };
    auto app = std::make_shared<printer>();
    tc::client client(options, app);
    client.connect();

    // The peer is a user id; the direct conversation is named by both users, known once the
    // server said who we are.
    const auto peer = std::strtoull(argv[3], nullptr, 10);
    while (client.user() == 0) {
        std::unique_lock lock(app->mutex);
        if (app->cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return app->finished; })) {
            return 1;
        }
    }
    {
        std::lock_guard lock(app->mutex);
        app->sent_id = client.send(tc::conv_id::direct(client.user(), peer),
                                   tc::content::from_text(argv[4]), [](tc::result<tc::sent> r) {
                                       if (r) std::cout << "stored as #" << r->seq << "\n";
                                   });
    }
    std::unique_lock lock(app->mutex);
    app->cv.wait(lock, [&] { return app->finished; });
    return 0;
}
