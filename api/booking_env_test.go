package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/api"
	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/config"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/logging"
	"github.com/enfance/enfance/testenv"
)

// bookingEnv is the API on a real port over a fresh database holding one org with a
// canteen open every day from 40 days ago to 80 days ahead, "J-2 before 10:00"
// in calendar days for booking and cancelling, priced 150 / 290 / 380 cents by QF.
// The API runs on the real clock (sessions need it), so tests pick days relative
// to today: today+1 is always too late, today+5 always in time.
type bookingEnv struct {
	t     *testing.T
	ctx   context.Context
	pool  *pgxpool.Pool
	q     *db.Queries
	base  string
	org   uuid.UUID
	svc   uuid.UUID
	today time.Time // in Paris, as a date
	store *cart.Store
	acts  *activities.Activities
}

var parisZone = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return loc
}()

func newBookingEnv(t *testing.T, withTemporal bool) *bookingEnv {
	t.Helper()
	log := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	pool, _ := testenv.Database(t)
	cfg, err := config.Load("dev")
	if err != nil {
		t.Fatal(err)
	}
	var tc client.Client
	if withTemporal {
		dev := testenv.Temporal(t)
		if tc, err = client.Dial(client.Options{HostPort: dev.FrontendHostPort(), Namespace: "default", Logger: logging.Temporal(log)}); err != nil {
			t.Fatalf("dial temporal: %v", err)
		}
		t.Cleanup(tc.Close)
		// No worker listens here: the carts' workflows start and wait, which is all
		// these tests need of them.
		cfg.TemporalTaskQueue = "api-booking-" + uuid.NewString()
	}
	srv := httptest.NewServer(api.New(api.Options{Config: cfg, Pool: pool, Temporal: tc, Logger: log}).Handler())
	t.Cleanup(srv.Close)
	e := &bookingEnv{
		t: t, ctx: context.Background(), pool: pool, q: db.New(pool), base: srv.URL,
		today: booking.Day(time.Now().In(parisZone)),
		// Reservations are made as if a week ago, so tomorrow's can exist.
		store: &cart.Store{Pool: pool, TTL: 48 * time.Hour, Now: weekAgo},
		acts:  &activities.Activities{Pool: pool, Log: log, Now: weekAgo},
	}
	e.org = e.newOrg()
	e.svc = e.newService(e.org, "cantine")
	return e
}

func (e *bookingEnv) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *bookingEnv) day(n int) time.Time { return e.today.AddDate(0, 0, n) }

func (e *bookingEnv) newOrg() uuid.UUID {
	id := uuid.New()
	e.must(e.q.InsertOrg(e.ctx, db.InsertOrgParams{ID: id, Slug: "org-" + id.String()[:8], Name: "Ville", Numcli: "123456", Saisie: "T", TimeZone: "Europe/Paris"}))
	return id
}

func (e *bookingEnv) newService(org uuid.UUID, code string) uuid.UUID {
	e.t.Helper()
	ten := pgtype.Time{Microseconds: (10 * time.Hour).Microseconds(), Valid: true}
	svc, err := e.q.CreateService(e.ctx, db.CreateServiceParams{
		ID: uuid.New(), OrgID: org, Code: code, Name: "Restauration scolaire", Weekdays: []int16{1, 2, 3, 4, 5, 6, 7},
		BookingDaysBefore: 2, BookingTime: ten, CancelDaysBefore: 2, CancelTime: ten,
		EligibleSchools: []string{}, EligibleClasses: []string{}, Active: true,
	})
	e.must(err)
	b1, b2 := int32(700), int32(1200)
	for _, p := range []db.InsertServicePriceParams{{QfMin: 0, QfMax: &b1, PriceCents: 150}, {QfMin: 701, QfMax: &b2, PriceCents: 290}, {QfMin: 1201, PriceCents: 380}} {
		p.ID, p.ServiceID = uuid.New(), svc.ID
		e.must(e.q.InsertServicePrice(e.ctx, p))
	}
	_, err = e.q.GenerateServiceDays(e.ctx, db.GenerateServiceDaysParams{ServiceID: svc.ID, FirstDay: e.day(-40), LastDay: e.day(80)})
	e.must(err)
	return svc.ID
}

// family creates a family of org with one child and a family login.
func (e *bookingEnv) family(org uuid.UUID, qf int32) (cart.Family, uuid.UUID, *apiCaller) {
	e.t.Helper()
	fam := cart.Family{OrgID: org, ID: uuid.New()}
	e.must(e.q.InsertFamily(e.ctx, db.InsertFamilyParams{ID: fam.ID, OrgID: org, Name: "Famille " + fam.ID.String()[:6], Email: "f@test", Phone: "0102030405", Qf: qf}))
	child := uuid.New()
	birth := time.Date(2018, 3, 1, 0, 0, 0, 0, time.UTC)
	e.must(e.q.InsertMember(e.ctx, db.InsertMemberParams{ID: child, OrgID: org, FamilyID: fam.ID, Kind: "child", FirstName: "Léa", LastName: "Martin", BirthDate: &birth, School: "École Jules Ferry", ClassName: "CM1"}))
	return fam, child, e.login(org, "family", &fam.ID)
}

// login creates a user and a session for it, without the cost of a password hash.
func (e *bookingEnv) login(org uuid.UUID, role string, family *uuid.UUID) *apiCaller {
	e.t.Helper()
	user := uuid.New()
	e.must(e.q.InsertUser(e.ctx, db.InsertUserParams{ID: user, OrgID: org, Login: user.String() + "@test", Role: role, FamilyID: family}))
	token := uuid.NewString() + uuid.NewString()
	hash := sha256.Sum256([]byte(token))
	e.must(e.q.CreateSession(e.ctx, db.CreateSessionParams{TokenHash: hash[:], UserID: user, CsrfToken: "csrf", ExpiresAt: time.Now().Add(time.Hour)}))
	return &apiCaller{t: e.t, base: e.base, token: token, userID: user}
}

func weekAgo() time.Time { return time.Now().AddDate(0, 0, -7) }

// reserve books days for the family and confirms them as the cart's workflow does,
// paid from a credit given for the purpose.
func (e *bookingEnv) reserve(fam cart.Family, child uuid.UUID, days ...time.Time) map[string]uuid.UUID {
	e.t.Helper()
	items := make([]cart.Item, len(days))
	for i, d := range days {
		items[i] = cart.Item{ChildID: child, ServiceID: e.svc, Date: d.Format(time.DateOnly)}
	}
	added, err := e.store.AddItems(e.ctx, fam, items)
	e.must(err)
	v, err := e.store.Get(e.ctx, fam)
	e.must(err)
	_, err = e.q.InsertLedgerEntry(e.ctx, db.InsertLedgerEntryParams{
		OrgID: fam.OrgID, FamilyID: fam.ID, Kind: "adjustment", CreditCents: v.Totals.TotalDueCents,
		IdempotencyKey: "test-credit:" + added.Cart.ID.String(), OccurredAt: time.Now(),
	})
	e.must(err)
	prep, err := e.acts.PrepareCheckout(e.ctx, activities.PrepareCheckoutInput{CartID: added.Cart.ID, Seq: 1})
	e.must(err)
	e.must(e.acts.ConfirmCart(e.ctx, prep.AttemptID))
	rows, err := e.q.ListFamilyReservations(e.ctx, db.ListFamilyReservationsParams{OrgID: fam.OrgID, FamilyID: fam.ID, FirstDay: e.day(-100), LastDay: e.day(100)})
	e.must(err)
	out := map[string]uuid.UUID{}
	for _, r := range rows {
		out[r.Day.Format(time.DateOnly)] = r.ID
	}
	return out
}

func (e *bookingEnv) taken(day time.Time) int32 {
	e.t.Helper()
	sd, err := e.q.GetServiceDay(e.ctx, db.GetServiceDayParams{OrgID: e.org, ServiceID: e.svc, Day: day})
	e.must(err)
	return sd.Taken
}

// apiCaller speaks to the API as a portal does: JSON and a Bearer token.
type apiCaller struct {
	t      *testing.T
	base   string
	token  string
	userID uuid.UUID
}

// do sends body as JSON and returns the status and the raw answer.
func (a *apiCaller) do(method, path string, body any) (int, []byte, http.Header) {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, resp.Header
}

// expect checks the status and decodes the answer into out (if not nil).
func (a *apiCaller) expect(method, path string, body any, want int, out any) {
	a.t.Helper()
	status, raw, _ := a.do(method, path, body)
	if status != want {
		a.t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			a.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
}

type problemDoc struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
		Reason  string `json:"reason"`
	} `json:"errors"`
}

// problem checks a problem+json answer and returns it.
func (a *apiCaller) problem(method, path string, body any, want int, slug string) problemDoc {
	a.t.Helper()
	status, raw, h := a.do(method, path, body)
	var p problemDoc
	if err := json.Unmarshal(raw, &p); err != nil {
		a.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
	}
	if status != want || p.Status != want || p.Type != "https://enfance.fr/problems/"+slug || p.Title == "" ||
		h.Get("Content-Type") != "application/problem+json" {
		a.t.Fatalf("%s %s: %d %s, want %d %s: %s", method, path, status, h.Get("Content-Type"), want, slug, raw)
	}
	return p
}

func ymd(t time.Time) string { return t.Format(time.DateOnly) }

func urlf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
