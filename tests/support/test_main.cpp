// The one Catch2 main shared by every test binary (compiled once per flavour: sanitized, and
// plain for the tcmalloc test).
//
// Two warnings are always on, whatever the command line says: a test spec that matches no test
// case fails (NoTests), so a test renamed or split by CTest can never pass with nothing run, and
// so does a test case that asserts nothing (NoAssertions). Catch2 v2 takes one --warn flag only,
// which is why they are set here rather than in catch_discover_tests' EXTRA_ARGS.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

int main(int argc, char* argv[]) {
    Catch::Session session;
    if (const int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
    auto& config = session.configData();
    config.warnings = static_cast<Catch::WarnAbout::What>(
        config.warnings | Catch::WarnAbout::NoAssertions | Catch::WarnAbout::NoTests);
    return session.run();
}
