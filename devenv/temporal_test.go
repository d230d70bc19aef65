package devenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap/zaptest"
)

func temporalBinary(t *testing.T) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "bin", "temporal")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("temporal CLI missing at %s: run make tools", bin)
	}
	return bin
}

func startTemporal(t *testing.T, opts TemporalOptions) *Temporal {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts.Logger = zaptest.NewLogger(t)
	start := time.Now()
	tp, err := StartTemporal(ctx, opts)
	if err != nil {
		t.Fatalf("StartTemporal: %v", err)
	}
	t.Logf("StartTemporal (ui=%v, db=%q) took %v", opts.UIPort != 0, filepath.Base(opts.DBFile), time.Since(start))
	t.Cleanup(func() { _ = tp.Stop() })
	return tp
}

func searchAttributes(t *testing.T, addr, namespace string) map[string]enumspb.IndexedValueType {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: namespace})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, err := c.OperatorService().ListSearchAttributes(context.Background(), &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetCustomAttributes()
}

func stopTemporalAndCheckGone(t *testing.T, tp *Temporal) {
	t.Helper()
	pid := tp.PID()
	start := time.Now()
	if err := tp.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("Stop took %v", time.Since(start))
	if processAlive(pid) || groupAlive(pid) {
		t.Fatalf("temporal dev server (pid %d) or its group still running after Stop", pid)
	}
	if err := tp.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestTemporalRestartOnExistingDBFile(t *testing.T) {
	bin := temporalBinary(t)
	dir := tempDir(t)
	dbFile := filepath.Join(dir, "temporal", "temporal.db")
	logFile := filepath.Join(dir, "temporal.log")

	tp := startTemporal(t, TemporalOptions{
		Binary: bin, DBFile: dbFile, Port: freePort(t), Namespace: "enfance", LogFile: logFile,
		SearchAttributes: map[string]string{"CartStatus": "Keyword"},
	})
	attrs := searchAttributes(t, tp.Address(), "enfance")
	if attrs["CartStatus"] != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
		t.Fatalf("first start: search attributes %v, want CartStatus Keyword", attrs)
	}
	stopTemporalAndCheckGone(t, tp)

	// Same DB file, one more search attribute, and the UI: the CLI's flag would
	// ignore the new attribute on an existing namespace; StartTemporal adds it.
	uiPort := freePort(t)
	tp = startTemporal(t, TemporalOptions{
		Binary: bin, DBFile: dbFile, Port: freePort(t), UIPort: uiPort, Namespace: "enfance", LogFile: logFile,
		SearchAttributes: map[string]string{"CartStatus": "Keyword", "AmountDueCents": "Int"},
	})
	attrs = searchAttributes(t, tp.Address(), "enfance")
	if attrs["CartStatus"] != enumspb.INDEXED_VALUE_TYPE_KEYWORD || attrs["AmountDueCents"] != enumspb.INDEXED_VALUE_TYPE_INT {
		t.Fatalf("restart: search attributes %v, want CartStatus Keyword and AmountDueCents Int", attrs)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", uiPort))
	if err != nil {
		t.Fatalf("web UI: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("web UI: status %s", resp.Status)
	}
	stopTemporalAndCheckGone(t, tp)

	// A type clash with the DB file is reported, not ignored.
	_, err = StartTemporal(context.Background(), TemporalOptions{
		Binary: bin, DBFile: dbFile, Port: freePort(t), Namespace: "enfance",
		SearchAttributes: map[string]string{"AmountDueCents": "Keyword"},
	})
	if err == nil {
		t.Fatal("StartTemporal accepted a search attribute whose type clashes with the DB file")
	}
	t.Logf("type clash: %v", err)
}

func TestTemporalMissingBinary(t *testing.T) {
	_, err := StartTemporal(context.Background(), TemporalOptions{Binary: "/nonexistent/bin/temporal"})
	if err == nil || err.Error() != "temporal CLI not found at /nonexistent/bin/temporal: run make tools" {
		t.Fatalf("got %v", err)
	}
}
