package web

import (
	"archive/zip"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/modeldoc/modeldoc/internal/store"
)

// zipFolder writes dir as a zip archive of the folder itself (dir's name
// first in every path), as `zip -r shop.zip shop` does.
func zipFolder(t *testing.T, dir, dst string) {
	t.Helper()
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	base := filepath.Base(dir)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		w, err := zw.Create(base + "/" + filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestDashboardProjectFolderAndDelete uploads the example project's folder
// as a zip through the form, reads its model count and coverage in the
// list, refuses a hostile archive with the server's reason, and deletes the
// project after the confirmation.
func TestDashboardProjectFolderAndDelete(t *testing.T) {
	chromiumPath(t)
	srv := startServer(t)
	dir := t.TempDir()
	shopZip := filepath.Join(dir, "shop.zip")
	zipFolder(t, filepath.Join("..", "..", "examples", "shop"), shopZip)
	evil := filepath.Join(dir, "evil.zip")
	{
		f, err := os.Create(evil)
		if err != nil {
			t.Fatal(err)
		}
		zw := zip.NewWriter(f)
		w, _ := zw.Create("../../escape.sql")
		w.Write([]byte("select 1"))
		zw.Close()
		f.Close()
	}

	b := newBrowser(t, srv.URL)
	b.signIn(srv.Token)
	b.do("projects", chromedp.Navigate(srv.URL+"/#/projects"), chromedp.WaitVisible(chromedp.CSS("#projects-table")))
	b.do("choose the folder's zip", chromedp.SetUploadFiles(chromedp.CSS("#up-project"), []string{shopZip}))
	b.click("#up-submit")
	b.waitJS("import summary", `document.querySelector('#upload-verb') && document.querySelector('#upload-result-title').textContent.includes('shop')`)
	if got := b.text("#upload-verb"); got != "imported" {
		t.Errorf("the folder upload says %q", got)
	}
	var list struct {
		Items []struct {
			ID               int64  `json:"id"`
			Name             string `json:"name"`
			Models           int    `json:"models"`
			DocumentedModels int    `json:"documented_models"`
		} `json:"items"`
	}
	srv.apiCall(t, "GET", "/projects", nil, &list)
	var shopID int64
	var models int
	for _, p := range list.Items {
		if p.Name == "shop" {
			shopID, models = p.ID, p.Models
		}
	}
	if shopID == 0 || models < 3 {
		t.Fatalf("projects after the folder upload: %+v", list.Items)
	}
	row := fmt.Sprintf(`#projects-table tr[data-id="%d"]`, shopID)
	b.waitJS("the row", `!!document.querySelector(`+jsString(row)+`)`)
	if got := b.text(row + " .models-count"); got != fmt.Sprint(models) {
		t.Errorf("the row shows %q models, the API %d", got, models)
	}
	if got := b.text(row + " .coverage-cell"); !strings.HasPrefix(got, "0%") {
		t.Errorf("coverage of a new project: %q", got)
	}
	// The hubspot project has documented nothing either, but has models.
	if got := b.text("#projects-table tbody"); !strings.Contains(got, "hubspot") {
		t.Errorf("the list lost the other project: %q", got)
	}
	b.shot("projects-folder")

	b.do("choose a hostile zip", chromedp.SetUploadFiles(chromedp.CSS("#up-project"), []string{evil}))
	b.click("#up-submit")
	b.waitJS("refused", `!!document.querySelector('#upload-error')`)
	if got := b.text("#upload-error"); !strings.Contains(got, "would be written outside the project folder") {
		t.Errorf("the hostile archive's refusal says %q", got)
	}

	// Delete: the harness accepts the confirmation.
	b.click(row + " .project-delete")
	b.waitJS("deleted", `!!document.querySelector('#delete-done') && !document.querySelector(`+jsString(row)+`)`)
	if got := b.text("#delete-done"); !strings.Contains(got, "Deleted shop") {
		t.Errorf("after the delete: %q", got)
	}
	if got := evalJS[string](b, `document.activeElement.id`); got != "projects-title" {
		t.Errorf("after the delete focus is on %q", got)
	}
	objs, total, err := srv.Store.ListObjects(b.ctx, srv.OrgID, store.ObjectFilter{ProjectID: shopID, IncludeDeleted: true, Limit: 1})
	if err != nil || total != 0 {
		t.Errorf("the deleted project still has %d objects (%v, %v)", total, objs, err)
	}
	b.checkClean()
}
