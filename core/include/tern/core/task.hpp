// A task for a shard: a move-only callable `void()` that keeps its captures inline, up to
// task::inline_bytes, so that posting one allocates nothing of its own (the router's queue may;
// Asio recycles its operations per thread). The core's tasks carry a few ids, a shared pointer
// or a frame: all fit. A larger callable is kept on the heap, correctly, just not for free.
//
// Why not std::function: it copies (so every capture must be copyable) and keeps anything larger
// than 16 bytes, or not trivially copyable, on the heap: an allocation and a free per post, of
// which a message makes four to six (to its owner, its deliveries, its outcome, its replies).
// std::move_only_function is C++23.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace tern::core {

class task {
public:
    static constexpr std::size_t inline_bytes = 192;

    task() noexcept = default;

    template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, task> &&
                                                std::is_invocable_r_v<void, std::decay_t<F>&>>>
    task(F&& f) {  // NOLINT(google-explicit-constructor): a lambda converts, as to std::function
        using fn = std::decay_t<F>;
        if constexpr (fits<fn>()) {
            ::new (static_cast<void*>(storage_)) fn(std::forward<F>(f));
            ops_ = &inline_ops<fn>;
        } else {
            *reinterpret_cast<fn**>(storage_) = new fn(std::forward<F>(f));
            ops_ = &heap_ops<fn>;
        }
    }

    task(task&& other) noexcept : ops_(std::exchange(other.ops_, nullptr)) {
        if (ops_) ops_->move(other.storage_, storage_);
    }
    task& operator=(task&& other) noexcept {
        if (this != &other) {
            reset();
            ops_ = std::exchange(other.ops_, nullptr);
            if (ops_) ops_->move(other.storage_, storage_);
        }
        return *this;
    }
    task(const task&) = delete;
    task& operator=(const task&) = delete;
    ~task() { reset(); }

    void operator()() { ops_->call(storage_); }
    explicit operator bool() const noexcept { return ops_ != nullptr; }

private:
    struct ops_table {
        void (*call)(void*);
        void (*move)(void* from, void* to) noexcept;  // to an empty slot; `from` is left empty
        void (*destroy)(void*) noexcept;
    };

    template <class Fn>
    static constexpr bool fits() {
        return sizeof(Fn) <= inline_bytes && alignof(Fn) <= alignof(std::max_align_t) &&
               std::is_nothrow_move_constructible_v<Fn>;
    }

    template <class Fn>
    static constexpr ops_table inline_ops{
        [](void* s) { (*static_cast<Fn*>(s))(); },
        [](void* from, void* to) noexcept {
            auto* f = static_cast<Fn*>(from);
            ::new (to) Fn(std::move(*f));
            f->~Fn();
        },
        [](void* s) noexcept { static_cast<Fn*>(s)->~Fn(); },
    };

    template <class Fn>
    static constexpr ops_table heap_ops{
        [](void* s) { (**static_cast<Fn**>(s))(); },
        [](void* from, void* to) noexcept { *static_cast<Fn**>(to) = *static_cast<Fn**>(from); },
        [](void* s) noexcept { delete *static_cast<Fn**>(s); },
    };

    void reset() noexcept {
        if (ops_) std::exchange(ops_, nullptr)->destroy(storage_);
    }

    alignas(std::max_align_t) unsigned char storage_[inline_bytes];
    const ops_table* ops_ = nullptr;
};

}  // namespace tern::core
