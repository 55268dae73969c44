package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/api"
	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/engine"
	"github.com/modeldoc/modeldoc/internal/fakellm"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/providerkeys"
	"github.com/modeldoc/modeldoc/internal/server"
	"github.com/modeldoc/modeldoc/internal/store"
	"github.com/modeldoc/modeldoc/internal/testenv"
)

// testServer is the real thing in-process: a SQLite store with a real
// dataset, the job engine with its River workers, the REST API and the
// dashboard on one listener, and the fake LLM as the OpenAI provider.
type testServer struct {
	URL   string
	Token string
	Store *store.Store
	OrgID int64
	Eng   *engine.Engine
	Fake  *fakellm.Server
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	ctx := context.Background()
	// The ring's master key: a fixed one keeps the test off the key file.
	t.Setenv("MODELDOC_SECRET_KEY", strings.Repeat("ab", 32))
	st := modeldoctest.NewSQLiteStore(t)
	org, err := st.EnsureDefaultOrganization(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := dbt.Load(filepath.Join(modeldoctest.DatasetsDir(t), "fivetran__dbt_hubspot"))
	if err != nil {
		t.Fatalf("load hubspot dataset: %v", err)
	}
	if _, err := st.ImportCatalog(ctx, org.ID, cat); err != nil {
		t.Fatalf("import hubspot: %v", err)
	}
	eng, err := engine.New(ctx, engine.Config{Store: st, NoEnvKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	ring, err := providerkeys.Open(st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ring.Put(ctx, org.ID, "openai", "sk-test-0123456789abcdefghijklmnop"); err != nil {
		t.Fatal(err)
	}
	fake := fakellm.New(fakellm.Config{})
	if _, err := fake.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The server as modeldoc serve runs it: API and dashboard on one
	// listener, the job workers started and stopped with it.
	a := api.New(api.Config{Store: st, Jobs: eng.Jobs, Keys: ring, RatePerSecond: -1})
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- server.Run(sctx, server.Config{Listener: ln, API: a, Web: Handler(), Jobs: eng.Jobs})
	}()
	token, _, err := st.CreateToken(ctx, org.ID, "admin@example.com", store.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server: %v", err)
			}
		case <-time.After(90 * time.Second):
			t.Error("server did not stop")
		}
		_ = eng.Close()
		_ = fake.Close()
	})
	url := "http://" + ln.Addr().String()
	waitReady(t, url)
	return &testServer{URL: url, Token: token, Store: st, OrgID: org.ID, Eng: eng, Fake: fake}
}

// waitReady waits until the server answers /readyz.
func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(url + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s/readyz never answered 200", url)
}

// chromiumPath finds the browser, or skips (fails under
// MODELDOC_TEST_REQUIRE) saying how to get one.
func chromiumPath(t *testing.T) string { return testenv.Chromium(t) }

// browser is one headless Chromium tab with the page's errors and every
// request it makes recorded, so a test can assert that nothing threw and
// nothing left the server.
type browser struct {
	ctx  context.Context
	t    *testing.T
	base string

	mu         sync.Mutex
	exceptions []string
	requests   []string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	b := &browser{ctx: ctx, t: t, base: base}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	record := func(into *[]string, s string) {
		b.mu.Lock()
		*into = append(*into, s)
		b.mu.Unlock()
	}
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	consoles := chromedp.Events(ctx, runtime.ConsoleAPICalled)
	requests := chromedp.Events(ctx, network.RequestWillBeSent)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			record(&b.exceptions, fmt.Sprintf("%s (%s:%d)", msg, d.URL, d.LineNumber+1))
		}
	}()
	go func() {
		for ev, err := range consoles {
			if err != nil {
				return
			}
			if ev.Type != runtime.ConsoleAPICalledTypeError {
				continue
			}
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			record(&b.exceptions, "console.error: "+strings.Join(parts, " "))
		}
	}()
	go func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			record(&b.requests, ev.Request.URL)
		}
	}()
	go func() {
		// Cancel and remove ask for confirmation; the tests accept.
		for _, err := range dialogs {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("enable network events: %v", err)
	}
	return b
}

// do runs steps with a deadline, failing the test with the page's errors.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\npage errors: %v", what, err, b.errors())
	}
}

func run[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v\npage errors: %v", what, err, b.errors())
	}
	return v
}

func (b *browser) errors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.exceptions...)
}

// checkClean fails the test if the page threw or asked anything of a host
// other than the server: the dashboard must work offline.
func (b *browser) checkClean() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.exceptions {
		b.t.Errorf("page error: %s", e)
	}
	for _, u := range b.requests {
		if !strings.HasPrefix(u, b.base) && !strings.HasPrefix(u, "data:") && !strings.HasPrefix(u, "about:") {
			b.t.Errorf("request outside the server: %s", u)
		}
	}
}

// waitJS polls a JavaScript expression until it is truthy.
func (b *browser) waitJS(what, expr string) {
	b.t.Helper()
	run(b, "wait for "+what, chromedp.Poll[any](expr, chromedp.WithPollingTimeout(90*time.Second), chromedp.WithPollingInterval(50*time.Millisecond)))
}

// text reads an element's rendered text in one evaluation: the live pages
// replace their elements on every event, so a query-then-read could find
// the node gone between the two.
func (b *browser) text(sel string) string {
	b.t.Helper()
	v := evalJS[*string](b, `(() => { const e = document.querySelector(`+jsString(sel)+`); return e ? e.innerText : null })()`)
	if v == nil {
		b.t.Fatalf("no element %s\npage errors: %v", sel, b.errors())
	}
	return *v
}

func evalJS[T any](b *browser, expr string) T {
	b.t.Helper()
	return run(b, "eval "+expr, chromedp.Evaluate[T](expr))
}

// shot saves a full-page screenshot under testdata/artifacts.
func (b *browser) shot(name string) {
	b.t.Helper()
	// From the top: a full-page capture of a scrolled page draws sticky
	// elements where the scroll left them.
	run(b, "scroll to top", chromedp.Evaluate[chromedp.Void]("window.scrollTo(0, 0)"))
	buf := run(b, "screenshot "+name, chromedp.FullScreenshot(100))
	dir := filepath.Join("testdata", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browser) click(sel string) {
	b.t.Helper()
	b.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

func (b *browser) signIn(token string) {
	b.t.Helper()
	b.do("sign in",
		chromedp.Navigate(b.base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Click(chromedp.CSS("#signin-submit")),
		chromedp.WaitVisible(chromedp.CSS("#models-table tbody tr td.name")),
	)
}

// importCatalog imports an extra project for one test.
func (s *testServer) importCatalog(t *testing.T, cat *modeldoc.Catalog) {
	t.Helper()
	if _, err := s.Store.ImportCatalog(context.Background(), s.OrgID, cat); err != nil {
		t.Fatalf("import %s: %v", cat.ProjectName, err)
	}
}
