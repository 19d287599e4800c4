#include <tern/cluster/ownership.hpp>

namespace tern::cluster {

ownership_action decide_ownership(const std::string& node, const partition_view& v) noexcept {
    const bool leading = !v.leader.empty() && v.leader == node;
    // The stream ends before what this node applied: it lost acknowledged entries (a majority
    // restarted without them). Serving would hand out seqs that clients already hold.
    if (v.applied > v.last_seq && !v.leader.empty()) {
        if (v.owning) return ownership_action::end_term;
        return leading ? ownership_action::step_down : ownership_action::diverged;
    }
    if (!leading) return v.owning ? ownership_action::end_term : ownership_action::none;
    if (v.halted || v.draining) {
        return v.owning ? ownership_action::end_term : ownership_action::step_down;
    }
    if (v.owning) return ownership_action::none;
    if (v.applied < v.last_seq) return ownership_action::catch_up;
    return ownership_action::begin_term;
}

const char* describe(ownership_action a) noexcept {
    switch (a) {
        case ownership_action::none:
            return "none";
        case ownership_action::begin_term:
            return "begin term";
        case ownership_action::end_term:
            return "end term";
        case ownership_action::catch_up:
            return "catch up";
        case ownership_action::step_down:
            return "step down";
        case ownership_action::diverged:
            return "diverged";
    }
    return "unknown";
}

}  // namespace tern::cluster
