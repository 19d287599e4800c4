// A small least-recently-used map with a fixed capacity in entries, for the writer's caches.
// Not thread-safe: it belongs to the commit writer's thread.
#pragma once

#include <cstddef>
#include <list>
#include <optional>
#include <unordered_map>
#include <utility>

namespace tern::storage::detail {

template <class Key, class Value, class Hash = std::hash<Key>>
class lru_cache {
public:
    explicit lru_cache(std::size_t capacity) : capacity_(capacity) {}

    // The cached value, marked as most recently used; nullptr when absent.
    Value* find(const Key& key) {
        auto it = index_.find(key);
        if (it == index_.end()) return nullptr;
        order_.splice(order_.begin(), order_, it->second);
        return &it->second->second;
    }

    void put(const Key& key, Value value) {
        if (capacity_ == 0) return;
        if (auto it = index_.find(key); it != index_.end()) {
            it->second->second = std::move(value);
            order_.splice(order_.begin(), order_, it->second);
            return;
        }
        order_.emplace_front(key, std::move(value));
        index_.emplace(key, order_.begin());
        while (index_.size() > capacity_) {
            index_.erase(order_.back().first);
            order_.pop_back();
        }
    }

    // Removes the value and hands it over; nullopt when absent.
    std::optional<Value> take(const Key& key) {
        auto it = index_.find(key);
        if (it == index_.end()) return std::nullopt;
        std::optional<Value> out(std::move(it->second->second));
        order_.erase(it->second);
        index_.erase(it);
        return out;
    }

    void erase(const Key& key) {
        if (auto it = index_.find(key); it != index_.end()) {
            order_.erase(it->second);
            index_.erase(it);
        }
    }

    void clear() {
        index_.clear();
        order_.clear();
    }

    [[nodiscard]] std::size_t size() const noexcept { return index_.size(); }

private:
    using entry = std::pair<Key, Value>;
    std::size_t capacity_;
    std::list<entry> order_;
    std::unordered_map<Key, typename std::list<entry>::iterator, Hash> index_;
};

}  // namespace tern::storage::detail
