// Package config reads the engine's configuration from the environment. Every
// variable has a default that works on a developer's machine; production sets
// DATABASE_URL, TEMPORAL_ADDRESS, PUBLIC_URL and the PayFiP variables.
package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Production PayFiP addresses (see shared/payfip/README.md); dev points at the simulator.
const (
	PayFiPProductionEndpoint   = "https://www.payfip.gouv.fr/tpa/services/securite"
	PayFiPProductionPaymentURL = "https://www.payfip.gouv.fr/tpa/paiementws.web"
)

// Config is the whole configuration, read once at start.
type Config struct {
	Env      string // "dev" or "production"
	LogLevel string
	DataDir  string

	HTTPAddr  string
	PublicURL string // how browsers and PayFiP reach the API (urlnotif, urlredirect, links in mail)
	// Reverse proxies whose X-Forwarded-For is believed (IPs or CIDRs). None by
	// default: otherwise any client could pick the address login throttling counts.
	TrustedProxies []string

	DatabaseURL string
	DevPGPort   int

	TemporalAddress   string
	TemporalNamespace string
	TemporalTaskQueue string
	TemporalAPIKey    string
	TemporalTLS       bool
	TemporalUIPort    int
	DevTemporalPort   int

	PayFiPEndpoint       string
	PayFiPPaymentURL     string
	PayFiPTimeout        time.Duration
	PayFiPMaxAmountCents int64
	PayFiPSimAddr        string

	// enfance cluster: the API processes' addresses, how many workers, and the
	// load balancer in front of the APIs, whose URL is the cluster's PUBLIC_URL.
	ClusterAPIAddrs  []string
	ClusterWorkers   int
	ClusterLBAddr    string
	ClusterPublicURL string

	CartTTL time.Duration

	SessionIdleTimeout     time.Duration
	SessionAbsoluteTimeout time.Duration

	MailFrom      string
	SMTPURL       string // smtp://user:pass@host:port; empty = write to the outbox folder
	MailOutboxDir string
}

// Load reads the environment. In dev, unset PayFiP addresses point at the embedded
// simulator; elsewhere they point at payfip.gouv.fr.
func Load(env string) (Config, error) {
	var errs []error
	c := Config{
		Env:                    str("ENFANCE_ENV", env),
		LogLevel:               str("LOG_LEVEL", "info"),
		DataDir:                str("DATA_DIR", ".data"),
		HTTPAddr:               str("HTTP_ADDR", ":8080"),
		DatabaseURL:            os.Getenv("DATABASE_URL"),
		DevPGPort:              integer("DEV_PG_PORT", 54329, &errs),
		TemporalAddress:        str("TEMPORAL_ADDRESS", ""),
		TemporalNamespace:      str("TEMPORAL_NAMESPACE", "default"),
		TemporalTaskQueue:      str("TEMPORAL_TASK_QUEUE", "enfance"),
		TemporalAPIKey:         os.Getenv("TEMPORAL_API_KEY"),
		TemporalTLS:            boolean("TEMPORAL_TLS", false, &errs),
		TemporalUIPort:         integer("TEMPORAL_UI_PORT", 8233, &errs),
		DevTemporalPort:        integer("DEV_TEMPORAL_PORT", 7233, &errs),
		PayFiPTimeout:          duration("PAYFIP_TIMEOUT", 15*time.Second, &errs),
		PayFiPMaxAmountCents:   int64(integer("PAYFIP_MAX_AMOUNT_CENTS", 100_000_00, &errs)),
		PayFiPSimAddr:          str("PAYFIP_SIM_ADDR", "127.0.0.1:8091"),
		ClusterWorkers:         integer("CLUSTER_WORKERS", 2, &errs),
		ClusterLBAddr:          str("CLUSTER_LB_ADDR", ":8090"),
		CartTTL:                duration("CART_TTL", 48*time.Hour, &errs),
		SessionIdleTimeout:     duration("SESSION_IDLE_TIMEOUT", 2*time.Hour, &errs),
		SessionAbsoluteTimeout: duration("SESSION_ABSOLUTE_TIMEOUT", 12*time.Hour, &errs),
		MailFrom:               str("MAIL_FROM", "Portail famille <no-reply@enfance.test>"),
		SMTPURL:                os.Getenv("SMTP_URL"),
	}
	c.PublicURL = str("PUBLIC_URL", "http://localhost"+portOf(c.HTTPAddr))
	c.ClusterPublicURL = str("PUBLIC_URL", "http://localhost"+portOf(c.ClusterLBAddr))
	c.TrustedProxies = list("TRUSTED_PROXIES", "")
	c.ClusterAPIAddrs = list("CLUSTER_API_ADDRS", ":8080,:8081")
	if len(c.ClusterAPIAddrs) == 0 || c.ClusterWorkers < 1 {
		errs = append(errs, fmt.Errorf("CLUSTER_API_ADDRS and CLUSTER_WORKERS: want at least one of each"))
	}
	// The outbox keeps a copy of every e-mail in dev (beside SMTP, e.g. Mailpit, if
	// set); in production it is only the fallback when there is no SMTP server.
	if c.SMTPURL == "" || c.Env == "dev" {
		c.MailOutboxDir = str("MAIL_OUTBOX_DIR", c.DataDir+"/outbox")
	} else {
		c.MailOutboxDir = os.Getenv("MAIL_OUTBOX_DIR")
	}
	if c.Env == "dev" {
		c.TemporalAddress = str("TEMPORAL_ADDRESS", "")
		sim := "http://" + c.PayFiPSimAddr
		c.PayFiPEndpoint = str("PAYFIP_ENDPOINT", sim+"/tpa/services/securite")
		c.PayFiPPaymentURL = str("PAYFIP_PAYMENT_URL", sim+"/tpa/paiementws.web")
	} else {
		if c.TemporalAddress == "" {
			c.TemporalAddress = "localhost:7233"
		}
		c.PayFiPEndpoint = str("PAYFIP_ENDPOINT", PayFiPProductionEndpoint)
		c.PayFiPPaymentURL = str("PAYFIP_PAYMENT_URL", PayFiPProductionPaymentURL)
		if c.DatabaseURL == "" {
			errs = append(errs, fmt.Errorf("DATABASE_URL is required outside dev"))
		}
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("configuration: %v", errs)
	}
	return c, nil
}

func portOf(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[i:]
		}
	}
	return ""
}

func str(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

// list splits a comma-separated variable, dropping empty items.
func list(key, def string) []string {
	var out []string
	for _, v := range strings.Split(str(key, def), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func integer(key string, def int, errs *[]error) int {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s: %w", key, err))
		return def
	}
	return n
}

func boolean(key string, def bool, errs *[]error) bool {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s: %w", key, err))
		return def
	}
	return b
}

func duration(key string, def time.Duration, errs *[]error) time.Duration {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		*errs = append(*errs, fmt.Errorf("%s: want a positive Go duration such as 48h: %q", key, v))
		return def
	}
	return d
}
