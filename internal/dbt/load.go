package dbt

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/modeldoc/modeldoc"
)

// Load reads PATH, whatever it is: a manifest.json (with the catalog.json
// beside it, if any), a folder that holds manifest.json directly or in
// target/, or a dbt project folder (one with dbt_project.yml). Artifacts win
// over the project folder when both are there, because they carry compiled
// SQL and warehouse column types that reading the folder cannot give.
func Load(path string) (*modeldoc.Catalog, error) {
	info, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, modeldoc.Errorf(modeldoc.EINVALID, "%s does not exist: give a manifest.json, a folder holding one, or a dbt project folder.", path)
		}
		return nil, modeldoc.Errorf(modeldoc.EINVALID, "Cannot read %s: %v.", path, err)
	}
	if !info.IsDir() {
		base := filepath.Base(path)
		switch {
		case base == "dbt_project.yml":
			return LoadProject(filepath.Dir(path))
		case strings.HasSuffix(base, ".json"):
			return LoadManifest(path, besideCatalog(path))
		}
		return nil, modeldoc.Errorf(modeldoc.EINVALID, "%s is neither a manifest.json nor a dbt_project.yml: give a manifest.json, a folder holding one, or a dbt project folder.", path)
	}
	for _, dir := range []string{path, filepath.Join(path, "target")} {
		m := filepath.Join(dir, "manifest.json")
		if fileExists(m) {
			return LoadManifest(m, besideCatalog(m))
		}
	}
	if fileExists(filepath.Join(path, "dbt_project.yml")) {
		return LoadProject(path)
	}
	return nil, modeldoc.Errorf(modeldoc.EINVALID, "%s holds no dbt project: looked for manifest.json in it and in its target/ folder, and for dbt_project.yml in it. Run `dbt compile` there, or point at the folder that holds dbt_project.yml.", path)
}

// besideCatalog returns the catalog.json next to a manifest, or "".
func besideCatalog(manifest string) string {
	c := filepath.Join(filepath.Dir(manifest), "catalog.json")
	if fileExists(c) {
		return c
	}
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
