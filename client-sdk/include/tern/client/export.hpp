// Symbol visibility: libtern is built with hidden symbols; what apps may call is marked.
#pragma once

#if defined(TERN_CLIENT_BUILDING)
#define TERN_CLIENT_API __attribute__((visibility("default")))
#else
#define TERN_CLIENT_API
#endif
