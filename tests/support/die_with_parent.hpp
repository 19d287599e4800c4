// For a child the tests fork: it gets SIGKILL when the test process dies, however that dies. A
// crash or an abort (a sanitizer's report) skips the destructors that stop children by PID, and
// orphaned nats-server and ternd processes would outlive the run (and hold its output pipe).
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>

namespace tern::test {

// Taken in the parent before fork(). The kernel ties the signal to the thread that forks, so it
// is armed only when the main thread forks: a helper thread that forks a ternd and then ends
// (a fault test's killer) would take the child with it.
struct parent_watch {
    pid_t pid = ::getpid();
    bool armed = ::gettid() == ::getpid();
};

// Call in the child right after fork().
inline void die_with_parent(const parent_watch& parent) {
    if (!parent.armed) return;
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent.pid) std::_Exit(127);  // the parent died before the prctl
}

}  // namespace tern::test
