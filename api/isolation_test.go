package api_test

import (
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/enfance/enfance/config"
	"github.com/enfance/enfance/db"
)

// victim is everything one family owns, and its org's staff-side records.
type victim struct {
	org, family, child, adult, service, reservation, cartLine, payment    uuid.UUID
	invoice, run, message, attachment, authorized, user, staffUser, other uuid.UUID
	closure                                                               uuid.UUID
	waitlistEntry                                                         uuid.UUID
	name                                                                  string
}

// ids lists the victim's identifiers: none may appear in another's answer.
func (v victim) ids() []string {
	var out []string
	for _, id := range []uuid.UUID{v.family, v.child, v.adult, v.reservation, v.cartLine, v.payment, v.invoice, v.message, v.attachment, v.authorized, v.waitlistEntry} {
		out = append(out, id.String())
	}
	return append(out, v.name)
}

// orgIDs adds the org-wide records, for staff of another org.
func (v victim) orgIDs() []string {
	return append(v.ids(), v.org.String(), v.service.String(), v.run.String(), v.staffUser.String())
}

// newVictim creates a family of org with a record of every kind. service and run
// are created once per org (pass uuid.Nil to create them).
func (e *accountEnv) newVictim(org uuid.UUID, name string, service, run uuid.UUID) victim {
	e.t.Helper()
	v := victim{org: org, name: name, service: service, run: run}
	v.family = e.newFamily(org, name)
	members, err := e.q.ListMembers(e.ctx, db.ListMembersParams{OrgID: org, FamilyID: v.family})
	e.must(err)
	v.child = members[0].ID
	v.adult = uuid.New()
	e.must(e.q.InsertMember(e.ctx, db.InsertMemberParams{ID: v.adult, OrgID: org, FamilyID: v.family, Kind: "adult", FirstName: "Anne", LastName: name}))
	v.user = e.newUser(org, "family", &v.family, strings.ToLower(name)+"@famille.test", "")
	ten := pgtype.Time{Microseconds: (10 * time.Hour).Microseconds(), Valid: true}
	if v.service == uuid.Nil {
		v.service = uuid.New()
		e.must(e.q.InsertService(e.ctx, db.InsertServiceParams{ID: v.service, OrgID: org, Code: "cantine", Name: "Cantine", Weekdays: []int16{1, 2, 3, 4, 5},
			BookingDaysBefore: 2, BookingTime: ten, CancelDaysBefore: 2, CancelTime: ten}))
		_, err = e.q.GenerateServiceDays(e.ctx, db.GenerateServiceDaysParams{ServiceID: v.service, FirstDay: time.Now().AddDate(0, 0, 20), LastDay: time.Now().AddDate(0, 0, 40)})
		e.must(err)
	}
	if v.run == uuid.Nil {
		v.run = uuid.New()
		e.exec(`INSERT INTO invoice_runs (id, org_id, month, status) VALUES ($1, $2, '2026-10', 'completed')`, v.run, org)
		v.staffUser = e.newUser(org, "agent", nil, "agent-"+org.String()[:8]+"@ville.test", "")
		v.closure = uuid.New()
		e.exec(`INSERT INTO closures (id, org_id, first_day, last_day, label) VALUES ($1, $2, '2026-12-19', '2027-01-03', 'Noël')`, v.closure, org)
	}
	var day uuid.UUID
	var date time.Time
	e.must(e.pool.QueryRow(e.ctx, `SELECT id, day FROM service_days WHERE service_id = $1 ORDER BY day
		OFFSET (SELECT count(*) FROM reservations WHERE service_id = $1) LIMIT 1`, v.service).Scan(&day, &date))
	v.reservation = uuid.New()
	e.exec(`INSERT INTO reservations (id, org_id, family_id, child_id, service_id, service_day_id, day, price_cents, status, source)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 290, 'confirmed', 'staff')`, v.reservation, org, v.family, v.child, v.service, day, date)
	e.exec(`UPDATE service_days SET taken = taken + 2 WHERE id = $1`, day)
	cartID := uuid.New()
	e.exec(`INSERT INTO carts (id, org_id, family_id, status, expires_at) VALUES ($1, $2, $3, 'paid', now())`, cartID, org, v.family)
	v.cartLine = uuid.New()
	e.exec(`INSERT INTO cart_lines (id, org_id, cart_id, family_id, child_id, service_id, service_day_id, day, price_cents, state)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 290, 'held')`, v.cartLine, org, cartID, v.family, v.child, v.service, day, date)
	v.payment = uuid.New()
	e.exec(`INSERT INTO payment_attempts (id, org_id, family_id, cart_id, seq, refdet, numcli, exer, saisie, mel, lines_cents,
		outstanding_cents, credit_used_cents, amount_cents, status, paid_at, settled_at)
		VALUES ($1, $2, $3, $4, 1, $5, '123456', 2026, 'T', 'x@test', 290, 0, 0, 290, 'paid', now(), now())`,
		v.payment, org, v.family, cartID, "REF"+strings.ReplaceAll(v.payment.String(), "-", "")[:20])
	_, err = e.q.InsertLedgerEntry(e.ctx, db.InsertLedgerEntryParams{OrgID: org, FamilyID: v.family, Kind: "charge", OutstandingCents: 290,
		IdempotencyKey: "charge:" + v.reservation.String(), ReservationID: &v.reservation, OccurredAt: time.Now()})
	e.must(err)
	v.invoice = uuid.New()
	e.exec(`INSERT INTO invoices (id, org_id, family_id, run_id, month, number) VALUES ($1, $2, $3, $4, '2026-10', $5)`,
		v.invoice, org, v.family, v.run, "F2026-"+v.invoice.String()[:6])
	v.message, v.attachment, v.other = uuid.New(), uuid.New(), uuid.New()
	e.exec(`INSERT INTO messages (id, org_id, family_id, author_id, category, subject, body) VALUES ($1, $2, $3, $4, 'question', 'Secret de '||$5::text, 'corps')`,
		v.message, org, v.family, v.user, name)
	e.exec(`INSERT INTO attachments (id, message_id, filename, content_type, size_bytes, content) VALUES ($1, $2, 'x.pdf', 'application/pdf', 5, '%PDF-')`,
		v.attachment, v.message)
	ap, err := e.q.InsertAuthorizedPerson(e.ctx, db.InsertAuthorizedPersonParams{ID: uuid.New(), OrgID: org, FamilyID: v.family, FirstName: "Mamie", LastName: name, Phone: "0600000000"})
	e.must(err)
	v.authorized = ap.ID
	// On the waiting list of the day the staff routes name (days/:date).
	v.waitlistEntry = uuid.New()
	e.exec(`INSERT INTO waitlist_entries (id, org_id, family_id, child_id, service_id, service_day_id, day, position)
		SELECT $1, $2, $3, $4, $5, d.id, d.day, 100 + (SELECT count(*) FROM waitlist_entries) FROM service_days d WHERE d.service_id = $5 AND d.day = $6`,
		v.waitlistEntry, org, v.family, v.child, v.service, time.Now().AddDate(0, 0, 25).Format(time.DateOnly))
	return v
}

func (e *accountEnv) exec(sql string, args ...any) {
	e.t.Helper()
	_, err := e.pool.Exec(e.ctx, sql, args...)
	e.must(err)
}

// snapshot digests every table (sessions aside: reading touches them), to prove
// that a walk changed nothing anywhere.
func (e *accountEnv) snapshot() map[string]string {
	e.t.Helper()
	rows, err := e.pool.Query(e.ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name NOT IN ('sessions', 'goose_db_version')`)
	e.must(err)
	var tables []string
	for rows.Next() {
		var t string
		e.must(rows.Scan(&t))
		tables = append(tables, t)
	}
	e.must(rows.Err())
	out := map[string]string{}
	for _, t := range tables {
		var digest string
		e.must(e.pool.QueryRow(e.ctx, `SELECT count(*)::text || ':' || COALESCE(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM `+t+` x`).Scan(&digest))
		out[t] = digest
	}
	return out
}

// Routes that answer without a session.
var publicRoutes = map[string]bool{
	"POST /api/v1/auth/login": true, "POST /api/v1/auth/password/forgot": true, "POST /api/v1/auth/password/reset": true,
	"GET /api/openapi.yaml": true, "GET /healthz": true, "GET /readyz": true,
	"GET /payfip/notify": true, "POST /payfip/notify": true, "GET /payfip/return": true, "POST /payfip/return": true,
	"GET /paiement/resultat": true,
}

// Route parameters that name no record another family or org could own.
var notAnID = map[string]string{
	"/api/v1/admin/exports/:file": "a month (YYYY-MM.csv) of the caller's own org",
}

// bodies for writes, valid enough that only the foreign id can make them fail.
func isolationBody(method, path string, v victim) any {
	switch method + " " + path {
	case "POST /api/v1/admin/families/:id/accounts":
		return map[string]string{"login": "nouveau-" + uuid.NewString()[:8] + "@famille.test"}
	case "POST /api/v1/admin/families/:id/adjustments":
		return map[string]any{"amount_cents": 100, "target": "credit", "reason": "isolation"}
	case "POST /api/v1/admin/families/:id/payments":
		return map[string]any{"amount_cents": 100, "method": "cash"}
	case "POST /api/v1/admin/families/:id/reservations":
		return map[string]any{"items": []map[string]string{{"child_id": v.child.String(), "service_id": v.service.String(), "date": time.Now().AddDate(0, 0, 25).Format(time.DateOnly)}}, "reason": "isolation"}
	case "POST /api/v1/admin/families/:id/members":
		return map[string]any{"kind": "child", "first_name": "Intrus", "last_name": "X", "birth_date": "2018-01-01"}
	case "PATCH /api/v1/admin/families/:id/members/:member_id":
		return map[string]any{"first_name": "Intrus"}
	case "PATCH /api/v1/admin/families/:id":
		return map[string]any{"phone": "0699999999"}
	case "POST /api/v1/admin/services/:id/days/generate":
		d := time.Now().AddDate(0, 0, 60)
		return map[string]any{"from": d.Format(time.DateOnly), "to": d.AddDate(0, 0, 5).Format(time.DateOnly)}
	case "PUT /api/v1/admin/services/:id/days":
		return map[string]any{"days": []map[string]any{{"date": time.Now().AddDate(0, 0, 25).Format(time.DateOnly), "open": false}}}
	case "PATCH /api/v1/admin/services/:id":
		return map[string]any{"name": "Intrus"}
	case "POST /api/v1/admin/reservations/:id/cancel":
		return map[string]any{"reason": "isolation"}
	case "POST /api/v1/admin/messages/:id/reply", "POST /api/v1/messages/:id/reply":
		return map[string]string{"body": "intrus"}
	case "PATCH /api/v1/admin/services/:id/days/:date/waitlist":
		return map[string]any{"order": []uuid.UUID{v.waitlistEntry}, "reason": "isolation"}
	case "POST /api/v1/admin/services/:id/days/:date/waitlist":
		return map[string]any{"family_id": v.family, "child_id": v.child, "reason": "isolation"}
	case "POST /api/v1/admin/services/:id/days/:date/waitlist/:entry_id/offer":
		return map[string]any{"reason": "isolation", "add_place": true}
	case "PATCH /api/v1/admin/users/:id":
		return map[string]any{"display_name": "Intrus"}
	case "PUT /api/v1/admin/services/:id/days/:date/attendance":
		return map[string]any{"marks": []map[string]any{{"child_id": v.child.String(), "present": true, "reason": "isolation"}}}
	case "PUT /api/v1/admin/services/:id/attendance-rule":
		return map[string]any{"unbooked": "free", "surcharge_cents": 0}
	case "POST /api/v1/admin/families/:id/authorized-persons":
		return map[string]any{"first_name": "Intrus", "last_name": "X", "phone": "0611111111"}
	case "PATCH /api/v1/admin/families/:id/accounts/:account_id":
		return map[string]any{"disabled": true}
	}
	return nil
}

// paramValue is the victim's id for a route parameter, chosen by the collection
// the parameter follows. ok is false for a parameter the test does not know:
// a new route must say here which record it names.
func paramValue(segments []string, i int, v victim) (string, bool) {
	param, coll := segments[i], ""
	if i > 0 {
		coll = segments[i-1]
	}
	if strings.HasPrefix(segments[max(i-2, 0)], ":") && i >= 3 {
		coll = segments[i-1]
	}
	switch coll + "/" + param {
	case "families/:id":
		return v.family.String(), true
	case "members/:member_id":
		return v.child.String(), true
	case "services/:id":
		return v.service.String(), true
	case "days/:date":
		return time.Now().AddDate(0, 0, 25).Format(time.DateOnly), true
	case "reservations/:id":
		return v.reservation.String(), true
	case "items/:item_id":
		return v.cartLine.String(), true
	case "children/:child_id":
		return v.child.String(), true
	case "payments/:id":
		return v.payment.String(), true
	case "invoices/:file":
		return v.invoice.String() + ".pdf", true
	case "invoice-runs/:id":
		return v.run.String(), true
	case "messages/:id":
		return v.message.String(), true
	case "attachments/:att_id":
		return v.attachment.String(), true
	case "authorized-persons/:id", "authorized-persons/:person_id":
		return v.authorized.String(), true
	case "accounts/:account_id":
		return v.user.String(), true
	case "closures/:id":
		return v.closure.String(), true
	case "users/:id":
		return v.staffUser.String(), true
	case "waitlist/:id", "waitlist/:entry_id":
		return v.waitlistEntry.String(), true
	}
	return "", false
}

// fill puts the victim's ids in a route's parameters. Where the answer must not
// depend on them (401, 403), strict is false and an unknown parameter gets a random id.
func fill(t *testing.T, path string, v victim, strict bool) (string, bool) {
	t.Helper()
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if !strings.HasPrefix(s, ":") && !strings.HasPrefix(s, "*") {
			continue
		}
		val, ok := paramValue(segs, i, v)
		if !ok && !strict {
			val, ok = uuid.NewString(), true
		}
		if !ok {
			t.Errorf("route %s: parameter %s names no record the isolation test knows; add it to paramValue (or notAnID)", path, s)
			return "", false
		}
		segs[i] = val
	}
	return strings.Join(segs, "/"), true
}

func routeKey(r gin.RouteInfo) string { return r.Method + " " + r.Path }

// Every route, read from the router so that new routes are walked too: without a
// session 401; a family on /admin 403; a family with another family's ids (same
// org and another org) 404; staff with another org's ids 404. Nothing leaks
// (no foreign id or name in any answer) and nothing changes (every table's digest).
func TestIsolation(t *testing.T) {
	// Not dev: dev adds its own tools (pprof, the mail outbox) outside /api/v1.
	e := newAccountEnv(t, func(c *config.Config) { c.Env = "production" })
	orgA, orgB := e.newOrg("a@ville.test"), e.newOrg("b@ville.test")
	a1 := e.newVictim(orgA, "Arnaud", uuid.Nil, uuid.Nil)
	a2 := e.newVictim(orgA, "Bellec", a1.service, a1.run)
	b1 := e.newVictim(orgB, "Carpentier", uuid.Nil, uuid.Nil)
	b2 := e.newVictim(orgB, "Dumas", b1.service, b1.run)
	a2.staffUser, b2.staffUser = a1.staffUser, b1.staffUser
	a2.closure, b2.closure = a1.closure, b1.closure

	fam := e.session(orgA, "family", &a1.family)
	admin := e.session(orgA, "admin", nil)
	agent := e.session(orgA, "agent", nil)
	anon := e.anon()
	routes := e.api.Handler().(*gin.Engine).Routes()
	sort.Slice(routes, func(i, j int) bool { return routeKey(routes[i]) < routeKey(routes[j]) })
	headers := http.Header{"Idempotency-Key": {"isolation"}}

	before := e.snapshot()
	walked := 0
	check := func(who *peer, r gin.RouteInfo, v victim, foreign []string, want ...int) {
		t.Helper()
		path, ok := fill(t, r.Path, v, want[0] == http.StatusNotFound)
		if !ok {
			return
		}
		if strings.HasSuffix(r.Path, "/calendar") {
			path += "?service_id=" + a1.service.String() + "&month=" + time.Now().AddDate(0, 1, 0).Format("2006-01")
		}
		resp := who.send(r.Method, path, isolationBody(r.Method, r.Path, v), headers)
		walked++
		if !slices.Contains(want, resp.status) {
			t.Errorf("%s %s: %d, want %d: %s", r.Method, path, resp.status, want, resp.body)
			return
		}
		body := string(resp.body)
		for _, id := range foreign {
			if strings.Contains(body, id) && !strings.Contains(path, id) {
				t.Errorf("%s %s leaks %s: %s", r.Method, path, id, body)
			}
		}
	}
	for _, r := range routes {
		key := routeKey(r)
		if publicRoutes[key] {
			continue
		}
		if !strings.HasPrefix(r.Path, "/api/v1/") {
			t.Errorf("%s is outside /api/v1 and not known public: add it to publicRoutes or put it behind a session", key)
			continue
		}
		admin := strings.HasPrefix(r.Path, "/api/v1/admin/")
		// Without a session, every route answers 401, with or without ids.
		check(anon, r, b1, b1.orgIDs(), http.StatusUnauthorized)
		if admin {
			check(fam, r, a1, nil, http.StatusForbidden)
			continue
		}
		if strings.Contains(r.Path, "/:") {
			check(fam, r, a2, a2.ids(), http.StatusNotFound)
			check(fam, r, b1, b1.orgIDs(), http.StatusNotFound)
		}
	}
	for _, r := range routes {
		if !strings.HasPrefix(r.Path, "/api/v1/admin/") || !strings.Contains(r.Path, "/:") {
			continue
		}
		if why, ok := notAnID[r.Path]; ok {
			t.Logf("%s: not walked with foreign ids: %s", routeKey(r), why)
			continue
		}
		check(admin, r, b1, b1.orgIDs(), http.StatusNotFound)
		// An agent is refused money and admin routes before any lookup.
		check(agent, r, b2, b2.orgIDs(), http.StatusNotFound, http.StatusForbidden)
	}
	// A member of another family of the same org, under one's own family.
	mixed := a1
	mixed.child = a2.child
	check(admin, gin.RouteInfo{Method: http.MethodPatch, Path: "/api/v1/admin/families/:id/members/:member_id"}, mixed, nil, http.StatusNotFound)
	mixed.user, mixed.authorized = a2.user, a2.authorized
	for _, r := range []gin.RouteInfo{
		{Method: http.MethodPatch, Path: "/api/v1/admin/families/:id/accounts/:account_id"},
		{Method: http.MethodPost, Path: "/api/v1/admin/families/:id/accounts/:account_id/link"},
		{Method: http.MethodDelete, Path: "/api/v1/admin/families/:id/authorized-persons/:person_id"},
	} {
		check(admin, r, mixed, nil, http.StatusNotFound)
	}
	// A family's login is not a staff account.
	check(admin, gin.RouteInfo{Method: http.MethodPost, Path: "/api/v1/admin/users/:id/link"}, victim{staffUser: a1.user}, nil, http.StatusNotFound)
	mixed.attachment = a2.attachment
	check(admin, gin.RouteInfo{Method: http.MethodGet, Path: "/api/v1/admin/messages/:id/attachments/:att_id"}, mixed, nil, http.StatusNotFound)
	check(fam, gin.RouteInfo{Method: http.MethodGet, Path: "/api/v1/messages/:id/attachments/:att_id"}, mixed, nil, http.StatusNotFound)

	after := e.snapshot()
	for table, d := range before {
		if after[table] != d {
			t.Errorf("table %s changed during the walk", table)
		}
	}
	if walked < 100 {
		t.Fatalf("only %d requests walked", walked)
	}

	// Lists: what a family or staff member reads holds nothing of the others.
	for _, r := range routes {
		if r.Method != http.MethodGet || strings.Contains(r.Path, "/:") || publicRoutes[routeKey(r)] {
			continue
		}
		who, foreign := fam, append(append(a2.ids(), b1.orgIDs()...), b2.orgIDs()...)
		if strings.HasPrefix(r.Path, "/api/v1/admin/") {
			who, foreign = admin, append(b1.orgIDs(), b2.orgIDs()...)
		}
		resp := who.send(http.MethodGet, r.Path, nil, nil)
		if resp.status != http.StatusOK {
			t.Errorf("GET %s: %d %s", r.Path, resp.status, resp.body)
			continue
		}
		for _, id := range foreign {
			if strings.Contains(string(resp.body), id) {
				t.Errorf("GET %s leaks %s", r.Path, id)
			}
		}
	}
	// The lists do show one's own records (the walk above would pass on empty lists).
	var fams struct {
		Items []struct {
			ID uuid.UUID `json:"id"`
		} `json:"items"`
	}
	admin.expect(http.MethodGet, "/api/v1/admin/families", nil, http.StatusOK, &fams)
	if len(fams.Items) != 2 {
		t.Fatalf("org A's staff see %d families, want 2", len(fams.Items))
	}
	var threads []threadDoc
	fam.expect(http.MethodGet, "/api/v1/messages", nil, http.StatusOK, &threads)
	if len(threads) != 1 || threads[0].ID != a1.message {
		t.Fatalf("family sees threads %+v", threads)
	}
}
