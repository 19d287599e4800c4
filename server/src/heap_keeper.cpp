#include "heap_keeper.hpp"

#include <dlfcn.h>
#include <pthread.h>

#include <algorithm>
#include <cstddef>
#include <utility>

namespace tern::server {

namespace {

// gperftools' C API (malloc_extension_c.h), looked up in the running program: present when
// tcmalloc is linked, absent on any other allocator.
struct tcmalloc_api {
    int (*get_property)(const char* name, std::size_t* value) = nullptr;
    void (*release_to_system)(std::size_t bytes) = nullptr;

    tcmalloc_api() {
        get_property = reinterpret_cast<int (*)(const char*, std::size_t*)>(
            ::dlsym(RTLD_DEFAULT, "MallocExtension_GetNumericProperty"));
        release_to_system = reinterpret_cast<void (*)(std::size_t)>(
            ::dlsym(RTLD_DEFAULT, "MallocExtension_ReleaseToSystem"));
    }

    [[nodiscard]] bool present() const { return get_property && release_to_system; }

    [[nodiscard]] std::optional<std::uint64_t> property(const char* name) const {
        std::size_t value = 0;
        if (get_property(name, &value) == 0) return std::nullopt;
        return value;
    }
};

const tcmalloc_api& tcmalloc() {
    static const tcmalloc_api api;
    return api;
}

}  // namespace

std::optional<heap_figures> read_heap() {
    const auto& api = tcmalloc();
    if (!api.present()) return std::nullopt;
    const auto allocated = api.property("generic.current_allocated_bytes");
    const auto free = api.property("tcmalloc.pageheap_free_bytes");
    const auto unmapped = api.property("tcmalloc.pageheap_unmapped_bytes");
    if (!allocated || !free || !unmapped) return std::nullopt;
    return heap_figures{*allocated, *free, *unmapped};
}

heap_keeper::heap_keeper(std::chrono::milliseconds interval, std::uint64_t reserve_bytes,
                         std::function<void(std::uint64_t)> released)
    : interval_(interval), reserve_(reserve_bytes), released_(std::move(released)) {
    if (interval_.count() > 0 && read_heap()) thread_ = std::thread([this] { run(); });
}

heap_keeper::~heap_keeper() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::uint64_t heap_keeper::release_excess() {
    const auto now = read_heap();
    return now ? release(heap_excess(now->free, reserve_)) : 0;
}

std::uint64_t heap_keeper::release(std::uint64_t excess) {
    const auto before = read_heap();
    if (!before || excess == 0) return 0;
    // tcmalloc holds its page-heap lock while it gives pages back, and every thread that needs
    // a new span waits for it: ask a step at a time, so that no shard waits long. It gives back
    // whole spans, so a step may give back more than asked; it then skips later requests until
    // the requests have caught up, so the steps together give back about the excess.
    constexpr std::uint64_t step = 1 << 20;
    for (std::uint64_t asked = 0; asked < excess; asked += step) {
        tcmalloc().release_to_system(std::min(step, excess - asked));
        std::this_thread::yield();
    }
    // What moved from free to unmapped (frees and reuse land meanwhile too).
    const auto after = read_heap();
    const auto given =
        after && after->unmapped > before->unmapped ? after->unmapped - before->unmapped : 0;
    if (given > 0 && released_) released_(given);
    return given;
}

void heap_keeper::run() {
    pthread_setname_np(pthread_self(), "tern-heap");
    std::uint64_t excess_before = 0;
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
        lock.unlock();
        if (const auto now = read_heap()) {
            const auto excess = heap_excess(now->free, reserve_);
            release(idle_excess(excess_before, excess));
            excess_before = excess;
        }
        lock.lock();
    }
}

}  // namespace tern::server
