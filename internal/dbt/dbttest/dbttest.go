// Package dbttest finds the shared dbt datasets (real projects kept beside
// the repository in shared/dbt-datasets) and unpacks their tarballs for
// tests and benchmarks of any package.
package dbttest

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc/internal/testenv"
)

// ErrNoDatasets means no shared/dbt-datasets folder exists above the
// working directory.
var ErrNoDatasets = errors.New("shared/dbt-datasets not found beside the repository or any of its parents")

// DatasetsDir walks up from the working directory and returns the first
// shared/dbt-datasets it finds in a parent. The clone may live anywhere
// (CI checks it out elsewhere), with shared/ beside it.
func DatasetsDir() (string, error) {
	if d := os.Getenv("MODELDOC_DATASETS"); d != "" {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d, nil
		}
		return "", fmt.Errorf("MODELDOC_DATASETS=%s is not a folder", d)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		cand := filepath.Join(dir, "shared", "dbt-datasets")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoDatasets
		}
		dir = parent
	}
}

// Dir returns the datasets folder, or skips tb when it truly is absent.
// Any other failure fails the test: a broken checkout must not pass quietly.
func Dir(tb testing.TB) string {
	tb.Helper()
	d, err := DatasetsDir()
	if errors.Is(err, ErrNoDatasets) {
		testenv.Missing(tb, "skipping: %v (clone the datasets beside the repository to run this test)", err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// Path returns a file of the datasets folder (rel uses forward slashes).
func Path(tb testing.TB, rel string) string {
	tb.Helper()
	return filepath.Join(Dir(tb), filepath.FromSlash(rel))
}

// UntarDataset unpacks one .tar.gz (a path relative to the datasets folder,
// or absolute) into a fresh temporary folder and returns that folder.
func UntarDataset(tb testing.TB, tarball string) string {
	tb.Helper()
	return UntarDatasets(tb, tarball)
}

// UntarDatasets unpacks several tarballs into one temporary folder, for
// projects split over more than one (GitLab's .sql/.yml and .md files).
func UntarDatasets(tb testing.TB, tarballs ...string) string {
	tb.Helper()
	dst := tb.TempDir()
	for _, t := range tarballs {
		if !filepath.IsAbs(t) {
			t = Path(tb, t)
		}
		if err := untar(t, dst); err != nil {
			tb.Fatalf("unpack %s: %v", t, err)
		}
	}
	return dst
}

func untar(tarball, dst string) error {
	f, err := os.Open(tarball)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(filepath.FromSlash(h.Name))
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, ".."+string(filepath.Separator)) {
			return fmt.Errorf("entry %q leaves the destination", h.Name)
		}
		target := filepath.Join(dst, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}
