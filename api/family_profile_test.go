package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/enfance/enfance/db"
)

// A family edits its contact details (validated, audited with before and after)
// and its authorised persons.
func TestFamilyEditsItsRecord(t *testing.T) {
	e := newAccountEnv(t, nil)
	org := e.newOrg("")
	fam := e.newFamily(org, "Martin")
	c := e.session(org, "family", &fam)

	p := c.fails(http.MethodPatch, "/api/v1/family", map[string]string{"email": "pas-un-email", "phone": "12", "postal_code": "7500"}, nil, http.StatusBadRequest, "invalid-request")
	fields := map[string]bool{}
	for _, f := range p.Errors {
		fields[f.Field] = true
	}
	if !fields["email"] || !fields["phone"] || !fields["postal_code"] || len(fields) != 3 {
		t.Fatalf("field errors %+v", p.Errors)
	}
	var out map[string]any
	c.expect(http.MethodPatch, "/api/v1/family", map[string]string{"email": "nouveau@famille.test", "phone2": "+33 6 11 22 33 44",
		"address": "3 rue des Lilas", "postal_code": "69003", "city": "Lyon"}, http.StatusOK, &out)
	if out["email"] != "nouveau@famille.test" || out["phone"] != "0102030405" || out["city"] != "Lyon" {
		t.Fatalf("after patch %v", out)
	}
	var before, after map[string]any
	var actor uuid.UUID
	e.must(e.pool.QueryRow(e.ctx, `SELECT actor_id, before, after FROM audit_log WHERE action = 'family.contact_update' AND entity_id = $1`, fam.String()).Scan(&actor, &before, &after))
	if actor != c.userID || before["email"] != "martin@famille.test" || after["email"] != "nouveau@famille.test" || after["postal_code"] != "69003" {
		t.Fatalf("audit %v → %v by %v", before, after, actor)
	}
	// The QF and the name are staff's.
	c.expect(http.MethodPatch, "/api/v1/family", map[string]any{"qf": 0, "name": "Autre"}, http.StatusOK, &out)
	if out["qf"].(float64) != 650 || out["name"] != "Martin" {
		t.Fatalf("a family changed its QF or name: %v", out)
	}

	c.fails(http.MethodPost, "/api/v1/family/authorized-persons", map[string]string{"first_name": "Jeanne"}, nil, http.StatusBadRequest, "invalid-request")
	var ap struct {
		ID uuid.UUID `json:"id"`
	}
	c.expect(http.MethodPost, "/api/v1/family/authorized-persons", map[string]string{"first_name": "Jeanne", "last_name": "Martin",
		"phone": "06 12 34 56 78", "relationship": "grand-mère"}, http.StatusCreated, &ap)
	var list []map[string]any
	c.expect(http.MethodGet, "/api/v1/family/authorized-persons", nil, http.StatusOK, &list)
	if len(list) != 1 || list[0]["relationship"] != "grand-mère" {
		t.Fatalf("list %v", list)
	}
	c.expect(http.MethodDelete, "/api/v1/family/authorized-persons/"+ap.ID.String(), nil, http.StatusNoContent, nil)
	c.fails(http.MethodDelete, "/api/v1/family/authorized-persons/"+ap.ID.String(), nil, nil, http.StatusNotFound, "not-found")
	c.expect(http.MethodGet, "/api/v1/family/authorized-persons", nil, http.StatusOK, &list)
	if len(list) != 0 {
		t.Fatalf("list %v", list)
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE entity = 'authorized_person' AND entity_id = $1`, ap.ID.String()); n != 2 {
		t.Fatalf("audit rows %d, want create and delete", n)
	}
}

type historyRow struct {
	ID                      int64  `json:"id"`
	Kind                    string `json:"kind"`
	AmountCents             int64  `json:"amount_cents"`
	CreditBalanceCents      int64  `json:"credit_balance_cents"`
	OutstandingBalanceCents int64  `json:"outstanding_balance_cents"`
	Method                  string `json:"method"`
	Label                   string `json:"label"`
	Author                  string `json:"author"`
	Reason                  string `json:"reason"`
	Reservations            int    `json:"reservations"`
	Days                    []struct {
		Date           string `json:"date"`
		ChildFirstName string `json:"child_first_name"`
		ServiceName    string `json:"service_name"`
	} `json:"days"`
}

// days says a movement's days as "date child service" items.
func (h historyRow) days() string {
	var out []string
	for _, d := range h.Days {
		out = append(out, d.Date+" "+d.ChildFirstName+" "+d.ServiceName)
	}
	return strings.Join(out, ", ")
}

// Money history: every movement with the cagnotte and the amount owed after it,
// computed from the ledger in order — a cart's reservations as one movement, a
// booking made by the service on its own with its reason and "the service" as its
// author, each with the days it concerns (date, child, service); desk payments
// and adjustments are finance's, idempotent per Idempotency-Key.
func TestDeskMoneyAndHistory(t *testing.T) {
	e := newAccountEnv(t, nil)
	org := e.newOrg("")
	fam := e.newFamily(org, "Martin")
	parent := e.session(org, "family", &fam)
	agent, finance, admin := e.session(org, "agent", nil), e.session(org, "finance", nil), e.session(org, "admin", nil)
	at := time.Now().Add(-time.Hour)
	var carts [2]uuid.UUID
	for i := range carts {
		c, err := e.q.CreateCart(e.ctx, db.CreateCartParams{ID: uuid.New(), OrgID: org, FamilyID: fam, ExpiresAt: at})
		e.must(err)
		e.must(e.q.SetCartStatus(e.ctx, db.SetCartStatusParams{ID: c.ID, Status: "paid"}))
		carts[i] = c.ID
	}
	// Two children, two services open from Tuesday 1 to Friday 4 December 2026.
	members, err := e.q.ListMembers(e.ctx, db.ListMembersParams{OrgID: org, FamilyID: fam})
	e.must(err)
	lea, hugo := members[0].ID, uuid.New()
	e.must(e.q.InsertMember(e.ctx, db.InsertMemberParams{ID: hugo, OrgID: org, FamilyID: fam, Kind: "child", FirstName: "Hugo", LastName: "Martin"}))
	ten := pgtype.Time{Microseconds: (10 * time.Hour).Microseconds(), Valid: true}
	cantine, garderie := uuid.New(), uuid.New()
	for code, id := range map[string]uuid.UUID{"Cantine": cantine, "Garderie": garderie} {
		e.must(e.q.InsertService(e.ctx, db.InsertServiceParams{ID: id, OrgID: org, Code: strings.ToLower(code), Name: code, Weekdays: []int16{1, 2, 3, 4, 5},
			BookingDaysBefore: 2, BookingTime: ten, CancelDaysBefore: 2, CancelTime: ten}))
		_, err = e.q.GenerateServiceDays(e.ctx, db.GenerateServiceDaysParams{ServiceID: id,
			FirstDay: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), LastDay: time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)})
		e.must(err)
	}
	reserve := func(child, service uuid.UUID, day string, cents int64) *uuid.UUID {
		id := uuid.New()
		_, err := e.pool.Exec(e.ctx, `INSERT INTO reservations (id, org_id, family_id, child_id, service_id, service_day_id, day, price_cents, status)
			SELECT $1, $2, $3, $4, $5, d.id, d.day, $7, 'confirmed' FROM service_days d WHERE d.service_id = $5 AND d.day = $6`,
			id, org, fam, child, service, day, cents)
		e.must(err)
		return &id
	}
	for i, le := range []db.InsertLedgerEntryParams{
		// A cart's two days, written out of date order.
		{Kind: "charge", OutstandingCents: 200, CartID: &carts[0], ReservationID: reserve(lea, cantine, "2026-12-03", 200)},
		{Kind: "charge", OutstandingCents: 250, CartID: &carts[0], ReservationID: reserve(hugo, cantine, "2026-12-01", 250)},
		{Kind: "payment", OutstandingCents: -450, Method: "payfip", CartID: &carts[0]},
		{Kind: "cancellation_credit", CreditCents: 150, ReservationID: reserve(lea, cantine, "2026-12-02", 150)},
		{Kind: "charge", OutstandingCents: 300, CartID: &carts[1], ReservationID: reserve(hugo, cantine, "2026-12-04", 300)},
		{Kind: "credit_used", CreditCents: -150, OutstandingCents: -150, CartID: &carts[1]},
		// A booking the service made for the family: owed 440.
		{Kind: "charge", OutstandingCents: 290, CreatedBy: &agent.userID, Reason: "Oubli signalé par l'école", Label: "Réservation du 03/12/2026 faite par le service",
			ReservationID: reserve(lea, garderie, "2026-12-03", 290)},
	} {
		le.OrgID, le.FamilyID, le.IdempotencyKey, le.OccurredAt = org, fam, "test:"+uuid.NewString(), at.Add(time.Duration(i)*time.Second)
		_, err := e.q.InsertLedgerEntry(e.ctx, le)
		e.must(err)
	}
	path := "/api/v1/admin/families/" + fam.String()
	pay := map[string]any{"amount_cents": 500, "method": "cheque", "reference": "chèque 1234567"}
	key := http.Header{"Idempotency-Key": {"guichet-1"}}

	agent.fails(http.MethodPost, path+"/payments", pay, key, http.StatusForbidden, "forbidden")
	parent.fails(http.MethodPost, path+"/payments", pay, key, http.StatusForbidden, "forbidden")
	finance.fails(http.MethodPost, path+"/payments", pay, nil, http.StatusBadRequest, "idempotency-key-required")
	finance.fails(http.MethodPost, path+"/payments", map[string]any{"amount_cents": -5, "method": "carte"}, key, http.StatusBadRequest, "invalid-request")

	// Ten retries of one payment at once: one ledger row, the same answer.
	var wg sync.WaitGroup
	answers := make(chan response, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers <- finance.send(http.MethodPost, path+"/payments", pay, key)
		}()
	}
	wg.Wait()
	close(answers)
	var created, replayed int
	for r := range answers {
		var w struct {
			Entry            historyRow `json:"entry"`
			CreditCents      int64      `json:"credit_cents"`
			OutstandingCents int64      `json:"outstanding_cents"`
		}
		decode(t, r.body, &w)
		switch r.status {
		case http.StatusCreated:
			created++
		case http.StatusOK:
			replayed++
		default:
			t.Fatalf("payment: %d %s", r.status, r.body)
		}
		// 440 owed: the 500 pay them, 60 go to the cagnotte.
		if w.Entry.AmountCents != 500 || w.OutstandingCents != 0 || w.CreditCents != 60 {
			t.Fatalf("payment answer %s", r.body)
		}
	}
	if created != 1 || replayed != 9 {
		t.Fatalf("%d created, %d replayed", created, replayed)
	}
	if n := e.count(`SELECT count(*) FROM ledger_entries WHERE family_id = $1 AND kind = 'desk_payment'`, fam); n != 1 {
		t.Fatalf("%d desk payments in the ledger", n)
	}
	finance.fails(http.MethodPost, path+"/payments", map[string]any{"amount_cents": 700, "method": "cheque"}, key, http.StatusConflict, "idempotency-key-reused")

	adj := http.Header{"Idempotency-Key": {"adj-1"}}
	admin.fails(http.MethodPost, path+"/adjustments", map[string]any{"amount_cents": 100, "target": "credit"}, adj, http.StatusBadRequest, "invalid-request")
	admin.fails(http.MethodPost, path+"/adjustments", map[string]any{"amount_cents": -61, "target": "credit", "reason": "erreur"}, adj, http.StatusConflict, "balance-too-low")
	admin.fails(http.MethodPost, path+"/adjustments", map[string]any{"amount_cents": -1, "target": "outstanding", "reason": "erreur"}, adj, http.StatusConflict, "balance-too-low")
	agent.fails(http.MethodPost, path+"/adjustments", map[string]any{"amount_cents": 100, "target": "credit", "reason": "geste"}, adj, http.StatusForbidden, "forbidden")
	r := admin.send(http.MethodPost, path+"/adjustments", map[string]any{"amount_cents": -60, "target": "credit", "reason": "remboursé en espèces"}, http.Header{"Idempotency-Key": {"adj-2"}})
	if r.status != http.StatusCreated {
		t.Fatalf("adjustment: %d %s", r.status, r.body)
	}
	if r := finance.send(http.MethodPost, path+"/adjustments", map[string]any{"amount_cents": 250, "target": "outstanding", "reason": "repas oublié"}, adj); r.status != http.StatusCreated {
		t.Fatalf("adjustment: %d %s", r.status, r.body)
	}
	if n := e.count(`SELECT count(*) FROM ledger_entries WHERE family_id = $1 AND kind = 'adjustment'`, fam); n != 2 {
		t.Fatalf("%d adjustments, want 2", n)
	}
	var hist []historyRow
	parent.expect(http.MethodGet, "/api/v1/payments", nil, http.StatusOK, &hist)
	want := []struct {
		kind              string
		amount, credit, o int64
		author            string
		reservations      int
	}{ // newest first
		{"adjustment", -250, 0, 250, "service", 0},
		{"adjustment", -60, 0, 0, "service", 0},
		{"desk_payment", 500, 60, 0, "service", 0},
		{"charge", -290, 0, 440, "service", 0},
		{"credit_used", -150, 0, 150, "family", 0},
		{"charge", -300, 150, 300, "family", 1},
		{"cancellation_credit", 150, 150, 0, "family", 0},
		{"payment", 450, 0, 0, "family", 0},
		{"charge", -450, 0, 450, "family", 2},
	}
	if len(hist) != len(want) {
		t.Fatalf("history %+v", hist)
	}
	for i, w := range want {
		h := hist[i]
		if h.Kind != w.kind || h.AmountCents != w.amount || h.CreditBalanceCents != w.credit || h.OutstandingBalanceCents != w.o ||
			h.Author != w.author || h.Reservations != w.reservations {
			t.Fatalf("row %d: %+v, want %+v", i, h, w)
		}
	}
	// What the family reads: the service booked, and why; a cart's days as one line.
	if h := hist[3]; h.Reason != "Oubli signalé par l'école" || !strings.Contains(h.Label, "faite par le service") {
		t.Errorf("staff booking in the family's history: %+v", h)
	}
	if hist[8].Label != "Réservations confirmées (2 jours)" || hist[0].Reason != "repas oublié" {
		t.Errorf("labels: %q, reason %q", hist[8].Label, hist[0].Reason)
	}
	// What each movement concerns: a cart's days by date, whoever booked them.
	for i, want := range map[int]string{
		8: "2026-12-01 Hugo Cantine, 2026-12-03 Léa Cantine",
		6: "2026-12-02 Léa Cantine",
		5: "2026-12-04 Hugo Cantine",
		3: "2026-12-03 Léa Garderie",
		0: "", 2: "", 4: "", 7: "",
	} {
		if got := hist[i].days(); got != want {
			t.Errorf("row %d (%s) concerns %q, want %q", i, hist[i].Kind, got, want)
		}
	}
	var all []historyRow
	parent.expect(http.MethodGet, "/api/v1/payments?include=charges", nil, http.StatusOK, &all)
	var staffView []historyRow
	agent.expect(http.MethodGet, path+"/payments", nil, http.StatusOK, &staffView)
	if len(all) != 10 || all[len(all)-1].Kind != "charge" || all[len(all)-1].OutstandingBalanceCents != 200 || len(staffView) != 10 {
		t.Fatalf("with charges %+v", all)
	}
	if a, b := all[len(all)-1].days(), staffView[len(staffView)-2].days(); a != "2026-12-03 Léa Cantine" || b != "2026-12-01 Hugo Cantine" {
		t.Fatalf("each charge's day: %q, %q", a, b)
	}
	var me struct {
		CreditCents      int64 `json:"credit_cents"`
		OutstandingCents int64 `json:"outstanding_cents"`
	}
	parent.expect(http.MethodGet, "/api/v1/me", nil, http.StatusOK, &me)
	if me.CreditCents != all[0].CreditBalanceCents || me.OutstandingCents != all[0].OutstandingBalanceCents {
		t.Fatalf("me %+v, history ends at %+v", me, all[0])
	}
	var a json.RawMessage
	e.must(e.pool.QueryRow(e.ctx, `SELECT after FROM audit_log WHERE action = 'ledger.desk_payment' AND entity_id = $1`, fam.String()).Scan(&a))
	var got map[string]any
	decode(t, a, &got)
	if got["amount_cents"].(float64) != 500 || got["method"] != "cheque" || got["reference"] != "chèque 1234567" {
		t.Fatalf("audit %s", a)
	}

	// A presence without a reservation names its day too.
	presence := uuid.New()
	e.exec(`INSERT INTO attendances (id, org_id, service_id, day, child_id, family_id, status, reason, rule, charged_cents)
		VALUES ($1, $2, $3, '2026-12-02', $4, $5, 'present', 'Venu sans réservation', 'charge', 300)`, presence, org, garderie, hugo, fam)
	_, err = e.q.InsertLedgerEntry(e.ctx, db.InsertLedgerEntryParams{OrgID: org, FamilyID: fam, Kind: "charge", OutstandingCents: 300,
		IdempotencyKey: "attendance:" + presence.String(), AttendanceID: &presence, CreatedBy: &agent.userID, Label: "Présence sans réservation", OccurredAt: time.Now()})
	e.must(err)
	parent.expect(http.MethodGet, "/api/v1/payments", nil, http.StatusOK, &hist)
	if got := hist[0].days(); got != "2026-12-02 Hugo Garderie" {
		t.Fatalf("presence without a reservation concerns %q", got)
	}
}
