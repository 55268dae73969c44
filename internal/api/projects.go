package api

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/store"
)

func (a *API) listProjects(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	pg, err := pageOf(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	ps, err := a.st.ListProjects(r.Context(), p.orgID)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	items := make([]projectItem, 0, len(ps))
	for _, pr := range ps {
		items = append(items, projectItem{project: projectOf(pr)})
	}
	page := paginate(items, pg)
	yes := true
	// Counted for the page only: two counts per project shown.
	for i := range page.Items {
		it := &page.Items[i]
		f := store.ObjectFilter{ProjectID: it.ID, Types: []modeldoc.ObjectType{modeldoc.TypeModel}, Limit: 1}
		if _, it.Models, err = a.st.ListObjects(r.Context(), p.orgID, f); err != nil {
			a.writeError(w, r, err)
			return
		}
		f.Documented = &yes
		if _, it.DocumentedModels, err = a.st.ListObjects(r.Context(), p.orgID, f); err != nil {
			a.writeError(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, page)
}

// deleteProject removes a project with its objects and documentation;
// 204, 404 for another organization's id, 409 while a job works on it.
func (a *API) deleteProject(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.st.DeleteProject(r.Context(), principalOf(r.Context()).orgID, id); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Limits of an uploaded project archive. A dbt project's source is SQL and
// YAML: the biggest real one here (GitLab's) is about 30 MB in some 4,000
// files, so these leave room while refusing a zip bomb early.
const (
	archiveMaxFiles     = 20000
	archiveMaxTotal     = 256 << 20 // bytes once unpacked
	archiveMaxFileBytes = 32 << 20
)

// projectFromArchive reads a raw dbt project folder sent as a .zip or a
// .tar.gz (form field `project`): it is unpacked into a temporary folder
// and read as `modeldoc import` reads a folder. Entries that would land
// outside the folder (absolute paths, ..), links of any kind, devices, and
// archives past the limits are refused with the entry's name; nothing is
// imported then.
func (a *API) projectFromArchive(part io.Reader, filename string) (*modeldoc.Catalog, error) {
	tmp, err := os.MkdirTemp("", "modeldoc-upload-*")
	if err != nil {
		return nil, fmt.Errorf("upload folder: %w", err)
	}
	defer os.RemoveAll(tmp)
	// The archive is kept on disk, not in memory: zip needs to seek.
	f, err := os.Create(filepath.Join(tmp, "archive"))
	if err != nil {
		return nil, fmt.Errorf("upload file: %w", err)
	}
	size, err := io.Copy(f, part)
	f.Close()
	if err != nil {
		return nil, uploadError(err, a.cfg.MaxUploadBytes)
	}
	root := filepath.Join(tmp, "project")
	if err := os.Mkdir(root, 0o700); err != nil {
		return nil, fmt.Errorf("upload folder: %w", err)
	}
	if err := unpack(filepath.Join(tmp, "archive"), size, root); err != nil {
		return nil, err
	}
	dir, err := projectRoot(root)
	if err != nil {
		return nil, err
	}
	cat, err := dbt.LoadProject(dir)
	if err != nil {
		if modeldoc.ErrorCode(err) == modeldoc.EINTERNAL {
			return nil, err
		}
		return nil, modeldoc.Errorf(modeldoc.ErrorCode(err), "%s", strings.ReplaceAll(modeldoc.ErrorMessage(err), dir+string(filepath.Separator), ""))
	}
	// Paths in the warnings are the project's own, not the server's
	// temporary folder.
	for i, w := range cat.Warnings {
		cat.Warnings[i] = strings.ReplaceAll(w, dir+string(filepath.Separator), "")
	}
	cat.Path = "upload:" + filename
	return cat, nil
}

func invalidArchive(format string, args ...any) error {
	return modeldoc.Errorf(modeldoc.EINVALID, "The project archive is refused: "+format, args...)
}

// unpack writes the archive's regular files under root, after checking
// every entry; the format is read from the first bytes, not the name.
func unpack(archive string, size int64, root string) error {
	f, err := os.Open(archive)
	if err != nil {
		return fmt.Errorf("open upload: %w", err)
	}
	defer f.Close()
	head := make([]byte, 4)
	n, _ := io.ReadFull(f, head)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind upload: %w", err)
	}
	w := &unpacker{root: root}
	switch {
	case n == 4 && bytes.Equal(head, []byte("PK\x03\x04")):
		zr, err := zip.NewReader(f, size)
		if err != nil {
			return invalidArchive("it is not a readable zip file (%v).", err)
		}
		for _, e := range zr.File {
			if err := w.entry(e.Name, e.Mode(), func() (io.ReadCloser, error) { return e.Open() }); err != nil {
				return err
			}
		}
	case n >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		gz, err := gzip.NewReader(bufio.NewReader(f))
		if err != nil {
			return invalidArchive("it is not a readable gzip file (%v).", err)
		}
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return invalidArchive("it is not a readable .tar.gz (%v).", err)
			}
			if h.Typeflag == tar.TypeXGlobalHeader {
				continue
			}
			if h.Typeflag == tar.TypeLink {
				return invalidArchive("the entry %q is a hard link; links are not accepted (they could lead out of the project).", h.Name)
			}
			if err := w.entry(h.Name, h.FileInfo().Mode(), func() (io.ReadCloser, error) { return io.NopCloser(tr), nil }); err != nil {
				return err
			}
		}
	default:
		return invalidArchive("send the dbt project folder as a .zip or a .tar.gz (or its manifest.json in the field `manifest`).")
	}
	if w.files == 0 {
		return invalidArchive("it holds no files.")
	}
	return nil
}

type unpacker struct {
	root  string
	files int
	total int64
}

func (u *unpacker) entry(name string, mode fs.FileMode, open func() (io.ReadCloser, error)) error {
	clean := path.Clean(strings.ReplaceAll(name, "\\", "/"))
	if name == "" || path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(name, "\x00") || filepath.VolumeName(clean) != "" {
		return invalidArchive("the entry %q would be written outside the project folder.", name)
	}
	switch {
	case mode.IsDir():
		return os.MkdirAll(filepath.Join(u.root, filepath.FromSlash(clean)), 0o700)
	case mode&fs.ModeSymlink != 0:
		return invalidArchive("the entry %q is a symbolic link; links are not accepted (they could lead out of the project).", name)
	case !mode.IsRegular():
		return invalidArchive("the entry %q is not a regular file or folder.", name)
	}
	u.files++
	if u.files > archiveMaxFiles {
		return invalidArchive("it holds more than %d files.", archiveMaxFiles)
	}
	dst := filepath.Join(u.root, filepath.FromSlash(clean))
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("unpack: %w", err)
	}
	rc, err := open()
	if err != nil {
		return invalidArchive("the entry %q cannot be read (%v).", name, err)
	}
	defer rc.Close()
	// O_EXCL: a second entry of the same name is refused rather than
	// silently replacing the first.
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return invalidArchive("the entry %q appears twice.", name)
		}
		return fmt.Errorf("unpack: %w", err)
	}
	// Counted as written, whatever the archive's headers claim: a zip
	// bomb lies about its sizes.
	n, err := io.Copy(out, io.LimitReader(rc, archiveMaxFileBytes+1))
	cerr := out.Close()
	if err != nil {
		return invalidArchive("the entry %q cannot be read (%v).", name, err)
	}
	if cerr != nil {
		return fmt.Errorf("unpack: %w", cerr)
	}
	if n > archiveMaxFileBytes {
		return invalidArchive("the entry %q unpacks to more than %d MB.", name, archiveMaxFileBytes>>20)
	}
	u.total += n
	if u.total > archiveMaxTotal {
		return invalidArchive("it unpacks to more than %d MB.", archiveMaxTotal>>20)
	}
	return nil
}

// projectRoot finds dbt_project.yml at the top of the unpacked folder or
// in its only folder (an archive of the folder itself, as `zip -r shop.zip
// shop` makes).
func projectRoot(root string) (string, error) {
	for dir := root; ; {
		if _, err := os.Stat(filepath.Join(dir, "dbt_project.yml")); err == nil {
			return dir, nil
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			return "", fmt.Errorf("read upload: %w", err)
		}
		var dirs []os.DirEntry
		files := 0
		for _, e := range ents {
			if e.IsDir() {
				dirs = append(dirs, e)
			} else {
				files++
			}
		}
		if len(dirs) != 1 || files != 0 || dir != root {
			return "", invalidArchive("it has no dbt_project.yml at its top or in its only folder: archive the dbt project folder itself.")
		}
		dir = filepath.Join(dir, dirs[0].Name())
	}
}
