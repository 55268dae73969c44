// Package scaletest proves modeldoc's scale-out on PostgreSQL with real
// processes: several `modeldoc worker` binaries share one job, one is
// killed with SIGKILL mid-job, PostgreSQL is restarted under them, a pause
// or cancel from another process reaches all of them, and one provider
// key's rate limit holds for all of them together. The provider is the
// fake OpenAI server (internal/fakellm) in the test process; everything
// else is real: the binary built from ./cmd/modeldoc, the PostgreSQL at
// MODELDOC_TEST_POSTGRES, River, the store.
//
// The tests and benchmarks skip unless MODELDOC_TEST_POSTGRES is set. The
// database restart test also needs MODELDOC_TEST_PG_RESTART=1, because it
// disturbs every other test using that server at the same moment.
package scaletest
