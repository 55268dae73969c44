package export

import (
	"os"
	"path/filepath"
	"testing"
)

// shopProject is a writable copy of examples/shop, imported, with every
// model documented offline: the export tests' fixture on a clone without
// the shared datasets. Its YAML has human descriptions, doc() blocks,
// undocumented models and comments, which the round trip needs.
func shopProject(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "examples", "shop"))); err != nil {
		t.Fatal(err)
	}
	return projectFixture(t, dir, nil)
}

// The YAML round trip of TestExportDBTTuvaRoundTrip, on examples/shop.
func TestExportDBTShopRoundTrip(t *testing.T) {
	exportDBTRoundTrip(t, shopProject(t))
}

// TestExportDBTOverwriteAndNewerVersions, on examples/shop.
func TestExportDBTShopOverwriteAndNewerVersions(t *testing.T) {
	exportDBTOverwriteAndNewerVersions(t, shopProject(t))
}
