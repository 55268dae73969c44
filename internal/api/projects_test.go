package api

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime/multipart"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/fakellm"
	"github.com/modeldoc/modeldoc/internal/jobs"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
)

// archiveEntry is one entry of a test archive: a file with its content,
// or a link to Link.
type archiveEntry struct {
	Name, Body, Link string
	Hard             bool
}

// shopEntries is examples/shop, the raw project the README documents,
// under prefix.
func shopEntries(t *testing.T, prefix string) []archiveEntry {
	t.Helper()
	root := filepath.Join("..", "..", "examples", "shop")
	var out []archiveEntry
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		b, err := os.ReadFile(p)
		out = append(out, archiveEntry{Name: prefix + filepath.ToSlash(rel), Body: string(b)})
		return err
	})
	if err != nil || len(out) < 3 {
		t.Fatalf("examples/shop: %d files, %v", len(out), err)
	}
	return out
}

func zipOf(t *testing.T, entries []archiveEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.Name, Method: zip.Deflate}
		if e.Link != "" {
			h.SetMode(fs.ModeSymlink | 0o777)
		} else {
			h.SetMode(0o644)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		body := e.Body
		if e.Link != "" {
			body = e.Link
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tarGzOf(t *testing.T, entries []archiveEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Mode: 0o644, Size: int64(len(e.Body)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
		switch {
		case e.Link != "" && e.Hard:
			h.Typeflag, h.Linkname, h.Size = tar.TypeLink, e.Link, 0
		case e.Link != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, e.Link, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write([]byte(e.Body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// projectForm is a multipart body with the archive in the field `project`.
func projectForm(t *testing.T, filename string, archive []byte) *form {
	t.Helper()
	f := &form{}
	mw := multipart.NewWriter(&f.buf)
	w, err := mw.CreateFormFile("project", filename)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(archive)
	mw.Close()
	f.ctype = mw.FormDataContentType()
	return f
}

type projectRow struct {
	modeldoc.Project
	Models           int `json:"models"`
	DocumentedModels int `json:"documented_models"`
}

// TestUploadProjectArchive uploads the raw example project as the CLI
// reads it, zipped and tarred, then hostile archives: each is refused with
// a message that names what is wrong, and nothing is imported.
func TestUploadProjectArchive(t *testing.T) {
	t.Setenv("MODELDOC_SECRET_KEY", "")
	e := newEnv(t, modeldoctest.NewSQLiteStore(t), nil)

	var up uploadAnswer
	e.must(201, "POST", "/api/v1/projects", e.adminA, projectForm(t, "shop.zip", zipOf(t, shopEntries(t, "shop/"))), &up)
	if up.Project.Name != "shop" || up.Summary.Models < 3 || up.Project.Path != "upload:shop.zip" {
		t.Fatalf("zip upload: project %+v, summary %+v", up.Project, up.Summary)
	}
	for _, w := range up.Summary.Warnings {
		if strings.Contains(w, os.TempDir()) {
			t.Errorf("a warning names the server's temporary folder: %s", w)
		}
	}
	// The same project as a .tar.gz with dbt_project.yml at the top:
	// an update in place.
	var again uploadAnswer
	e.must(200, "POST", "/api/v1/projects", e.adminA, projectForm(t, "shop.tar.gz", tarGzOf(t, shopEntries(t, ""))), &again)
	if again.Project.ID != up.Project.ID || again.Summary.Unchanged != up.Summary.Models+up.Summary.Seeds+up.Summary.Sources+up.Summary.Snapshots {
		t.Errorf("tar.gz upload of the same project: %+v", again.Summary)
	}
	var projects list[projectRow]
	e.must(200, "GET", "/api/v1/projects", e.adminA, nil, &projects)
	if projects.Total != 1 || projects.Items[0].Models != up.Summary.Models || projects.Items[0].DocumentedModels != 0 {
		t.Fatalf("projects list: %+v", projects.Items)
	}

	shop := shopEntries(t, "")
	many := append([]archiveEntry{}, shop...)
	for i := 0; i <= archiveMaxFiles; i++ {
		many = append(many, archiveEntry{Name: fmt.Sprintf("m/%d", i)})
	}
	zipBomb := append(append([]archiveEntry{}, shop...), archiveEntry{Name: "models/huge.sql", Body: strings.Repeat("0", 33<<20)})
	for _, c := range []struct {
		name, file string
		body       []byte
		want       string
	}{
		{"traversal", "x.zip", zipOf(t, append(append([]archiveEntry{}, shop...), archiveEntry{Name: "../evil.sql", Body: "select 1"})), `"../evil.sql" would be written outside`},
		{"traversal inside", "x.tar.gz", tarGzOf(t, append(append([]archiveEntry{}, shop...), archiveEntry{Name: "models/../../evil.sql", Body: "select 1"})), "would be written outside"},
		{"absolute", "x.tar.gz", tarGzOf(t, append(append([]archiveEntry{}, shop...), archiveEntry{Name: "/etc/evil.sql", Body: "select 1"})), `"/etc/evil.sql" would be written outside`},
		{"zip symlink", "x.zip", zipOf(t, append(append([]archiveEntry{}, shop...), archiveEntry{Name: "models/passwd.sql", Link: "/etc/passwd"})), `"models/passwd.sql" is a symbolic link`},
		{"tar symlink", "x.tar.gz", tarGzOf(t, append(append([]archiveEntry{}, shop...), archiveEntry{Name: "models/up", Link: "../.."})), `"models/up" is a symbolic link`},
		{"tar hard link", "x.tar.gz", tarGzOf(t, append(append([]archiveEntry{}, shop...), archiveEntry{Name: "models/h.sql", Link: "/etc/passwd", Hard: true})), `"models/h.sql" is a hard link`},
		{"zip bomb", "x.zip", zipOf(t, zipBomb), `"models/huge.sql" unpacks to more than 32 MB`},
		{"too many files", "x.tar.gz", tarGzOf(t, many), fmt.Sprintf("more than %d files", archiveMaxFiles)},
		{"twice", "x.tar.gz", tarGzOf(t, append(append([]archiveEntry{}, shop...), shop[0])), "appears twice"},
		{"not an archive", "x.zip", []byte("select 1 from nowhere"), "send the dbt project folder as a .zip or a .tar.gz"},
		{"no project", "x.zip", zipOf(t, []archiveEntry{{Name: "README.md", Body: "hi"}}), "no dbt_project.yml"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if len(c.body) > 2<<20 {
				t.Fatalf("the %s archive is %d bytes: it must be small on the wire", c.name, len(c.body))
			}
			a := e.do("POST", "/api/v1/projects", e.adminA, projectForm(t, c.file, c.body))
			p := a.problem(t)
			if p.Status != 400 || p.Code != modeldoc.EINVALID || !strings.Contains(p.Detail, c.want) {
				t.Fatalf("%d %s: %s, want 400 invalid saying %q", p.Status, p.Code, p.Detail, c.want)
			}
		})
	}
	e.must(200, "GET", "/api/v1/projects", e.adminA, nil, &projects)
	if projects.Total != 1 {
		t.Errorf("a refused archive imported something: %+v", projects.Items)
	}
	// An archive and a manifest together is a mistake, said so.
	f := &form{}
	mw := multipart.NewWriter(&f.buf)
	w, _ := mw.CreateFormFile("manifest", "manifest.json")
	w.Write([]byte(`{}`))
	w, _ = mw.CreateFormFile("project", "shop.zip")
	w.Write(zipOf(t, shop))
	mw.Close()
	f.ctype = mw.FormDataContentType()
	if p := e.do("POST", "/api/v1/projects", e.adminA, f).problem(t); p.Status != 400 {
		t.Errorf("manifest and project together: %d %s", p.Status, p.Detail)
	}
}

// The other project, which the deletion must leave alone, is a renamed
// copy of examples/shop on every clone, and jaffle_shop's artifacts where
// the datasets are.
func TestDeleteProjectSQLite(t *testing.T) {
	t.Setenv("MODELDOC_SECRET_KEY", "")
	for _, other := range []seedSource{shopSeed, jaffleSeed} {
		t.Run(other.name, func(t *testing.T) { deleteProject(t, modeldoctest.NewSQLiteStore(t), other.otherProject) })
	}
}

func TestDeleteProjectPostgres(t *testing.T) {
	t.Setenv("MODELDOC_SECRET_KEY", hex.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	for _, other := range []seedSource{shopSeed, jaffleSeed} {
		t.Run(other.name, func(t *testing.T) { deleteProject(t, modeldoctest.NewPostgresStore(t), other.otherProject) })
	}
}

// deleteProject: a project a job still works on is kept (409 naming the
// job); once the job is over, deleting it takes its objects and
// documentation and leaves the job in the history and the other projects
// as they were. Another organization's id is 404; a member is 403 (both
// also in the role and isolation matrix).
func deleteProject(t *testing.T, st *store.Store, otherProject func(t *testing.T) *form) {
	fake := fakellm.New(fakellm.Config{})
	if _, err := fake.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	e := newEnv(t, st, nil)
	e.must(200, "PUT", "/api/v1/provider-keys/openai", e.adminA, `{"key":"sk-test-0123456789abcdefghijklmnop"}`, nil)
	var shop, otherUp uploadAnswer
	e.must(201, "POST", "/api/v1/projects", e.adminA, projectForm(t, "shop.zip", zipOf(t, shopEntries(t, "shop/"))), &shop)
	e.must(201, "POST", "/api/v1/projects", e.adminA, otherProject(t), &otherUp)
	path := fmt.Sprintf("/api/v1/projects/%d", shop.Project.ID)

	fake.Hold()
	t.Cleanup(fake.Unhold)
	var job jobs.Job
	e.must(201, "POST", "/api/v1/jobs", e.adminA, fmt.Sprintf(`{"selection":{"project_id":%d},"provider":"openai","model":"gpt-4o-mini","base_url":%q,"concurrency":1,"layers":["executive_summary"]}`, shop.Project.ID, fake.BaseURL()), &job)
	p := e.do("DELETE", path, e.adminA, nil).problem(t)
	if p.Status != 409 || p.Code != modeldoc.ECONFLICT || !strings.Contains(p.Detail, fmt.Sprintf("Job #%d", job.ID)) {
		t.Fatalf("delete under a job: %d %s %s", p.Status, p.Code, p.Detail)
	}
	if p := e.do("DELETE", path, e.adminB, nil).problem(t); p.Status != 404 {
		t.Fatalf("another organization's admin: %d %s", p.Status, p.Detail)
	}
	if p := e.do("DELETE", path, e.memberA, nil).problem(t); p.Status != 403 {
		t.Fatalf("a member: %d %s", p.Status, p.Detail)
	}
	fake.Unhold()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var j jobs.Job
		e.must(200, "GET", fmt.Sprintf("/api/v1/jobs/%d", job.ID), e.adminA, nil, &j)
		if jobs.Terminal(j.Status) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d still %s", job.ID, j.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var projects list[projectRow]
	e.must(200, "GET", "/api/v1/projects", e.adminA, nil, &projects)
	for _, pr := range projects.Items {
		if pr.ID == shop.Project.ID && (pr.DocumentedModels == 0 || pr.DocumentedModels > pr.Models) {
			t.Errorf("after the job: %d of %d models documented", pr.DocumentedModels, pr.Models)
		}
	}

	e.must(204, "DELETE", path, e.adminA, nil, nil)
	e.must(200, "GET", "/api/v1/projects", e.adminA, nil, &projects)
	if projects.Total != 1 || projects.Items[0].ID != otherUp.Project.ID || projects.Items[0].Models != otherUp.Summary.Models {
		t.Fatalf("projects after the delete: %+v", projects.Items)
	}
	var objs list[store.ObjectSummary]
	e.must(200, "GET", fmt.Sprintf("/api/v1/objects?project_id=%d&include_deleted=true", shop.Project.ID), e.adminA, nil, &objs)
	if objs.Total != 0 {
		t.Errorf("%d objects of the deleted project remain", objs.Total)
	}
	e.must(200, "GET", "/api/v1/objects", e.adminA, nil, &objs)
	if objs.Total == 0 {
		t.Error("the other project's objects went too")
	}
	var j jobs.Job
	e.must(200, "GET", fmt.Sprintf("/api/v1/jobs/%d", job.ID), e.adminA, nil, &j)
	if j.Processed == 0 {
		t.Errorf("the job's history lost its counts: %+v", j)
	}
	if p := e.do("DELETE", path, e.adminA, nil).problem(t); p.Status != 404 {
		t.Errorf("deleting it again: %d %s", p.Status, p.Detail)
	}
}
