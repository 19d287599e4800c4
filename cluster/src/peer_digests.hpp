// What the other nodes say their replicas applied, and whether this node's replica agrees: each
// ternd's heartbeat (tern.alive.<node>) carries, per partition, its applied sequence and the
// digest of the log up to it. Replicas that applied the same sequence must report the same
// digest; when they do not, someone's copy of the log diverged (nats-server 2.9.10 can keep, on
// a node that was cut off while it led, an entry its cluster never committed). This node halts
// its own replica when more peers disagree with it than agree: with three nodes, the odd one
// out halts and the two that agree go on (docs/cluster.md, "A diverged replica").
//
// Reports arrive on a libnats thread, compare() runs on the control thread: both lock.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace tern::cluster::detail {

class peer_digests {
public:
    struct report {
        std::uint64_t applied = 0;
        std::uint64_t digest = 0;
    };
    struct verdict {
        int agree = 0;       // peers whose digest matches this node's at a common sequence
        int disagree = 0;    // peers whose digest differs
        std::string detail;  // the first disagreement, for logs and the halt reason
        [[nodiscard]] bool outvoted() const noexcept { return disagree > agree; }
    };
    // This node's digest after entry `sequence`, if it still knows it.
    using digest_lookup = std::function<std::optional<std::uint64_t>(std::uint64_t sequence)>;

    // The last few reports per peer and partition are kept: a peer ahead of this node (the owner
    // under load) is compared at the newest of them that this node has reached.
    static constexpr std::size_t kept = 8;

    void heard(const std::string& peer, std::uint32_t partition, report r) {
        std::lock_guard lock(mutex_);
        auto& reports = reports_[{peer, partition}];
        if (!reports.empty() && reports.back().applied == r.applied) return;  // quiet: the same
        reports.push_back(r);
        if (reports.size() > kept) reports.pop_front();
    }

    // Each peer's newest comparable report for `partition`, against this node's digest there.
    [[nodiscard]] verdict compare(std::uint32_t partition, const digest_lookup& mine) const {
        verdict v;
        std::lock_guard lock(mutex_);
        for (const auto& [key, reports] : reports_) {
            if (key.second != partition) continue;
            for (auto r = reports.rbegin(); r != reports.rend(); ++r) {
                const auto here = mine(r->applied);
                if (!here) continue;
                if (*here == r->digest) {
                    ++v.agree;
                } else {
                    ++v.disagree;
                    if (v.detail.empty()) {
                        v.detail = "after entry " + std::to_string(r->applied) +
                                   " this node's digest is " + std::to_string(*here) + ", " +
                                   key.first + "'s is " + std::to_string(r->digest);
                    }
                }
                break;
            }
        }
        return v;
    }

private:
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, std::uint32_t>, std::deque<report>> reports_;
};

}  // namespace tern::cluster::detail
