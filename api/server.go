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
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/enfance/enfance/accounts"
	"github.com/enfance/enfance/attendance"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/config"
	"github.com/enfance/enfance/contact"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/families"
	"github.com/enfance/enfance/ledger"
	"github.com/enfance/enfance/mail"
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
	carts    *cart.Store
	// The back office's domains.
	attendance *attendance.Store
	accounts   *accounts.Store
	families   *families.Store
	closures   *services.Store
	contact    *contact.Store
	desk       *ledger.Store
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
		accounts:   &accounts.Store{Pool: o.Pool, Now: now},
		families:   &families.Store{Pool: o.Pool, Now: now},
		closures:   &services.Store{Pool: o.Pool, Now: now},
		desk:       &ledger.Store{Pool: o.Pool, Now: now},
		contact: &contact.Store{Pool: o.Pool, Quota: contact.Quota{
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
	v1.POST("/auth/login", s.login)

	authed := v1.Group("", s.authenticate)
	authed.POST("/auth/logout", s.logout)
	authed.GET("/me", s.me)

	fam := authed.Group("", s.requireFamily)
	fam.GET("/family/members", s.members)
	fam.GET("/services", s.services)
	fam.GET("/children/:child_id/calendar", s.calendar)
	fam.GET("/reservations", s.reservations)
	fam.POST("/reservations/:id/cancel", s.cancelReservation)
	fam.POST("/reservations/cancel", s.cancelReservations)
	fam.GET("/cart", s.getCart)
	fam.POST("/cart/items", s.addCartItems)
	fam.DELETE("/cart/items/:item_id", s.removeCartItem)
	fam.POST("/cart/month", s.toggleMonth)
	fam.POST("/cart/checkout", s.checkout)
	fam.GET("/balance", s.getBalance)
	fam.POST("/balance/checkout", s.balanceCheckout)
	fam.POST("/waitlist", s.joinWaitlist)
	fam.POST("/waitlist/month", s.joinWaitlistMonth)
	fam.GET("/waitlist", s.familyWaitlist)
	fam.DELETE("/waitlist/:id", s.leaveWaitlist)
	fam.GET("/payments", s.payments)
	fam.GET("/payments/:id", s.getPayment)
	fam.POST("/payments/:id/abandon", s.abandonPayment)
	fam.GET("/payments/:id/receipt.pdf", s.receiptPDF)
	fam.POST("/messages/:id/reply", s.familyReply)

	// Staff routes: every query is scoped to the caller's org. Families get 403.
	staff := authed.Group("/admin", s.requireRole(roleAgent, roleFinance, roleAdmin))
	money := staff.Group("", s.requireRole(roleFinance, roleAdmin))
	admin := staff.Group("", s.requireRole(roleAdmin))
	// Reservations and services (issue 4). Agents book and cancel on a family's
	// behalf and manage days; only admins change a service's rules and prices.
	staff.POST("/families/:id/reservations", s.staffBook)
	staff.POST("/reservations/:id/cancel", s.staffCancelReservation)
	staff.GET("/services", s.listAdminServices)
	staff.GET("/services/:id", s.getAdminService)
	staff.GET("/services/:id/days", s.serviceDays)
	staff.PUT("/services/:id/days", s.putServiceDays)
	// Waiting lists (issue 18): a day's list, reordered, joined for a family, offered by hand.
	staff.GET("/services/:id/days/:date/waitlist", s.getDayWaitlist)
	staff.PATCH("/services/:id/days/:date/waitlist", s.patchDayWaitlist)
	staff.POST("/services/:id/days/:date/waitlist", s.staffJoinWaitlist)
	staff.POST("/services/:id/days/:date/waitlist/:entry_id/offer", s.offerByHand)
	admin.GET("/org", s.getOrg)
	admin.PATCH("/org", s.patchOrg)
	admin.POST("/services", s.createService)
	admin.PATCH("/services/:id", s.patchService)
	admin.POST("/services/:id/days/generate", s.generateServiceDays)
	// Month-end invoicing (issue 7). /invoices/:file is "<id>.pdf" (see fileID).
	fam.GET("/invoices", s.listInvoices)
	fam.GET("/invoices/:file", s.invoicePDF)
	money.POST("/invoice-runs", s.startInvoiceRun)
	money.GET("/invoice-runs", s.listInvoiceRuns)
	money.GET("/invoice-runs/:id", s.getInvoiceRun)
	money.GET("/invoices/:file", s.adminInvoicePDF)
	money.GET("/exports/:file", s.exportMonth)
	// Account, fiche famille, contact, families and desk money, users, audit (issue 6).
	s.accountRoutes(v1, authed, fam, staff, money, admin)
	// The back office in the browser: attendance, day lists, a family's logins (issue 13).
	s.backOfficeRoutes(staff, money, admin)
	r.GET("/api/openapi.yaml", s.openAPI)
	return r
}

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
	var connErr *pgconn.ConnectError
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 08 connection exception, 53 insufficient resources, 57 operator intervention
		// (a restart kills open connections with 57P01), 40 serialization or deadlock.
		switch pgErr.Code[:2] {
		case "08", "53", "57", "40":
			return true
		}
	}
	return errors.As(err, &netErr) || errors.As(err, &connErr) || errors.Is(err, context.DeadlineExceeded) ||
		pgconn.SafeToRetry(err)
}
