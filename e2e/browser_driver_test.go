package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's browser, which `make tools` installs. The browser
// tests need it: without it they fail, they never skip.
const chromiumPath = "/usr/bin/chromium"

// browser drives one headless Chromium with a fresh profile against the stack.
type browser struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string // where screenshots go: <repo>/.data/screenshots
	name  string // prefix of this browser's screenshots
}

func newBrowser(t *testing.T, base, name string) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser tests need Debian's chromium at %s (%v): run make tools", chromiumPath, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "fr-FR"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	// One budget per browser: a stuck page fails the test instead of hanging it.
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	// The page's uncaught errors go to the test log: a broken module shows up there.
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			if d := ev.ExceptionDetails; d != nil {
				msg := d.Text
				if d.Exception != nil && d.Exception.Description != "" {
					msg = d.Exception.Description
				}
				t.Logf("browser exception: %s (%s:%d)", msg, d.URL, d.LineNumber)
			}
		}
	}()
	shots := filepath.Join(repoRoot(t), ".data", "screenshots")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, ctx: ctx, base: base, shots: shots, name: name}
}

// repoRoot is the folder of go.mod above the test's working directory.
func repoRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// do runs actions, failing the test with what it was doing.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.shot("echec-" + slug(what))
		b.t.Fatalf("%s: %v\n%s", what, err, b.pageText())
	}
}

// eval evaluates a JavaScript expression (promises awaited) into T.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitJS waits until the expression is truthy in the page. A navigation in
// between (to PayFiP and back) only makes it ask the new page.
func (b *browser) waitJS(what, expr string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		if err == nil && ok {
			return
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) || b.ctx.Err() != nil {
			b.shot("echec-" + slug(what))
			b.t.Fatalf("waiting for %s (%v): %v\n%s", what, timeout, last, b.pageText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitText waits until the element of the CSS selector contains text.
func (b *browser) waitText(sel, text string, timeout time.Duration) {
	b.t.Helper()
	b.waitJS(fmt.Sprintf("%q in %s", text, sel), fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && %s(e.textContent).includes(%s); })()`,
		jsString(sel), jsNorm, jsString(text)), timeout)
}

// jsNorm folds the no-break spaces French formatting puts in amounts and dates.
const jsNorm = `((s) => (s || '').replace(/[\u00a0\u202f]/g, ' ').replace(/\s+/g, ' '))`

// click clicks, with the mouse, the first visible element of the CSS selector
// whose text contains text ("" for any).
func (b *browser) click(sel, text string) {
	b.t.Helper()
	xpath := cssToXPathByText(sel, text)
	b.do(fmt.Sprintf("click %s %q", sel, text), chromedp.Click(xpath, chromedp.NodeVisible))
}

// cssToXPathByText: the element types of sel ("button", "a"…) containing text.
func cssToXPathByText(tag, text string) string {
	if text == "" {
		return "//" + tag
	}
	return fmt.Sprintf(`//%s[contains(normalize-space(.), %s)]`, tag, xpathString(text))
}

// chromedpClick clicks the element of a CSS selector with the mouse.
func chromedpClick(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)
}

// typeIn fills an input, found by CSS selector.
func (b *browser) typeIn(sel, text string) {
	b.t.Helper()
	b.do("type in "+sel, chromedp.SendKeys(chromedp.CSS(sel), text, chromedp.NodeVisible))
}

// open navigates to a path of the portal (with its #/ route) and waits for the
// page's title.
func (b *browser) open(route string) {
	b.t.Helper()
	b.do("open "+route, chromedp.Navigate(b.base+route))
}

// shot saves a full-page screenshot as <repo>/.data/screenshots/<name>-<what>.png.
func (b *browser) shot(what string) {
	buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", what, err)
		return
	}
	path := filepath.Join(b.shots, b.name+"-"+what+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", what, err)
	}
}

// phone shows the page as a phone would (390×844, touch), takes a screenshot, and
// goes back to the desktop size. The tables inside each of stacked (CSS
// selectors) must read as cards there: no sideways scrolling, every cell shown
// beside its column's name.
func (b *browser) phoneShot(what string, stacked ...string) {
	b.t.Helper()
	b.do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
	b.waitJS("layout at phone width", `document.documentElement.clientWidth <= 400`, 5*time.Second)
	wide := eval[bool](b, `document.documentElement.scrollWidth > document.documentElement.clientWidth + 1`)
	var scrolls []string
	for _, sel := range stacked {
		if !eval[bool](b, fmt.Sprintf(`(() => {
			const el = document.querySelector(%s);
			const cells = el ? [...el.querySelectorAll('tbody td')] : [];
			return cells.length > 0 && ![...el.querySelectorAll('.table-wrap')].some((w) => w.scrollWidth > w.clientWidth + 1) &&
				cells.every((td) => !td.dataset.label || getComputedStyle(td, '::before').content.includes(td.dataset.label));
		})()`, jsString(sel))) {
			scrolls = append(scrolls, sel)
		}
	}
	b.shot(what)
	b.do("desktop viewport", chromedp.EmulateViewport(1280, 900))
	if wide {
		b.t.Errorf("%s: the page is wider than a phone's screen (horizontal scrolling)", what)
	}
	if len(scrolls) > 0 {
		b.t.Errorf("%s: at phone width, not a stack of labelled cards (or sideways scrolling): %v", what, scrolls)
	}
}

// pageText is the visible text of the page, for failure messages.
func (b *browser) pageText() string {
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.href + "\n" + (document.body ? document.body.innerText : "")`))
	if err != nil {
		return ""
	}
	if len(v) > 3000 {
		v = v[:3000] + "…"
	}
	return "page: " + v
}

// login signs in through the login form and waits for the first page.
func (b *browser) login(login, password, landing string) {
	b.t.Helper()
	b.open("/")
	b.waitText("#page-title", "Connexion", 10*time.Second)
	b.typeIn(`input[name="login"]`, login)
	b.typeIn(`input[name="password"]`, password)
	b.click("button", "Se connecter")
	b.waitText("#page-title", landing, 10*time.Second)
}

func jsString(s string) string {
	out, _ := json.Marshal(s)
	return string(out)
}

// xpathString quotes s for XPath 1.0, which has no escape for quotes.
func xpathString(s string) string {
	if !strings.Contains(s, "'") {
		return "'" + s + "'"
	}
	parts := strings.Split(s, "'")
	return "concat('" + strings.Join(parts, `', "'", '`) + "')"
}

func slug(s string) string {
	s = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 32
		}
		return '-'
	}, s)
	if len(s) > 40 {
		s = s[:40]
	}
	return strings.Trim(s, "-")
}
