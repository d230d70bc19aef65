// Package config reads the engine's configuration from the environment. Every
// variable has a default that works on a developer's machine; production sets
// DATABASE_URL, TEMPORAL_ADDRESS, PUBLIC_URL and the PayFiP variables.
package config

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Production PayFiP addresses (docs/payfip.md); dev points at the simulator.
const (
	PayFiPProductionEndpoint   = "https://www.payfip.gouv.fr/tpa/services/securite"
	PayFiPProductionPaymentURL = "https://www.payfip.gouv.fr/tpa/paiementws.web"
)

// MaxPayFiPNotifyCooldown bounds PAYFIP_NOTIFY_COOLDOWN: a payment's workflow asks
// PayFiP again this long after a notification that found it not known yet
// (workflows.NotifyCatchUp), so that one coalesced meanwhile is not missed.
const MaxPayFiPNotifyCooldown = 10 * time.Second

// Config is the whole configuration, read once at start.
type Config struct {
	Env      string // "dev" or "production"
	LogLevel string
	DataDir  string

	HTTPAddr  string
	PublicURL string // how browsers and PayFiP reach the API (urlnotif, urlredirect, links in mail)
	// MetricsAddr serves /metrics and pprof, apart from the public port.
	MetricsAddr string
	HTTP        HTTPLimits
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
	// TemporalGzip compresses the gRPC requests to Temporal (the SDK's default):
	// worth it over a WAN (Temporal Cloud), CPU spent for nothing on a local
	// network, where it is off (docs/performance.md).
	TemporalGzip    bool
	TemporalUIPort  int
	DevTemporalPort int

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
	// CartReminderBefore: how long before its expiry a cart's family is e-mailed a
	// reminder; 0 sends none.
	CartReminderBefore time.Duration

	// PayFiP callbacks: one wake-up of the cart's workflow per attempt and cooldown;
	// each client address gets NotifyPerSecond callbacks a second (bursts of 5×).
	PayFiPNotifyCooldown time.Duration
	NotifyPerSecond      int

	Login LoginLimits
	// One "forgot password" e-mail per account in this time.
	ResetMailEvery time.Duration

	// A family's messages with attachments: bytes per 30 days, messages per 24 hours.
	AttachmentBytesPerMonth  int64
	AttachmentMessagesPerDay int

	SessionIdleTimeout     time.Duration
	SessionAbsoluteTimeout time.Duration

	MailFrom      string
	SMTPURL       string // smtp://user:pass@host:port; empty = write to the outbox folder
	MailOutboxDir string
}

// HTTPLimits bound every request the API serves.
type HTTPLimits struct {
	MaxBodyBytes      int64         // JSON and form bodies (uploads have their own limits)
	ReadHeaderTimeout time.Duration // the request line and headers
	ReadTimeout       time.Duration // the whole request, body included
	WriteTimeout      time.Duration // from the end of the headers to the end of the answer
	IdleTimeout       time.Duration // a kept-alive connection waiting for its next request
	UploadTimeout     time.Duration // read and write deadline of a message with attachments
}

// LoginLimits slow down password guessing (see accounts/throttle.go).
type LoginLimits struct {
	FreeFailures           int           // per account, before the first wait
	MaxWait                time.Duration // the longest wait, per account or address
	AddressFailuresPerHour int           // per client address (/64 in IPv6): failures a shared NAT may make without waiting
}

// Load reads the environment. In dev, unset PayFiP addresses point at the embedded
// simulator; elsewhere they point at payfip.gouv.fr.
func Load(env string) (Config, error) {
	var errs []error
	c := Config{
		Env:                  str("ENFANCE_ENV", env),
		LogLevel:             str("LOG_LEVEL", "info"),
		DataDir:              str("DATA_DIR", ".data"),
		DatabaseURL:          os.Getenv("DATABASE_URL"),
		DevPGPort:            integer("DEV_PG_PORT", 54329, &errs),
		TemporalAddress:      str("TEMPORAL_ADDRESS", ""),
		TemporalNamespace:    str("TEMPORAL_NAMESPACE", "default"),
		TemporalTaskQueue:    str("TEMPORAL_TASK_QUEUE", "enfance"),
		TemporalAPIKey:       os.Getenv("TEMPORAL_API_KEY"),
		TemporalTLS:          boolean("TEMPORAL_TLS", false, &errs),
		TemporalGzip:         boolean("TEMPORAL_GRPC_GZIP", false, &errs),
		TemporalUIPort:       integer("TEMPORAL_UI_PORT", 8233, &errs),
		DevTemporalPort:      integer("DEV_TEMPORAL_PORT", 7233, &errs),
		PayFiPTimeout:        duration("PAYFIP_TIMEOUT", 15*time.Second, &errs),
		PayFiPMaxAmountCents: int64(integer("PAYFIP_MAX_AMOUNT_CENTS", 100_000_00, &errs)),
		PayFiPSimAddr:        str("PAYFIP_SIM_ADDR", "127.0.0.1:8091"),
		ClusterWorkers:       integer("CLUSTER_WORKERS", 2, &errs),
		ClusterLBAddr:        str("CLUSTER_LB_ADDR", "127.0.0.1:8090"),
		CartTTL:              duration("CART_TTL", 48*time.Hour, &errs),
		CartReminderBefore:   durationOrOff("CART_REMINDER_BEFORE", 6*time.Hour, &errs),
		PayFiPNotifyCooldown: duration("PAYFIP_NOTIFY_COOLDOWN", 5*time.Second, &errs),
		NotifyPerSecond:      integer("PAYFIP_NOTIFY_PER_SECOND", 100, &errs),
		HTTP: HTTPLimits{
			MaxBodyBytes:      int64(integer("HTTP_MAX_BODY_BYTES", 64<<10, &errs)),
			ReadHeaderTimeout: duration("HTTP_READ_HEADER_TIMEOUT", 10*time.Second, &errs),
			ReadTimeout:       duration("HTTP_READ_TIMEOUT", 30*time.Second, &errs),
			WriteTimeout:      duration("HTTP_WRITE_TIMEOUT", 2*time.Minute, &errs),
			IdleTimeout:       duration("HTTP_IDLE_TIMEOUT", 2*time.Minute, &errs),
			UploadTimeout:     duration("HTTP_UPLOAD_TIMEOUT", 10*time.Minute, &errs),
		},
		Login: LoginLimits{
			FreeFailures:           integer("LOGIN_FREE_FAILURES", 3, &errs),
			MaxWait:                duration("LOGIN_MAX_WAIT", 5*time.Minute, &errs),
			AddressFailuresPerHour: integer("LOGIN_ADDRESS_FAILURES_PER_HOUR", 100, &errs),
		},
		ResetMailEvery:           duration("PASSWORD_RESET_MAIL_EVERY", 5*time.Minute, &errs),
		AttachmentBytesPerMonth:  int64(integer("ATTACHMENT_BYTES_PER_MONTH", 50<<20, &errs)),
		AttachmentMessagesPerDay: integer("ATTACHMENT_MESSAGES_PER_DAY", 20, &errs),
		SessionIdleTimeout:       duration("SESSION_IDLE_TIMEOUT", 2*time.Hour, &errs),
		SessionAbsoluteTimeout:   duration("SESSION_ABSOLUTE_TIMEOUT", 12*time.Hour, &errs),
		MailFrom:                 str("MAIL_FROM", "Portail famille <no-reply@enfance.test>"),
		SMTPURL:                  os.Getenv("SMTP_URL"),
	}
	// dev serves the mail outbox and has no TLS: it listens on this machine only.
	httpAddr := ":8080"
	if c.Env == "dev" {
		httpAddr = "127.0.0.1:8080"
	}
	c.HTTPAddr = str("HTTP_ADDR", httpAddr)
	// Loopback always by default; in dev any free port (printed), so that two
	// checkouts running dev side by side do not collide.
	metricsAddr := "127.0.0.1:9091"
	if c.Env == "dev" {
		metricsAddr = "127.0.0.1:0"
	}
	c.MetricsAddr = str("METRICS_ADDR", metricsAddr)
	c.PublicURL = str("PUBLIC_URL", "http://localhost"+portOf(c.HTTPAddr))
	c.ClusterPublicURL = str("PUBLIC_URL", "http://localhost"+portOf(c.ClusterLBAddr))
	c.TrustedProxies = list("TRUSTED_PROXIES", "")
	c.ClusterAPIAddrs = list("CLUSTER_API_ADDRS", "127.0.0.1:8080,127.0.0.1:8081")
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
	if c.Env == "dev" {
		addrs := []struct{ key, addr string }{{"HTTP_ADDR", c.HTTPAddr}, {"METRICS_ADDR", c.MetricsAddr},
			{"PAYFIP_SIM_ADDR", c.PayFiPSimAddr}, {"CLUSTER_LB_ADDR", c.ClusterLBAddr}}
		for _, a := range c.ClusterAPIAddrs {
			addrs = append(addrs, struct{ key, addr string }{"CLUSTER_API_ADDRS", a})
		}
		for _, v := range addrs {
			if !loopback(v.addr) {
				errs = append(errs, fmt.Errorf("%s=%q: ENFANCE_ENV=dev listens on this machine only (127.0.0.1, ::1 or localhost)", v.key, v.addr))
			}
		}
	}
	for _, v := range []struct {
		key string
		n   int64
	}{{"HTTP_MAX_BODY_BYTES", c.HTTP.MaxBodyBytes}, {"PAYFIP_NOTIFY_PER_SECOND", int64(c.NotifyPerSecond)},
		{"LOGIN_ADDRESS_FAILURES_PER_HOUR", int64(c.Login.AddressFailuresPerHour)},
		{"ATTACHMENT_BYTES_PER_MONTH", c.AttachmentBytesPerMonth}, {"ATTACHMENT_MESSAGES_PER_DAY", int64(c.AttachmentMessagesPerDay)}} {
		if v.n <= 0 {
			errs = append(errs, fmt.Errorf("%s: want a positive number", v.key))
		}
	}
	if c.Login.FreeFailures < 0 {
		errs = append(errs, fmt.Errorf("LOGIN_FREE_FAILURES: want 0 or more"))
	}
	if c.PayFiPNotifyCooldown <= 0 || c.PayFiPNotifyCooldown > MaxPayFiPNotifyCooldown {
		errs = append(errs, fmt.Errorf("PAYFIP_NOTIFY_COOLDOWN: want more than 0 and at most %s", MaxPayFiPNotifyCooldown))
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("configuration: %v", errs)
	}
	return c, nil
}

// loopback tells whether a listen address stays on this machine.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
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

// durationOrOff is duration, where "0" turns the feature off.
func durationOrOff(key string, def time.Duration, errs *[]error) time.Duration {
	if v := os.Getenv(key); v == "0" {
		return 0
	}
	return duration(key, def, errs)
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
