package api

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
)

const rssChildEnv = "MODELDOC_TEST_UPLOAD_RSS_CHILD"

// writeBigManifest writes a manifest of three models and n ignored nodes:
// singular tests and analyses among the nodes, macros and docs beside
// them, as a large dbt project's manifest is mostly made of.
func writeBigManifest(t *testing.T, path string, n int) int64 {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprint(w, `{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json", "project_name": "big"}, "nodes": {`)
	for i := range 3 {
		fmt.Fprintf(w, `"model.big.m%d": {"resource_type": "model", "name": "m%d", "package_name": "big", "raw_code": "select %d as id", "columns": {}, "depends_on": {"nodes": []}},`, i, i, i)
	}
	for i := range n / 2 {
		kind := "test"
		if i%4 == 0 {
			kind = "analysis"
		}
		fmt.Fprintf(w, `"%s.big.n%07d": {"resource_type": "%s", "name": "n%07d", "raw_code": "select %d"},`, kind, i, kind, i, i)
	}
	fmt.Fprint(w, `"model.big.last": {"resource_type": "model", "name": "last", "raw_code": "select 1"}}, "macros": {`)
	for i := range n / 4 {
		if i > 0 {
			w.WriteByte(',')
		}
		fmt.Fprintf(w, `"macro.big.k%07d": {"name": "k%07d", "macro_sql": "{%% macro k() %%}select %d{%% endmacro %%}"}`, i, i, i)
	}
	fmt.Fprint(w, `}, "docs": {`)
	for i := range n - n/2 - n/4 {
		if i > 0 {
			w.WriteByte(',')
		}
		fmt.Fprintf(w, `"doc.big.d%07d": {"name": "d%07d", "block_contents": "Documentation block %d."}`, i, i, i)
	}
	fmt.Fprint(w, `}, "sources": {}}`)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	info, _ := f.Stat()
	f.Close()
	return info.Size()
}

// TestUploadOfALargeManifestStaysSmall: uploading a manifest of a million
// ignored nodes (97 MB) through the API, in a child process, keeps
// its peak RSS under 300 MB: the manifest is decoded as it arrives and
// only the catalog's nodes are kept.
func TestUploadOfALargeManifestStaysSmall(t *testing.T) {
	if path := os.Getenv(rssChildEnv); path != "" {
		uploadChild(t, path)
		return
	}
	if testing.Short() {
		t.Skip("writes and uploads a 97 MB manifest")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "manifest.json")
	size := writeBigManifest(t, path, 1_000_000)
	cmd := exec.Command(os.Args[0], "-test.run=^TestUploadOfALargeManifestStaysSmall$", "-test.v")
	cmd.Env = append(os.Environ(), rssChildEnv+"="+path, "MODELDOC_SECRET_KEY=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var kb int64
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "PEAK_RSS_KB "); ok {
			kb, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	if kb == 0 {
		t.Fatalf("the child reported no peak RSS:\n%s", out)
	}
	t.Logf("manifest %.1f MB, one million ignored nodes: peak RSS %.0f MB", float64(size)/1e6, float64(kb)/1024)
	if kb > 300*1024 {
		t.Fatalf("peak RSS %d MB, want under 300 MB", kb/1024)
	}
}

// uploadChild streams the manifest at path to the upload endpoint of an
// API on a real port and prints the process's peak RSS.
func uploadChild(t *testing.T, path string) {
	ctx := context.Background()
	st := modeldoctest.NewSQLiteStore(t)
	org, err := st.EnsureDefaultOrganization(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := st.CreateToken(ctx, org.ID, "up", store.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{Store: st}))
	defer srv.Close()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		f, err := os.Open(path)
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		defer f.Close()
		part, err := mw.CreateFormFile("manifest", "manifest.json")
		if err == nil {
			_, err = io.Copy(part, f)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/projects", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 201 || !strings.Contains(string(body), `"models":4`) {
		t.Fatalf("upload: %d %s", res.StatusCode, body)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fmt.Printf("PEAK_RSS_KB %s\n", strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
	}
}
