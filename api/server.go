// Package api is the REST API: Gin router, handlers, authentication and
// problem+json errors. It reads PostgreSQL and talks to workflows; it never calls
// PayFiP nor writes money itself.
package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/enfance/enfance/accounts"
	"github.com/enfance/enfance/attendance"
	"github.com/enfance/enfance/audit"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/config"
	"github.com/enfance/enfance/contact"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/families"
	"github.com/enfance/enfance/invoice"
	"github.com/enfance/enfance/ledger"
	"github.com/enfance/enfance/mail"
	"github.com/enfance/enfance/orgs"
	"github.com/enfance/enfance/services"
	"github.com/enfance/enfance/waitlist"
	"github.com/enfance/enfance/web"
	"github.com/enfance/enfance/workflows"
)

// Server holds what the handlers need.
type Server struct {
	cfg      config.Config
	pool     *pgxpool.Pool
	q        *db.Queries
	temporal client.Client
	// The domains the handlers call.
	carts      *cart.Store
	attendance *attendance.Store
	accounts   *accounts.Store
	families   *families.Store
	svcs       *services.Store
	contact    *contact.Store
	desk       *ledger.Store
	orgs       *orgs.Store
	invoices   *invoice.Store
	journal    *audit.Log
	// waitlists runs the waiting lists' transactions; lists wakes their workflows.
	waitlists *waitlist.Store
	lists     *workflows.Lists
	log       *zap.Logger
	now       func() time.Time
	metrics   *metrics
	mail      mail.Sender    // password links, contact notifications
	bg        sync.WaitGroup // e-mails being sent; see Wait
	slots     chan struct{}  // see backgroundSlot

	callbackAddresses, callbackIDOps *keyedLimiter // see callbackAllowed
}

// Options build a Server.
type Options struct {
	Config   config.Config
	Pool     *pgxpool.Pool
	Temporal client.Client
	Logger   *zap.Logger
	Now      func() time.Time // tests move the clock; nil = time.Now
	Registry prometheus.Registerer
	Mail     mail.Sender // nil = built from the configuration (SMTP_URL or the outbox folder)
}

// New returns a Server.
func New(o Options) *Server {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	reg := o.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	sender := o.Mail
	if sender == nil {
		var err error
		if sender, err = mail.New(o.Config.SMTPURL, o.Config.MailFrom, o.Config.MailOutboxDir); err != nil {
			o.Logger.Error("mail configuration unusable: the API will send no e-mail", zap.Error(err))
			sender = brokenMailer{err}
		}
	}
	carts := &cart.Store{Pool: o.Pool, TTL: o.Config.CartTTL, Now: now}
	return &Server{
		cfg: o.Config, pool: o.Pool, q: db.New(o.Pool), temporal: o.Temporal, log: o.Logger, now: now,
		carts:      carts,
		attendance: &attendance.Store{Pool: o.Pool, Now: now},
		accounts: &accounts.Store{Pool: o.Pool, Now: now, Limits: o.Config.Login, ResetMailEvery: o.Config.ResetMailEvery,
			SessionIdle: o.Config.SessionIdleTimeout, SessionAbsolute: o.Config.SessionAbsoluteTimeout},
		families: &families.Store{Pool: o.Pool, Now: now},
		svcs:     &services.Store{Pool: o.Pool, Now: now},
		desk:     &ledger.Store{Pool: o.Pool, Now: now},
		orgs:     &orgs.Store{Pool: o.Pool, Now: now, Production: o.Config.Env == "production"},
		invoices: &invoice.Store{Pool: o.Pool},
		journal:  &audit.Log{Pool: o.Pool},
		contact: &contact.Store{Pool: o.Pool, Now: now, Quota: contact.Quota{
			MessagesPerDay: o.Config.AttachmentMessagesPerDay, BytesPerMonth: o.Config.AttachmentBytesPerMonth}},
		waitlists: &waitlist.Store{Pool: o.Pool, Carts: carts, Now: now},
		lists:     &workflows.Lists{Temporal: o.Temporal, TaskQueue: o.Config.TemporalTaskQueue, Pool: o.Pool},
		metrics:   newMetrics(reg),
		mail:      sender,
		slots:     make(chan struct{}, backgroundSlots),

		callbackAddresses: newKeyedLimiter(rate.Limit(o.Config.NotifyPerSecond), 5*o.Config.NotifyPerSecond),
		callbackIDOps:     newKeyedLimiter(rate.Every(o.Config.PayFiPNotifyCooldown), 1),
	}
}

// Handler returns the router.
func (s *Server) Handler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	// A handler's *gin.Context is the request's context: a client that goes away
	// cancels its PostgreSQL queries and its waits on Temporal.
	r.ContextWithFallback = true
	r.Use(gin.Recovery(), s.requestLog(), s.metrics.middleware(), s.limitBody())
	r.HandleMethodNotAllowed = true
	// Only the configured proxies' X-Forwarded-For counts (gin believes anyone's by
	// default); config.Load checks nothing here, so a bad entry is logged.
	if err := r.SetTrustedProxies(s.cfg.TrustedProxies); err != nil {
		s.log.Error("TRUSTED_PROXIES unusable: client addresses are the TCP peers'", zap.Error(err))
		_ = r.SetTrustedProxies(nil)
	}
	// The portal (package web) answers the browser's GETs outside /api; anything
	// else unknown stays a problem+json 404 for API clients.
	portal := web.Handler()
	r.NoRoute(func(c *gin.Context) {
		if (c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead) && !strings.HasPrefix(c.Request.URL.Path, "/api/") {
			portal.ServeHTTP(c.Writer, c.Request)
			return
		}
		fail(c, s.log, errNotFound)
	})
	r.NoMethod(func(c *gin.Context) {
		fail(c, s.log, problem(http.StatusMethodNotAllowed, "method-not-allowed", "Méthode non autorisée", ""))
	})

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.ready)

	for _, m := range []string{http.MethodGet, http.MethodPost} {
		r.Handle(m, "/payfip/notify", s.payfipNotify)
		r.Handle(m, "/payfip/return", s.payfipReturn)
	}
	r.GET("/paiement/resultat", s.paymentResultPage)
	if s.cfg.Env == "dev" {
		// dev only: the mail outbox in a browser, since nothing is really sent.
		r.GET("/dev/outbox/*file", gin.WrapH(http.StripPrefix("/dev/outbox", http.FileServer(http.Dir(s.cfg.MailOutboxDir)))))
	}

	v1 := r.Group("/api/v1")
	authed := v1.Group("", s.authenticate)
	// Staff routes: every query is scoped to the caller's org. Families get 403.
	staff := authed.Group("/admin", s.requireRole(roleAgent, roleFinance, roleAdmin))
	rt := routes{
		v1: v1, authed: authed, fam: authed.Group("", s.requireFamily),
		staff: staff, money: staff.Group("", s.requireRole(roleFinance, roleAdmin)), admin: staff.Group("", s.requireRole(roleAdmin)),
	}
	s.accountRoutes(rt)
	s.familyRoutes(rt)
	s.bookingRoutes(rt)
	s.paymentRoutes(rt)
	s.moneyRoutes(rt)
	s.serviceRoutes(rt)
	s.attendanceRoutes(rt)
	s.invoiceRoutes(rt)
	s.contactRoutes(rt)
	s.orgRoutes(rt)
	s.waitlistRoutes(rt)
	r.GET("/api/openapi.yaml", s.openAPI)
	return r
}

// routes are the groups each area's routes go in (its xxxRoutes method, in its
// file): anyone, any logged-in caller, families, staff, finance (and admins),
// admins.
type routes struct{ v1, authed, fam, staff, money, admin *gin.RouterGroup }

// OpsHandler serves what operators read and the public must not: Prometheus
// metrics and Go's profiles. It listens on METRICS_ADDR, apart from the API.
func (s *Server) OpsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// ready says whether PostgreSQL and Temporal answer. The reasons go to the log,
// not to whoever asks: they name hosts, ports and users.
func (s *Server) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c, 2*time.Second)
	defer cancel()
	checks := gin.H{"postgres": "ok", "temporal": "ok"}
	status := http.StatusOK
	if err := s.pool.Ping(ctx); err != nil {
		s.log.Warn("readiness: PostgreSQL unreachable", zap.Error(err))
		checks["postgres"], status = "unavailable", http.StatusServiceUnavailable
	}
	if _, err := s.temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		s.log.Warn("readiness: Temporal unreachable", zap.Error(err))
		checks["temporal"], status = "unavailable", http.StatusServiceUnavailable
	}
	c.JSON(status, checks)
}

func (s *Server) requestLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		id := c.GetHeader("X-Request-Id")
		if id == "" || len(id) > 64 {
			id = uuid.NewString()
		}
		c.Header("X-Request-Id", id)
		c.Set("request_id", id)
		c.Next()
		// Only the path: query strings may carry tokens (reset links, idOp).
		fields := []zap.Field{
			zap.String("request_id", id), zap.String("method", c.Request.Method),
			zap.String("path", c.Request.URL.Path), zap.Int("status", c.Writer.Status()),
			zap.Duration("duration", time.Since(start)),
		}
		if a, ok := c.Get(callerKey); ok {
			who := a.(caller)
			fields = append(fields, zap.String("org", who.OrgID.String()), zap.String("user", who.UserID.String()))
			if who.FamilyID != nil {
				fields = append(fields, zap.String("family", who.FamilyID.String()))
			}
		}
		s.log.Info("http", fields...)
	}
}

// isUnavailable tells a dependency outage (answer 503) from a bug (answer 500).
func isUnavailable(err error) bool {
	var netErr net.Error
	return db.Unavailable(err) || errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded)
}
