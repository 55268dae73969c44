package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/store"
)

// dryRun says where a dry run estimates, for its last line.
type dryRun struct {
	// scratch: PATH is imported into a throwaway copy of the store.
	scratch bool
	// asImported: PATH is not imported at all; the estimate is of the
	// project as the store last imported it (PostgreSQL, project known).
	asImported bool
	projectID  int64 // with asImported: the project PATH names
}

// prepareDryRun points the command at a store the dry run may write, so
// that the user's store is never written: not the project, its objects,
// a job, the default organization or a migration; a SQLite file that does
// not exist is not created.
//
// The estimate must be the one a real run prints, and a real run skips
// what the store already documents, so the scratch store starts as a copy
// of the user's: on SQLite a snapshot of the file (read-only), into which
// PATH is imported as a real run would. A PostgreSQL database cannot be
// copied that way: when the project is not in it yet there is nothing to
// see and a fresh scratch SQLite store is exact; when it is, the estimate
// is read from the store as the project was last imported, and said so.
func (a *App) prepareDryRun(ctx context.Context, args []string) (*dryRun, error) {
	d := &dryRun{}
	if path := store.SQLitePath(a.DB); path != "" {
		d.scratch = true
		return d, a.useScratch(ctx, path)
	}
	// PostgreSQL: read it without creating anything in it.
	a.readOnly = true
	if len(args) == 0 {
		return d, nil
	}
	id, err := a.importedProject(ctx, args[0])
	if err != nil {
		return nil, err
	}
	if id != 0 {
		d.asImported, d.projectID = true, id
		return d, nil
	}
	if a.st != nil {
		a.st.Close()
		a.st = nil
	}
	a.readOnly = false
	d.scratch = true
	return d, a.useScratch(ctx, "")
}

// useScratch makes --db a new SQLite file in a temporary folder, removed
// when the command ends, holding a copy of the SQLite store at src (when
// src is given and exists).
func (a *App) useScratch(ctx context.Context, src string) error {
	dir, err := os.MkdirTemp("", "modeldoc-dry-run-")
	if err != nil {
		return fmt.Errorf("dry run: a scratch folder: %w", err)
	}
	// Registered first, so it runs last: after the store is closed.
	a.onClose(func() error { return os.RemoveAll(dir) })
	scratch := filepath.Join(dir, "dry-run.db")
	if src != "" {
		if _, err := os.Stat(src); err == nil {
			if err := store.SnapshotSQLite(ctx, src, scratch); err != nil {
				return modeldoc.Errorf(modeldoc.EINVALID, "The dry run could not read the store %s to estimate against it (nothing was changed): %v", src, err)
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return modeldoc.Errorf(modeldoc.EINVALID, "The dry run could not read the store %s: %v", src, err)
		}
	}
	a.DB = scratch
	return nil
}

// importedProject is the id of the project at path in the command's
// organization, or 0 when it is not imported yet; it reads the store only.
func (a *App) importedProject(ctx context.Context, path string) (int64, error) {
	if err := notACatalog(path); err != nil {
		return 0, err
	}
	cat, err := dbt.Load(path)
	if err != nil {
		return 0, err
	}
	org, err := a.org(ctx)
	if modeldoc.ErrorCode(err) == modeldoc.ENOTFOUND && a.Org == "" {
		return 0, nil // no default organization: nothing imported yet
	}
	if err != nil {
		return 0, err
	}
	names, err := a.projectNames(ctx, org.ID)
	if err != nil {
		return 0, err
	}
	for id, n := range names {
		if n == cat.ProjectName {
			return id, nil
		}
	}
	return 0, nil
}

// lastLine is what the dry run says it did and did not do.
func (d *dryRun) lastLine(args []string) string {
	const head = "Dry run: no job was created, nothing was spent"
	switch {
	case d.asImported:
		return fmt.Sprintf("%s and the store was not changed. %s was not imported: the estimate is of the project as the store last imported it (on PostgreSQL a dry run cannot import into a copy of the store; run `modeldoc import %s` first if it changed).", head, args[0], args[0])
	case len(args) == 1 && d.scratch:
		return fmt.Sprintf("%s and the store was not changed: %s was imported into a temporary copy of it to estimate, then the copy was deleted.", head, args[0])
	}
	return head + " and the store was not changed."
}
