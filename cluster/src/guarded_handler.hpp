// A handler that libnats calls on its delivery thread, made safe to stop: libnats may still be
// delivering a message when we unsubscribe. The handler runs under a mutex and not at all once
// closed, and the state stays alive (shared with libnats through the subscription's closure)
// until libnats reports the subscription complete.
#pragma once

#include <memory>
#include <mutex>

#include <nats/nats.h>

namespace tern::cluster::detail {

template <class Handler>
struct guarded_handler {
    Handler handler;
    std::mutex mutex;  // held while the handler runs
    bool closed = false;

    // The closure to hand libnats: a heap copy of the shared pointer, freed by on_complete.
    static void* closure_for(const std::shared_ptr<guarded_handler>& self) {
        return new std::shared_ptr<guarded_handler>(self);
    }
    static guarded_handler& of(void* closure) {
        return **static_cast<std::shared_ptr<guarded_handler>*>(closure);
    }
    // Registers the release of `closure` for when libnats is done with the subscription. If it
    // cannot (the subscription is closed already), the closure is kept: a last delivery may
    // still use it, and it is a few bytes.
    static void release_when_complete(natsSubscription* sub, void* closure) {
        natsSubscription_SetOnCompleteCB(sub, &guarded_handler::release, closure);
    }
    static void release(void* closure) {
        delete static_cast<std::shared_ptr<guarded_handler>*>(closure);
    }

    template <class... Args>
    void run(Args&&... args) {
        std::lock_guard lock(mutex);
        if (!closed) handler(std::forward<Args>(args)...);
    }
    // After it returns the handler never runs again (a running one is waited for, so never
    // close from the handler itself).
    void close() {
        std::lock_guard lock(mutex);
        closed = true;
    }
};

}  // namespace tern::cluster::detail
