package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/enfance/enfance/api"
	"github.com/enfance/enfance/config"
	"github.com/enfance/enfance/testenv"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// /metrics and Go's profiles are served by OpsHandler, on METRICS_ADDR, and not
// by the public API, in dev as in production.
func TestMetricsAndProfilesAreNotPublic(t *testing.T) {
	for _, env := range []string{"dev", "production"} {
		cfg, err := config.Load("dev")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Env = env
		srv := api.New(api.Options{Config: cfg, Logger: zap.NewNop()})
		public := srv.Handler()
		get(t, public, "/healthz") // one request for the metrics to show
		// (Unknown GETs outside /api get the portal's page.)
		for path, tell := range map[string]string{"/metrics": "enfance_http_request", "/debug/pprof/": "Types of profiles",
			"/debug/pprof/goroutine?debug=1": "goroutine profile", "/debug/pprof/cmdline": "api.test"} {
			if _, body := get(t, public, path); strings.Contains(body, tell) {
				t.Errorf("%s: the public port serves %s: %.100s", env, path, body)
			}
		}
		status, body := get(t, srv.OpsHandler(), "/metrics")
		if status != http.StatusOK || !strings.Contains(body, `enfance_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"} 1`) {
			t.Errorf("%s: metrics: %d %.300s", env, status, body)
		}
		if status, body := get(t, srv.OpsHandler(), "/debug/pprof/goroutine?debug=1"); status != http.StatusOK || !strings.Contains(body, "goroutine profile") {
			t.Errorf("%s: pprof: %d %.100s", env, status, body)
		}
	}
}

// /readyz says which dependency is down, and nothing about why: error strings
// name hosts, ports and users. The reason goes to the log.
func TestReadinessHidesInternalErrors(t *testing.T) {
	testenv.Database(t) // only for TestMain's servers; this test's dependencies are dead
	cfg, err := config.Load("dev")
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(context.Background(), "postgres://secret_user@127.0.0.1:1/enfance?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	tc, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	srv := api.New(api.Options{Config: cfg, Pool: pool, Temporal: tc, Logger: zap.NewNop()})
	status, body := get(t, srv.Handler(), "/readyz")
	if status != http.StatusServiceUnavailable || strings.TrimSpace(body) != `{"postgres":"unavailable","temporal":"unavailable"}` {
		t.Fatalf("readyz: %d %s", status, body)
	}
}
