package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func init() { register(newVersionCmd) }

// BuildVersion is what the binary knows of its own build, read from the
// build information the Go toolchain embeds: a bug report needs the commit,
// and `go install …@v1.2.3` records the module version.
type BuildVersion struct {
	Module    string `json:"module"`
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	CommitAt  string `json:"commit_time,omitempty"`
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"go_version"`
}

// readBuildVersion is replaced by tests: a test binary carries no VCS stamp.
var readBuildVersion = func() BuildVersion {
	v := BuildVersion{Module: "github.com/modeldoc/modeldoc", Version: "(devel)", GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if info.Main.Path != "" {
		v.Module = info.Main.Path
	}
	if info.Main.Version != "" {
		v.Version = info.Main.Version
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.CommitAt = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// String is the one line `modeldoc version` and `--version` print.
func (v BuildVersion) String() string {
	s := fmt.Sprintf("modeldoc %s", v.Version)
	switch {
	case v.Commit != "":
		c := v.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		s += " (commit " + c
		if v.CommitAt != "" {
			s += ", " + v.CommitAt
		}
		if v.Modified {
			s += ", with uncommitted changes"
		}
		s += ")"
	default:
		// The go command stamps the commit only when it builds inside a
		// git clone (not a `git worktree`, whose .git is a file) and
		// -buildvcs is not false; saying so beats printing nothing.
		s += " (commit unknown: built outside a git clone, or with -buildvcs=false)"
	}
	return s + ", " + v.GoVersion
}

func newVersionCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the module version and the commit this binary was built from",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.printVersion()
		},
	}
}

func (a *App) printVersion() error {
	v := readBuildVersion()
	if a.JSON {
		return a.printJSON(v)
	}
	_, err := fmt.Fprintln(a.Stdout, v.String())
	return err
}
