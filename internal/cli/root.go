// Package cli wires modeldoc's commands. It is the only package that knows
// every concrete type: it opens the store, picks writers and starts servers.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/engine"
	"github.com/modeldoc/modeldoc/internal/store"
)

// DefaultDB is where the embedded SQLite store lives unless --db or
// MODELDOC_DB says otherwise.
const DefaultDB = "./.modeldoc/modeldoc.db"

// App holds what every command shares: the global flags and the streams.
type App struct {
	DB   string // --db: a SQLite path or a postgres:// URL
	JSON bool   // --json: machine-readable output on stdout
	Org  string // --org: the organization CLI commands act in
	// Project is --project: the project (name or id) that objects, docs
	// and generate act in; "" means every project, where a name two
	// objects share is refused.
	Project string
	Stdout  io.Writer
	Stderr  io.Writer

	st  *store.Store
	eng *engine.Engine
	// readOnly: the command must not write the store, so the default
	// organization is looked up, never created (a dry run on PostgreSQL).
	readOnly bool
	closers  []func() error
}

// commandFactories lists the subcommands; each command file registers its
// own in init, so adding a command touches one file.
var commandFactories []func(*App) *cobra.Command

func register(f func(*App) *cobra.Command) { commandFactories = append(commandFactories, f) }

// Main runs modeldoc with args and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := &App{Stdout: stdout, Stderr: stderr}
	defer app.close()
	root := app.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		app.printError(err)
		return exitCode(err)
	}
	return 0
}

func (a *App) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "modeldoc",
		Short: "Document the models of a dbt project with an LLM, in durable batch jobs",
		Long: `modeldoc reads a dbt project (its manifest.json and catalog.json, or the raw
project folder) and writes layered documentation for every model: an executive
summary, a business narrative, transformation steps, code explanations,
business rules, impact analysis, column descriptions and a complexity score.

With no API key it uses its offline writer, which documents from the SQL itself.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       readBuildVersion().String(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	defaultDB := os.Getenv("MODELDOC_DB")
	if defaultDB == "" {
		defaultDB = DefaultDB
	}
	root.PersistentFlags().StringVar(&a.DB, "db", defaultDB, "store: a SQLite file path or a postgres:// URL (env MODELDOC_DB)")
	root.PersistentFlags().BoolVar(&a.JSON, "json", false, "print machine-readable JSON on stdout")
	root.PersistentFlags().StringVar(&a.Org, "org", os.Getenv("MODELDOC_ORG"), "organization to act in (env MODELDOC_ORG; default: the default organization)")
	for _, f := range commandFactories {
		root.AddCommand(f(a))
	}
	return root
}

// onClose runs f when the command ends, in reverse order of registration.
func (a *App) onClose(f func() error) { a.closers = append(a.closers, f) }

func (a *App) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		_ = a.closers[i]()
	}
	a.closers = nil
}

// printJSON writes v as indented JSON on stdout.
func (a *App) printJSON(v any) error {
	enc := json.NewEncoder(a.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printError reports err on stderr, or as {"error":{code,message}} on
// stdout with --json so scripts can read it. An error the command's own
// JSON document already carries is not printed again: stdout holds exactly
// one document, whatever happened.
func (a *App) printError(err error) {
	if a.JSON {
		var reported *jsonReported
		if errors.As(err, &reported) {
			return
		}
		_ = a.printJSON(map[string]any{"error": errorObject(err)})
		return
	}
	fmt.Fprintf(a.Stderr, "Error: %s\n", errorObject(err).Message)
}

// ErrorObject is an error as --json prints it.
type ErrorObject struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func errorObject(err error) ErrorObject {
	code, msg := modeldoc.ErrorCode(err), modeldoc.ErrorMessage(err)
	if code == modeldoc.EINTERNAL {
		msg = err.Error() // the CLI user is the operator: show the cause
	}
	return ErrorObject{Code: code, Message: msg}
}

// jsonReported marks an error that the command printed inside its --json
// document (under "error"); it keeps the error's exit code.
type jsonReported struct{ error }

func (e *jsonReported) Unwrap() error { return e.error }

// printJSONWithError prints v's fields with an "error" field beside them
// when err is not nil, and returns err marked as reported. v must encode
// as a JSON object.
func (a *App) printJSONWithError(v any, err error) error {
	if err == nil {
		return a.printJSON(v)
	}
	b, merr := json.Marshal(v)
	if merr != nil {
		return merr
	}
	var fields map[string]json.RawMessage
	if merr := json.Unmarshal(b, &fields); merr != nil {
		return merr
	}
	eb, merr := json.Marshal(errorObject(err))
	if merr != nil {
		return merr
	}
	fields["error"] = eb
	if perr := a.printJSON(fields); perr != nil {
		return perr
	}
	return &jsonReported{err}
}

// Exit codes: 1 for anything unexpected, 2 for input the user can fix, 3
// for a thing that was not found, 4 for a conflict (an invalid transition).
func exitCode(err error) int {
	var ce *cobraUsageError
	if errors.As(err, &ce) {
		return 2
	}
	switch modeldoc.ErrorCode(err) {
	case modeldoc.EINVALID, modeldoc.EUNSUPPORTED, modeldoc.ETOOLARGE:
		return 2
	case modeldoc.ENOTFOUND:
		return 3
	case modeldoc.ECONFLICT:
		return 4
	}
	return 1
}

type cobraUsageError struct{ error }
