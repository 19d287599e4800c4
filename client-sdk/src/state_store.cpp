#include <algorithm>
#include <deque>

#include <tern/client/state_store.hpp>

namespace tern::client {
namespace {

class memory_state_store final : public state_store {
public:
    void outbox_add(const outbox_entry& entry) override { outbox_.push_back(entry); }
    void outbox_remove(const std::string& client_msg_id) override {
        // Acks come in send order: the entry is almost always the oldest. (A scan of the whole
        // outbox per ack made 20,000 queued sends quadratic.)
        if (!outbox_.empty() && outbox_.front().client_msg_id == client_msg_id) {
            outbox_.pop_front();
            return;
        }
        std::erase_if(outbox_, [&](const auto& e) { return e.client_msg_id == client_msg_id; });
    }
    std::vector<outbox_entry> outbox() const override { return {outbox_.begin(), outbox_.end()}; }
    std::uint64_t inbox_cursor() const override { return cursor_; }
    void set_inbox_cursor(std::uint64_t inbox_seq) override { cursor_ = inbox_seq; }

private:
    std::deque<outbox_entry> outbox_;
    std::uint64_t cursor_ = 0;
};

}  // namespace

std::unique_ptr<state_store> make_memory_state_store() {
    return std::make_unique<memory_state_store>();
}

}  // namespace tern::client
