package dbt

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/modeldoc/modeldoc"
)

// Layout is where a dbt project keeps its resources, as its
// dbt_project.yml says. The importer and `export dbt` both read a project
// through it (and through SkipFolder and IsPropertiesFile), so that the
// properties files the export edits are the ones the import read.
type Layout struct {
	Name string
	// Folders relative to the project folder, slash-separated and cleaned,
	// with dbt's defaults and its pre-1.0 names (source-paths, data-paths).
	// An absolute entry stays absolute and an entry may start with "../":
	// each caller decides what it reads outside the project.
	ModelPaths, SeedPaths, SnapshotPaths, MacroPaths []string
}

func layoutOf(y *projectYML) Layout {
	return Layout{
		Name:          y.Name,
		ModelPaths:    cleanPaths(first(y.ModelPaths, y.SourcePaths, []string{"models"})),
		SeedPaths:     cleanPaths(first(y.SeedPaths, y.DataPaths, []string{"seeds"})),
		SnapshotPaths: cleanPaths(first(y.SnapshotPaths, nil, []string{"snapshots"})),
		MacroPaths:    cleanPaths(y.MacroPaths),
	}
}

// ReadLayout reads dir/dbt_project.yml as the importer does: a key given
// twice keeps its last value (dbt's PyYAML rule) and a value of the wrong
// type is ignored, with a warning for each.
func ReadLayout(dir string) (Layout, []string, error) {
	file := filepath.Join(dir, "dbt_project.yml")
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return Layout{}, nil, modeldoc.Errorf(modeldoc.EINVALID, "%s has no dbt_project.yml: point at the dbt project folder.", dir)
	}
	if err != nil {
		return Layout{}, nil, modeldoc.Errorf(modeldoc.EINVALID, "Cannot read %s: %v.", file, err)
	}
	l := &projectLoader{again: "run"}
	var y projectYML
	if err := decodeYAML(data, &y, file, l); err != nil {
		return Layout{}, nil, err
	}
	return layoutOf(&y), l.warnings, nil
}

// skipDirs are folders dbt never reads resources from: build output,
// installed packages (read as packages of their own), tooling.
var skipDirs = map[string]bool{"target": true, "dbt_packages": true, "dbt_modules": true, "logs": true, "node_modules": true, ".git": true, "venv": true, ".venv": true}

// SkipFolder reports whether a walk of a project's folders skips the
// folder at path (never the walk's own root): one dbt does not read, or
// the folder of another project.
func SkipFolder(path string) bool {
	return skipDirs[filepath.Base(path)] || fileExists(filepath.Join(path, "dbt_project.yml"))
}

// IsPropertiesFile reports whether a file of this name, under a resource
// folder, is a properties file (schema.yml and friends).
func IsPropertiesFile(name string) bool {
	return strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".yaml")
}
