// The compile-time wall: core is Postgres-free. A translation unit that includes postgres.h
// must talk to core through extension/src/bridge.h (plain data), never through these headers,
// because PostgreSQL's ereport longjmps over C++ frames.
#pragma once
#ifdef POSTGRES_H
#error "quant core headers must not be included together with postgres.h; use extension/src/bridge.h"
#endif
