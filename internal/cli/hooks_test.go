package cli

import "io"

// SetStdin makes the commands read r as their stdin, as a terminal or not,
// until the returned function restores it (cli.Main cannot be given one).
func SetStdin(r io.Reader, terminal bool) (restore func()) {
	oldR, oldT := stdinOverride, stdinIsTerminal
	stdinOverride = r
	stdinIsTerminal = func(io.Reader) bool { return terminal }
	return func() { stdinOverride, stdinIsTerminal = oldR, oldT }
}
