// Package testenv decides what a test does when something it needs from
// the machine (PostgreSQL, the real datasets, Chromium, Node.js) is absent:
// on a developer's clone it skips, saying what is missing; where
// MODELDOC_TEST_REQUIRE is set (CI sets it), it fails, so that a run which
// silently tested less than it claims cannot pass.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// RequireEnv names the environment variable that turns skips into failures.
const RequireEnv = "MODELDOC_TEST_REQUIRE"

// Required reports whether missing services and datasets fail the test.
func Required() bool {
	v := os.Getenv(RequireEnv)
	return v != "" && v != "0" && v != "false"
}

// Missing stops the test because what it needs is not on this machine:
// a skip, or a failure when Required.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		tb.Fatalf("%s (%s is set, so a missing service or dataset fails the run)", msg, RequireEnv)
	}
	tb.Skip(msg)
}

// Chromium returns the browser the dashboard and site tests drive:
// CHROMIUM_PATH, else a chromium on the usual paths or PATH; Missing when
// there is none. Under -short the browser tests are skipped: they are the
// slowest part of a run and need a browser, as others need PostgreSQL.
func Chromium(tb testing.TB) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("drives Chromium (-short)")
	}
	for _, p := range []string{os.Getenv("CHROMIUM_PATH"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	Missing(tb, "browser tests skipped: no Chromium found (set CHROMIUM_PATH or apt-get install chromium)")
	return ""
}
