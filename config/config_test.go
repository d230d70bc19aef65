package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/enfance/enfance/config"
)

func TestDevDefaultsPointAtTheSimulator(t *testing.T) {
	for _, k := range []string{"DATABASE_URL", "TEMPORAL_ADDRESS", "PAYFIP_ENDPOINT", "PAYFIP_PAYMENT_URL", "HTTP_ADDR", "PUBLIC_URL", "CART_TTL", "ENFANCE_ENV"} {
		t.Setenv(k, "")
	}
	c, err := config.Load("dev")
	if err != nil {
		t.Fatal(err)
	}
	if c.CartTTL != 48*time.Hour || c.HTTPAddr != "127.0.0.1:8080" || c.PublicURL != "http://localhost:8080" || c.MetricsAddr != "127.0.0.1:0" {
		t.Errorf("defaults: %+v", c)
	}
	if !strings.HasPrefix(c.PayFiPEndpoint, "http://127.0.0.1:8091/") || c.TemporalAddress != "" {
		t.Errorf("dev must use the simulator and start its own Temporal: %q %q", c.PayFiPEndpoint, c.TemporalAddress)
	}
}

func TestProductionNeedsADatabaseAndTalksToPayFiP(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	t.Setenv("ENFANCE_ENV", "")
	if _, err := config.Load("production"); err == nil {
		t.Fatal("production without DATABASE_URL must fail")
	}
	t.Setenv("DATABASE_URL", "postgres://x@db/enfance")
	t.Setenv("PAYFIP_ENDPOINT", "")
	c, err := config.Load("production")
	if err != nil {
		t.Fatal(err)
	}
	if c.PayFiPEndpoint != config.PayFiPProductionEndpoint || c.TemporalAddress != "localhost:7233" {
		t.Errorf("production defaults: %q %q", c.PayFiPEndpoint, c.TemporalAddress)
	}
}

func TestBadValuesAreReported(t *testing.T) {
	t.Setenv("CART_TTL", "two days")
	t.Setenv("DEV_PG_PORT", "x")
	_, err := config.Load("dev")
	if err == nil || !strings.Contains(err.Error(), "CART_TTL") || !strings.Contains(err.Error(), "DEV_PG_PORT") {
		t.Fatalf("want both bad variables named, got %v", err)
	}
}

func TestClusterDefaults(t *testing.T) {
	for _, k := range []string{"CLUSTER_API_ADDRS", "CLUSTER_WORKERS", "CLUSTER_LB_ADDR", "PUBLIC_URL", "ENFANCE_ENV"} {
		t.Setenv(k, "")
	}
	c, err := config.Load("dev")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.ClusterAPIAddrs, ",") != "127.0.0.1:8080,127.0.0.1:8081" || c.ClusterWorkers != 2 || c.ClusterLBAddr != "127.0.0.1:8090" || c.ClusterPublicURL != "http://localhost:8090" {
		t.Errorf("cluster defaults: %q %d %q %q", c.ClusterAPIAddrs, c.ClusterWorkers, c.ClusterLBAddr, c.ClusterPublicURL)
	}
	t.Setenv("CLUSTER_API_ADDRS", " 127.0.0.1:9001 , ,127.0.0.1:9002")
	t.Setenv("CLUSTER_LB_ADDR", "127.0.0.1:9000")
	if c, err = config.Load("dev"); err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.ClusterAPIAddrs, ",") != "127.0.0.1:9001,127.0.0.1:9002" || c.ClusterPublicURL != "http://localhost:9000" {
		t.Errorf("cluster from the environment: %q %q", c.ClusterAPIAddrs, c.ClusterPublicURL)
	}
	t.Setenv("CLUSTER_WORKERS", "0")
	if _, err := config.Load("dev"); err == nil || !strings.Contains(err.Error(), "CLUSTER_WORKERS") {
		t.Fatalf("no worker: %v", err)
	}
}

// dev serves the mail outbox and profiles without TLS: it refuses to listen
// anywhere but on this machine. Production listens where it is told.
func TestDevListensOnLoopbackOnly(t *testing.T) {
	for _, k := range []string{"HTTP_ADDR", "METRICS_ADDR", "PAYFIP_SIM_ADDR", "CLUSTER_API_ADDRS", "CLUSTER_LB_ADDR", "ENFANCE_ENV"} {
		t.Setenv(k, "")
	}
	for _, bad := range []struct{ key, addr string }{
		{"HTTP_ADDR", ":8080"}, {"HTTP_ADDR", "0.0.0.0:8080"}, {"HTTP_ADDR", "[::]:8080"}, {"HTTP_ADDR", "192.0.2.10:8080"},
		{"HTTP_ADDR", "portail.example.fr:8080"}, {"METRICS_ADDR", ":9091"}, {"PAYFIP_SIM_ADDR", "0.0.0.0:8091"},
		{"CLUSTER_API_ADDRS", "127.0.0.1:8080,:8081"}, {"CLUSTER_LB_ADDR", ":8090"},
	} {
		t.Run(bad.key+"="+bad.addr, func(t *testing.T) {
			t.Setenv(bad.key, bad.addr)
			_, err := config.Load("dev")
			if err == nil || !strings.Contains(err.Error(), bad.key) || !strings.Contains(err.Error(), "this machine only") {
				t.Fatalf("dev on %s: %v", bad.addr, err)
			}
		})
	}
	for _, good := range []string{"127.0.0.1:8080", "localhost:8080", "[::1]:8080", "127.0.0.2:8080"} {
		t.Setenv("HTTP_ADDR", good)
		if _, err := config.Load("dev"); err != nil {
			t.Fatalf("dev on %s: %v", good, err)
		}
	}
	t.Setenv("HTTP_ADDR", "")
	t.Setenv("DATABASE_URL", "postgres://x@db/enfance")
	c, err := config.Load("production")
	if err != nil || c.HTTPAddr != ":8080" || c.MetricsAddr != "127.0.0.1:9091" {
		t.Fatalf("production: %q %q %v", c.HTTPAddr, c.MetricsAddr, err)
	}
	t.Setenv("HTTP_ADDR", "0.0.0.0:8080")
	if _, err := config.Load("production"); err != nil {
		t.Fatalf("production on all interfaces: %v", err)
	}
}

func TestCartReminderBefore(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want time.Duration
		bad  bool
	}{{"", 6 * time.Hour, false}, {"2h30m", 150 * time.Minute, false}, {"0", 0, false}, {"six hours", 0, true}, {"-1h", 0, true}} {
		t.Setenv("CART_REMINDER_BEFORE", tc.env)
		c, err := config.Load("dev")
		switch {
		case tc.bad && (err == nil || !strings.Contains(err.Error(), "CART_REMINDER_BEFORE")):
			t.Errorf("%q: want CART_REMINDER_BEFORE refused, got %v", tc.env, err)
		case !tc.bad && (err != nil || c.CartReminderBefore != tc.want):
			t.Errorf("%q: %v, %v; want %v", tc.env, c.CartReminderBefore, err, tc.want)
		}
	}
}
