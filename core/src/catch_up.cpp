// The device table's catch-up: a device reads its inbox from the store page by page, from its
// cursor to the head, paced by its outbound queue, then live pushes take over.
#include "device_table.hpp"

#include <algorithm>

namespace tern::core {

namespace {
// How long a catch-up waits for a device's queue to drain before it pushes the next item.
constexpr std::chrono::milliseconds queue_drain_wait{5};
}  // namespace

storage::result<storage::inbox_page> device_table::first_page(const requester& who,
                                                              const resume_point& resume) const {
    std::uint64_t from = 0;
    if (resume.hint) {
        from = *resume.hint;
    } else {
        const auto stored = ctx_.store.device_cursor(who.tenant, who.user, who.device);
        if (!stored) return stored.error();
        from = std::max(*stored, resume.floor);
    }
    return ctx_.store.inbox_page_after(who.tenant, who.user, from, ctx_.limit.sync_page_max);
}

void device_table::start_catch_up(std::size_t shard, const user_key& user, device_entry& device) {
    device.catching_up = true;
    ctx_.routes.post(shard, [this, shard, user, weak = std::weak_ptr<device_port>(device.port)] {
        catch_up(shard, user, weak);
    });
}

// One page of the device's inbox from the store, then the next, until it is current.
void device_table::catch_up(std::size_t shard, const user_key& user,
                            const std::weak_ptr<device_port>& weak) {
    const auto port = weak.lock();
    if (!port || port->closing()) return;
    auto* device = find(shard, user, port.get());
    if (!device) return;
    auto page =
        ctx_.store.inbox_after(user.tenant, user.user, device->cursor, ctx_.limit.sync_page_max);
    if (!page) {
        ctx_.report.failed(failure::store_read_failed,
                           "a catch-up page, tenant " + std::to_string(user.tenant));
        port->close(v1::DISCONNECT_SERVER_ERROR, v1::UNAVAILABLE, "store read failed");
        return;
    }
    push_page(shard, user, *device, *page);
}

// Pushes a page read from the device's cursor on, then reads the next one; a page shorter than
// the limit reached the head, and live deliveries take over.
void device_table::push_page(std::size_t shard, const user_key& user, device_entry& device,
                             const std::vector<storage::inbox_item>& page) {
    const std::weak_ptr<device_port> weak = device.port;
    for (const auto& item : page) {
        if (item.bytes && !device.port->has_room(item.bytes->size() + 16)) {
            // The device reads slower than the store pages: wait for its queue to drain rather
            // than overflow it (only live pushes may close a slow consumer).
            ctx_.routes.post_after(shard, queue_drain_wait,
                                   [this, shard, user, weak] { catch_up(shard, user, weak); });
            return;
        }
        if (item.bytes) {
            // Caught-up events were announced when they arrived (or were not due): no decision.
            if (!push(device, item.inbox_seq, item.bytes, notice::unspecified)) {
                device.cursor = item.inbox_seq;
            }
        } else {
            device.cursor = item.inbox_seq;  // the event is no longer stored
        }
    }
    if (page.size() == ctx_.limit.sync_page_max) {
        ctx_.routes.post(shard, [this, shard, user, weak] { catch_up(shard, user, weak); });
    } else {
        device.catching_up = false;
    }
}

}  // namespace tern::core
