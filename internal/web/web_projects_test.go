package web

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
)

// TestDashboardProjectUpload follows a new organization from its empty
// models page to its first project: the admin uploads jaffle_shop's
// manifest.json and catalog.json through the form, reads the summary,
// uploads again (an update in place), sends a broken manifest and reads
// why it was refused; a member of the same organization sees the list
// without the form.
func TestDashboardProjectUpload(t *testing.T) {
	chromiumPath(t)
	srv := startServer(t)
	ctx := context.Background()
	// A second organization: nothing imported, so the models page shows
	// its empty state, and the hubspot project of the default one stays out.
	org, err := srv.Store.CreateOrganization(ctx, "Jaffle Co")
	if err != nil {
		t.Fatal(err)
	}
	admin, _, err := srv.Store.CreateToken(ctx, org.ID, "lead@jaffle.example", store.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	member, _, err := srv.Store.CreateToken(ctx, org.ID, "analyst@jaffle.example", store.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(modeldoctest.DatasetsDir(t), "yu-iskw__dbt-artifacts-parser", "jaffle_shop_dbt-1.12")
	manifest, catalog := filepath.Join(dir, "manifest.json"), filepath.Join(dir, "catalog.json")
	for _, p := range []string{manifest, catalog} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("dataset file: %v", err)
		}
	}

	b := newBrowser(t, srv.URL)
	b.do("sign in to the empty organization",
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), admin),
		chromedp.Click(chromedp.CSS("#signin-submit")),
		chromedp.WaitVisible(chromedp.CSS("#models-empty-upload")))
	if got := b.text("#models-empty"); got != "No models yet — upload a project" {
		t.Errorf("empty models page says %q", got)
	}
	b.click("#models-empty-upload")
	b.waitJS("projects page", `location.hash === '#/projects' && document.querySelector('#upload-form') && document.querySelector('#projects-empty')`)
	if got := b.text("#nav a[aria-current=page]"); got != "Projects" {
		t.Errorf("current nav item %q", got)
	}
	// Every control has a label and is in the tab order.
	for _, id := range []string{"up-project", "up-manifest", "up-catalog", "up-name"} {
		if !evalJS[bool](b, `!!document.querySelector('label[for=`+id+`]') && document.querySelector('#`+id+`').tabIndex >= 0`) {
			t.Errorf("#%s has no label or cannot be reached with the keyboard", id)
		}
	}
	// Either the folder's archive or the manifest: submitting neither says so.
	b.click("#up-submit")
	b.waitJS("nothing chosen", `!!document.querySelector('#upload-error')`)
	if got := b.text("#upload-error"); !strings.Contains(got, ".zip or .tar.gz") || !strings.Contains(got, "manifest.json") {
		t.Errorf("submitting nothing says %q", got)
	}

	// First upload: a new project.
	b.do("choose files",
		chromedp.SetUploadFiles(chromedp.CSS("#up-manifest"), []string{manifest}),
		chromedp.SetUploadFiles(chromedp.CSS("#up-catalog"), []string{catalog}))
	b.click("#up-submit")
	b.waitJS("import summary", `document.querySelector('#upload-result') && document.querySelector('#projects-table')`)
	if got := b.text("#upload-verb"); got != "imported" {
		t.Errorf("first upload says %q, want imported", got)
	}
	if got := b.text("#upload-result-title"); !strings.Contains(got, "Imported jaffle_shop") {
		t.Errorf("summary title %q", got)
	}
	if got := b.text("#sum-models dd"); !strings.HasPrefix(got, "13") {
		t.Errorf("models in the summary: %q, want 13", got)
	}
	if got := b.text("#sum-columns dd"); strings.HasPrefix(got, "0") || !strings.Contains(got, "described") {
		t.Errorf("columns in the summary: %q", got)
	}
	if got := b.text("#sum-created dd"); got == "0" {
		t.Errorf("a first import created nothing: %q", got)
	}
	// The page shows what the server stored.
	var projects struct {
		Items []modeldoc.Project `json:"items"`
	}
	asAdmin := &testServer{URL: srv.URL, Token: admin}
	asAdmin.apiCall(t, "GET", "/projects", nil, &projects)
	if len(projects.Items) != 1 || projects.Items[0].Name != "jaffle_shop" {
		t.Fatalf("projects after the upload: %+v", projects.Items)
	}
	if got := b.text("#projects-table tbody"); !strings.Contains(got, "jaffle_shop") {
		t.Errorf("project list %q lacks jaffle_shop", got)
	}
	var objs struct {
		Total int `json:"total"`
	}
	asAdmin.apiCall(t, "GET", "/objects?type=model&limit=1", nil, &objs)
	if objs.Total != 13 {
		t.Errorf("the store holds %d models, want 13", objs.Total)
	}
	b.shot("projects")

	// The same files again: the project is updated in place.
	b.click("#up-submit")
	b.waitJS("update summary", `document.querySelector('#upload-verb') && document.querySelector('#upload-verb').textContent === 'updated'`)
	if got := b.text("#upload-result-title"); !strings.Contains(got, "Updated jaffle_shop") {
		t.Errorf("second upload title %q", got)
	}
	if got := b.text("#sum-created dd"); got != "0" {
		t.Errorf("re-upload created %q objects, want 0", got)
	}
	if got := b.text("#sum-models dd"); !strings.HasPrefix(got, "13") {
		t.Errorf("models after the update: %q", got)
	}
	if n := evalJS[int](b, `document.querySelectorAll('#projects-table tbody tr').length`); n != 1 {
		t.Errorf("the list shows %d projects after a re-upload, want 1", n)
	}
	b.shot("projects-updated")

	// A broken manifest: the API's explanation is shown, nothing is imported.
	broken := filepath.Join(t.TempDir(), "broken-manifest.json")
	if err := os.WriteFile(broken, []byte(`{"not": "a manifest"`), 0o644); err != nil {
		t.Fatal(err)
	}
	b.do("choose the broken file", chromedp.SetUploadFiles(chromedp.CSS("#up-manifest"), []string{broken}))
	b.click("#up-submit")
	b.waitJS("upload error", `!!document.querySelector('#upload-error')`)
	if got := b.text("#upload-error"); !strings.Contains(got, "broken-manifest.json is truncated") {
		t.Errorf("error shown: %q, want the API's detail", got)
	}
	if evalJS[bool](b, `!!document.querySelector('#upload-result')`) {
		t.Error("a summary is still shown after a failed upload")
	}
	asAdmin.apiCall(t, "GET", "/projects", nil, &projects)
	if len(projects.Items) != 1 {
		t.Errorf("%d projects after a failed upload", len(projects.Items))
	}
	b.shot("projects-error")

	// On a phone the page fits the width.
	b.do("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#projects-table")))
	if w := evalJS[float64](b, `document.documentElement.scrollWidth - document.documentElement.clientWidth`); w > 1 {
		t.Errorf("projects page scrolls sideways on a phone by %vpx", w)
	}
	b.shot("phone-projects")
	b.do("desktop", chromedp.EmulateViewport(1366, 900))

	// Warnings are listed up to a cap, then counted. No real dataset at hand
	// warns 25 times, so the page's own module renders a made-up answer.
	b.do("render many warnings", chromedp.Evaluate[chromedp.Void](`import('./js/pages/projects.js').then((m) => {
		const warnings = Array.from({ length: 25 }, (_, i) => 'warning <b>' + i + '</b>');
		const card = m.summaryCard({ summary: { project_name: 'w', models: 1, warnings } }, false);
		card.id = 'warn-test';
		document.querySelector('#app').append(card);
	})`))
	b.waitJS("warnings card", `!!document.querySelector('#warn-test')`)
	if n := evalJS[int](b, `document.querySelectorAll('#warn-test .warnings li').length`); n != 10 {
		t.Errorf("%d warnings listed, want the first 10", n)
	}
	if got := b.text("#warn-test #upload-warnings-more"); got != "and 15 more" {
		t.Errorf("warning overflow says %q", got)
	}
	if got := b.text("#warn-test .warnings li"); got != "warning <b>0</b>" {
		t.Errorf("a warning rendered as %q, want its text as is", got)
	}

	// A member sees the projects but no form.
	b.click("#signout")
	b.signIn(member)
	b.do("member projects", chromedp.Navigate(srv.URL+"/#/projects"), chromedp.WaitVisible(chromedp.CSS("#projects-table")))
	if got := b.text("#projects-table tbody"); !strings.Contains(got, "jaffle_shop") {
		t.Errorf("member's project list %q", got)
	}
	if evalJS[bool](b, `!!document.querySelector('#upload-form, #up-manifest')`) {
		t.Error("a member is offered the upload form")
	}
	if got := b.text("#upload-admins-only"); !strings.Contains(got, "Only admins") {
		t.Errorf("member notice %q", got)
	}
	b.checkClean()
}
